"""``cqp referentiels check | load | activate | list`` (in process, on the test database)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from api.cli import app
from certification.clock import today
from certification.referentiel.service import shipped_files


@pytest.fixture
def cqp():
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, ["referentiels", *args])

    return run


def test_check_names_each_error_and_fails(cqp, tmp_path):
    result = cqp("check", *map(str, shipped_files()))
    assert result.exit_code == 0, result.output
    assert "CQP_SP-1.yaml : conforme (CQP_SP, version « 1 », 3 bloc(s))" in result.output
    assert "à compléter : registry.code — numéro de la fiche au Répertoire spécifique" in result.output

    bad = tmp_path / "CQP_SP-3.yaml"
    bad.write_text(
        "certification:\n  code: CQP_SP\n  title: CQP\nversion: '3'\nblocs:\n  - title: Sans code\n", encoding="utf-8"
    )
    result = cqp("check", str(bad))
    assert result.exit_code == 1
    assert "CQP_SP-3.yaml, ligne 6 : blocs[1].code : champ obligatoire" in result.output
    assert cqp("check", str(tmp_path / "absent.yaml")).exit_code == 1


def test_load_activate_list(cqp, people, tmp_path, v2_text):
    officer = people["officer"]["email"]
    file = tmp_path / "CQP_SP-2.yaml"
    file.write_text(v2_text, encoding="utf-8")

    result = cqp("load", str(file), "--officer", officer, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Comparée à la version « 1 » (en vigueur) :" in result.output
    assert "Simulation : rien n'a été enregistré." in result.output
    assert "version « 2 »" not in cqp("list", "CQP_SP").output

    refused = cqp("load", str(file), "--officer", people["mandataire"]["email"])
    assert refused.exit_code == 1 and "n'est pas un compte actif de chargé·e de certification" in refused.output

    result = cqp("load", str(file), "--officer", officer, "--reason", "Rénovation")
    assert result.exit_code == 0, result.output
    assert "Version « 2 » chargée : brouillon." in result.output
    assert "Version « 2 » déjà chargée : brouillon." in cqp("load", str(file), "--officer", officer).output

    start = today() + timedelta(days=30)
    result = cqp("activate", "CQP_SP", "2", "--on", start.isoformat(), "--officer", officer)
    assert result.exit_code == 0, result.output
    assert f"active à compter du {start:%d/%m/%Y}" in result.output
    assert cqp("activate", "CQP_SP", "9", "--on", start.isoformat(), "--officer", officer).exit_code == 1
    assert "Version « 9 » du référentiel inconnue." in cqp("activate", "CQP_SP", "9", "--officer", officer).output
    assert "AAAA-MM-JJ" in cqp("activate", "CQP_SP", "2", "--on", "01/03/2027", "--officer", officer).output

    listed = cqp("list").output
    assert "CQP_EPSP — CQP Encadrant Pédagogique en Situation de Production" in listed
    assert (
        f"  version « 1 » : en vigueur, depuis l'origine au {start - timedelta(days=1):%d/%m/%Y} ; "
        "CQP Salarié Polyvalent ; — (sans numéro) ; installation"
    ) in listed
    assert (
        f"  version « 2 » : programmée, du {start:%d/%m/%Y} ; CQP Salarié Polyvalent ; RS RS9999 ; CQP_SP-2.yaml"
        in listed
    )
    assert cqp("list", "CQP_XX").exit_code == 1


def test_load_with_activation_refused_leaves_nothing(cqp, people):
    socle = next(p for p in shipped_files() if "socle" in p.name)
    result = cqp("load", str(socle), "--officer", people["officer"]["email"], "--activate-on", today().isoformat())
    assert result.exit_code == 1
    assert "n'est pas activable : contenu à compléter par le certificateur" in result.output
    assert "version « 2 »" not in cqp("list", "CQP_SP").output  # loading and activating: one transaction


def test_activate_without_a_date_takes_the_files(cqp, people, tmp_path, v2_text):
    officer = people["officer"]["email"]
    start = today() + timedelta(days=7)
    file = tmp_path / "CQP_SP-2.yaml"
    file.write_text(v2_text + f"valid_from: {start.isoformat()}\n", encoding="utf-8")
    assert cqp("load", str(file), "--officer", officer).exit_code == 0
    result = cqp("activate", "CQP_SP", "2", "--officer", officer)
    assert result.exit_code == 0, result.output
    assert f"active à compter du {start:%d/%m/%Y}" in result.output
