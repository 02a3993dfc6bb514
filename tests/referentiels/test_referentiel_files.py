"""Référentiel files: the shipped ones validate; a malformed one is refused naming its place."""

from __future__ import annotations

import pytest

from certification.referentiel.schema import ReferentielInvalid, parse
from certification.referentiel.service import initial_files, read_file, shipped_files


def test_shipped_files_validate_and_keep_the_codes():
    models = {path.name: read_file(path) for path in shipped_files()}
    assert set(models) == {"CQP_SP-1.yaml", "CQP_EPSP-1.yaml", "CQP_SP-2-socle.yaml"}
    sp, epsp = models["CQP_SP-1.yaml"], models["CQP_EPSP-1.yaml"]
    assert (sp.certification.code, sp.certification.title, sp.version, sp.initial) == (
        "CQP_SP",
        "CQP Salarié Polyvalent",
        "1",
        True,
    )
    assert [b.code for b in sp.blocs] == ["SP-B1", "SP-B2", "SP-B3"]
    assert sp.blocs[0].title == "Réaliser les activités de production ou de service dans le respect des consignes"
    assert (epsp.certification.title, [b.code for b in epsp.blocs]) == (
        "CQP Encadrant Pédagogique en Situation de Production",
        ["EPSP-B1", "EPSP-B2", "EPSP-B3"],
    )
    assert sp.placeholders() == [] and epsp.placeholders() == []
    assert sp.required_blocs == ["SP-B1", "SP-B2", "SP-B3"]

    socle = models["CQP_SP-2-socle.yaml"]
    assert socle.version_title == "Socle de compétences transversales pour l'employabilité"
    assert (socle.registry.kind, socle.registry.code, socle.valid_from, socle.initial) == ("RS", "", None, False)
    assert socle.placeholders()  # marked « à compléter par le certificateur »: never activated as is
    assert all("à compléter par le certificateur" in b.title for b in socle.blocs)
    assert [m.certification.code for m in initial_files()] == ["CQP_EPSP", "CQP_SP"]


GOOD = """\
certification:
  code: CQP_SP
  title: CQP Salarié Polyvalent
version: "3"
blocs:
  - code: SP-B1
    title: Premier bloc
  - code: SP-B2
    title: Deuxième bloc
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace("  - code: SP-B2\n", "  - \n"), "CQP_SP-3.yaml, ligne 9 : blocs[2].code : champ obligatoire"),
        (GOOD.replace('version: "3"\n', ""), "CQP_SP-3.yaml, ligne 1 : version : champ obligatoire"),
        (
            GOOD.replace("code: SP-B2", "code: sp b2"),
            "CQP_SP-3.yaml, ligne 8 : blocs[2].code : code invalide (majuscules, chiffres, « - » ou « _ », "
            "20 caractères au plus)",
        ),
        (GOOD + "valid_from: 2027-13-01\n", "CQP_SP-3.yaml, ligne 10 : valid_from : date attendue (AAAA-MM-JJ)"),
        (GOOD + "registry:\n  kind: RX\n", "CQP_SP-3.yaml, ligne 11 : registry.kind : valeur parmi : RNCP, RS"),
        (
            GOOD + "registry:\n  code: RNCP12\n  kind: RS\n",
            "CQP_SP-3.yaml, ligne 10 : registry : le code RNCP12 n'est pas du répertoire RS",
        ),
        (
            GOOD + "valid_from: 2027-02-01\nvalid_until: 2027-01-31\n",
            "CQP_SP-3.yaml, ligne 11 : valid_until : la fin de validité précède valid_from",
        ),
        (GOOD + "blocz: []\n", "CQP_SP-3.yaml, ligne 10 : blocz : champ inconnu"),
        (GOOD + 'version: "4"\n', "CQP_SP-3.yaml, ligne 10 : version : clé en double"),
        (GOOD.replace("SP-B2", "SP-B1"), "CQP_SP-3.yaml, ligne 5 : blocs : code de bloc en double : SP-B1"),
        (
            GOOD + "certificate_rule:\n  all_blocs: false\n  required_blocs: [SP-B9]\n",
            "CQP_SP-3.yaml, ligne 1 : certificate_rule.required_blocs : bloc inconnu SP-B9",
        ),
        (
            GOOD.replace("    title: Deuxième bloc\n", "    title: [Deuxième\n"),
            "CQP_SP-3.yaml, ligne 10, colonne 1 : syntaxe YAML invalide (indentation, « : » ou guillemets)",
        ),
        ("- une liste\n", "CQP_SP-3.yaml, ligne 1 : le fichier doit décrire une version"),
    ],
)
def test_malformed_file_refused_naming_the_place(text, expected):
    with pytest.raises(ReferentielInvalid) as caught:
        parse(text.encode(), "CQP_SP-3.yaml")
    assert any(line.startswith(expected) for line in caught.value.errors), caught.value.errors
    assert caught.value.status_code == 422 and caught.value.code == "referentiel_invalid"
    assert caught.value.message.startswith("Fichier de référentiel refusé :")


def test_every_error_is_reported_at_once_and_labels_are_text():
    with pytest.raises(ReferentielInvalid) as caught:
        parse(b"certification:\n  code: CQP_SP\nversion: 3\nblocs:\n  - code: A1\n", "f.yaml")
    assert caught.value.errors == [
        "f.yaml, ligne 1 : certification.title : champ obligatoire",
        "f.yaml, ligne 5 : blocs[1].title : champ obligatoire",
    ]
    assert parse(GOOD.replace('"3"', "3").encode(), "f.yaml").version == "3"
    with pytest.raises(ReferentielInvalid, match="encodé en UTF-8"):
        parse(b"\xff\xfe", "f.yaml")
