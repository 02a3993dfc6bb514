"""SI CPF flux validation: holder data the data dictionary requires is held back until corrected,
and every flux is validated against the XSD before its batch is recorded."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlmodel import select

from certification.audit import timeline
from certification.db import session_scope
from certification.errors import ValidationFailed
from certification.candidates.models import Candidate
from certification.cpf import flux, queries
from certification.cpf.models import CpfBatchItem, CpfExportBatch
from certification.jury import issuance
from certification.settings import reset_settings_cache
from flows.cpf import export_once
from tests.cpf.holders import NAMES, NS, certify, events, numbers, officer, passages, read_flux, record_of, states


# --- holder data the data dictionary requires: held back until corrected --------------------------


def test_holder_without_sex_is_held_back_until_corrected(world, settings):
    people, structure = world
    ids = certify(people, structure, NAMES, sexes=["F", None, "M"])
    nums = numbers()
    a, b, c = (nums[n] for n, _ in NAMES)

    first = export_once("CQP_SP", officer(people))
    _, root = read_flux(settings, first)
    assert sorted(passages(root)) == sorted([a, c])  # B's sex was never collected: not in the flux
    assert states() == {a: "sent", b: "pending", c: "sent"}
    held = record_of(b)
    assert "sexe du titulaire non renseigné (M ou F)" in held.held_reason
    assert "corrigez le certificat" in held.held_reason and held.held_since is not None
    with session_scope() as db:  # listed for the officer, with the reason
        listed = queries.list_records(db, officer(people), held=True)
        assert [(r.technical_id, r.held_reason) for r in listed] == [(b, held.held_reason)]
        assert {r.technical_id for r in queries.list_records(db, officer(people), held=False)} == {a, c}
        assert [r.technical_id for r in queries.attention_records(db, officer(people), "CQP_SP", days_before=0)] == [b]
    assert [a for a, _ in events("cpf_records", held.id)] == ["hold"]

    # Nothing corrected: nothing to send, and the hold is not written again.
    assert export_once("CQP_SP") is None
    assert [a for a, _ in events("cpf_records", held.id)] == ["hold"]

    # The officer corrects the certificate: no new document version (the sex is not printed),
    # the candidate keeps it for any later issue, and B goes in the next flux.
    with session_scope() as db:
        cert = issuance.correct(
            db, officer(people), ids[NAMES[1][0]], reason="Sexe recueilli auprès de la structure", sex="M"
        )
        assert (cert.holder_sex, cert.version) == ("M", 1)
        assert db.get(Candidate, cert.candidate_id).sex == "M"
        event = timeline(db, "certificates", cert.id)[-1]
        assert (event.action, event.data["before"], event.data["after"]) == (
            "correct",
            {"holder_sex": "None"},
            {"holder_sex": "M"},
        )
        with pytest.raises(ValidationFailed) as exc:
            issuance.correct(db, officer(people), cert.id, reason="?", sex="H")
        assert exc.value.code == "bad_sex"
    second = export_once("CQP_SP")
    data, root = read_flux(settings, second)
    assert list(passages(root)) == [b] and second["resent_count"] == 0
    assert passages(root)[b].findtext(".//cpf:sexe", namespaces=NS) == "M"
    assert flux.flux_errors(data) == []
    released = record_of(b)
    assert (released.state, released.held_reason, released.held_since) == ("sent", None, None)
    assert [a for a, _ in events("cpf_records", held.id)] == ["hold", "release", "send"]


def test_birth_date_outside_the_dictionary_holds_back(world, settings):
    people, structure = world
    ids = certify(people, structure, NAMES[:2])
    a, b = numbers()[NAMES[0][0]], numbers()[NAMES[1][0]]
    with session_scope() as db:
        issuance.correct(db, officer(people), ids[NAMES[0][0]], reason="Saisie", birth_date=date(1899, 12, 31))
    summary = export_once("CQP_SP")
    _, root = read_flux(settings, summary)
    assert list(passages(root)) == [b]
    assert "date de naissance du titulaire absente ou hors des bornes" in record_of(a).held_reason
    with session_scope() as db:
        issuance.correct(db, officer(people), ids[NAMES[0][0]], reason="Saisie", birth_date=date(1989, 12, 31))
    summary = export_once("CQP_SP")
    _, root = read_flux(settings, summary)
    assert passages(root)[a].findtext(".//cpf:anneeNaissance", namespaces=NS) == "1989"


# --- the XSD: every flux is validated before its batch is recorded -------------------------------


def test_generated_flux_validates_and_escaping_survives(world, settings):
    people, structure = world
    names = NAMES[:2] + [("<script>alert('x')</script> & Fils", "Ève-Chloé d'Ornano"), ("Ñúñez  Çelik", "Léa")]
    certify(people, structure, names)
    summary = export_once("CQP_SP")
    data, root = read_flux(settings, summary)
    assert flux.flux_errors(data) == []
    flux.validate_flux(data)
    assert b"<script>" not in data and b"&lt;script&gt;alert('x')&lt;/script&gt; &amp; Fils" in data
    holders = {p.findtext(".//cpf:nomNaissance", namespaces=NS): p for p in passages(root).values()}
    assert set(holders) == {
        "O'Brien <Zoé> & Cie",
        "N'Guessan-Lefèvre",
        "<script>alert('x')</script> & Fils",
        "Ñúñez Çelik",
    }
    assert holders["<script>alert('x')</script> & Fils"].findtext(".//cpf:prenom2", namespaces=NS) == "d'Ornano"
    # The schema's own parse of the document gives the same names back.
    decoded = flux.flux_schema().to_dict(data)
    passages_ = decoded["cpf:emetteur"]["cpf:certificateurs"]["cpf:certificateur"]["cpf:certifications"][
        "cpf:certification"
    ][0]["cpf:passageCertifications"]["cpf:passageCertification"]
    assert {p["cpf:identificationTitulaire"]["cpf:titulaire"]["cpf:nomNaissance"] for p in passages_} == set(holders)


def _broken(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data, old
    return data.replace(old, new, 1)


def test_hand_broken_documents_are_rejected(world, settings):
    people, structure = world
    certify(people, structure, NAMES[:1])
    summary = export_once("CQP_SP")
    data, _ = read_flux(settings, summary)
    tid = numbers()[NAMES[0][0]]
    assert flux.flux_errors(data) == []
    nil = b' xsi:nil="true" />'
    cases = [
        # (what is broken, replacement, expected record, expected field)
        (b"<cpf:sexe>F</cpf:sexe>", b"", tid, "identificationTitulaire/titulaire"),
        (b"<cpf:sexe>F</cpf:sexe>", b"<cpf:sexe>X</cpf:sexe>", tid, "identificationTitulaire/titulaire/sexe"),
        (b"<cpf:sexe>F</cpf:sexe>", b"<cpf:sexe />", tid, "identificationTitulaire/titulaire/sexe"),
        (
            b"<cpf:nomNaissance>O'Brien &lt;Zo\xc3\xa9&gt; &amp; Cie</cpf:nomNaissance>",
            b"<cpf:nomNaissance>" + "é".encode() * 61 + b"</cpf:nomNaissance>",
            tid,
            "identificationTitulaire/titulaire/nomNaissance",
        ),
        (
            b"<cpf:nomNaissance>O'Brien &lt;Zo\xc3\xa9&gt; &amp; Cie</cpf:nomNaissance>",
            b"<cpf:nomNaissance" + nil,
            tid,
            "identificationTitulaire/titulaire/nomNaissance",
        ),  # not nillable
        (
            b"<cpf:obtentionCertification>PAR_ADMISSION<",
            b"<cpf:obtentionCertification>PAR_CONCOURS<",
            tid,
            "obtentionCertification",
        ),
        (b"<cpf:dateFinValidite" + nil, b"", tid, None),  # required even when nil
        (b"<cpf:donneeCertifiee>true<", b"<cpf:donneeCertifiee>oui<", tid, "donneeCertifiee"),
        (b"<cpf:anneeNaissance>", b"<cpf:anneeNaissance>1", tid, "identificationTitulaire/titulaire/anneeNaissance"),
        (b"<cpf:idTechnique>", b"<cpf:libre>x</cpf:libre><cpf:idTechnique>", tid, None),  # unknown element
        (
            b"<cpf:type>RNCP</cpf:type>",
            b"<cpf:type>CPF</cpf:type>",
            None,
            "emetteur/certificateurs/certificateur/certifications/certification/type",
        ),
        (b"<cpf:idClient>00000000</cpf:idClient>", b"<cpf:idClient>0000000</cpf:idClient>", None, "emetteur/idClient"),
    ]
    for old, new, record, where in cases:
        with pytest.raises(ValidationFailed) as exc:
            flux.validate_flux(_broken(data, old, new), "CPF-TEST")
        assert exc.value.code == "cpf_flux_invalid", (old, new)
        errors = exc.value.details["errors"]
        assert errors and errors[0]["technical_id"] == record, (old, new, errors)
        if where:
            assert errors[0]["field"] == where, (old, new, errors)
        assert exc.value.message.startswith("Flux CPF-TEST refusé par le schéma cpf-accrochage.xsd")
        assert (f"enregistrement {record}" in exc.value.message) == (record is not None)
    # Dates and time stamps in the dictionary's formats only.
    for old, new in [
        (b"<cpf:dateDebutValidite>", b"<cpf:dateDebutValidite>1"),
        (b"<cpf:horodatage>", b"<cpf:horodatage>x"),
    ]:
        with pytest.raises(ValidationFailed):
            flux.validate_flux(_broken(data, old, new))
    horodatage = re.search(rb"<cpf:horodatage>([^<]+)</cpf:horodatage>", data).group(1)
    with pytest.raises(ValidationFailed):  # without its UTC offset
        flux.validate_flux(_broken(data, horodatage, horodatage[:19]))
    # Another namespace, not XML at all.
    for bad in (data.replace(flux.NS.encode(), b"urn:autre"), b"<cpf:flux", b""):
        with pytest.raises(ValidationFailed):
            flux.validate_flux(bad)


def test_invalid_flux_is_never_recorded_nor_written(world, settings, monkeypatch):
    people, structure = world
    certify(people, structure, NAMES[:2])
    a, b = numbers()[NAMES[0][0]], numbers()[NAMES[1][0]]
    with session_scope() as db:
        queries.list_records(db, officer(people))  # followed from now on

    monkeypatch.setenv("CQP_CPF_MODALITE_ACCES", "APPRENTISSAGE_EN_ENTREPRISE")  # not in the dictionary
    reset_settings_cache()
    with pytest.raises(ValidationFailed) as exc:
        export_once("CQP_SP", officer(people))
    message = exc.value.message
    assert exc.value.code == "cpf_flux_invalid"
    assert f"enregistrement {a}, champ modalitesInscription/modaliteAcces" in message
    assert f"enregistrement {b}, champ modalitesInscription/modaliteAcces" in message
    assert "Aucun lot n'a été enregistré" in message

    monkeypatch.delenv("CQP_CPF_MODALITE_ACCES")
    monkeypatch.setenv("CQP_CPF_ID_CLIENT", "1234567")  # 7 characters instead of 8
    reset_settings_cache()
    with pytest.raises(ValidationFailed) as exc:
        export_once("CQP_SP", officer(people))
    assert "champ emetteur/idClient" in exc.value.message
    assert {e["technical_id"] for e in exc.value.details["errors"]} == {None}

    # Nothing was recorded nor written; the reference was not consumed.
    assert states() == {a: "pending", b: "pending"}
    with session_scope() as db:
        assert db.exec(select(CpfExportBatch)).all() == [] and db.exec(select(CpfBatchItem)).all() == []
    assert list((settings.data_dir / "exports").rglob("*.xml")) == []
    monkeypatch.delenv("CQP_CPF_ID_CLIENT")
    reset_settings_cache()
    summary = export_once("CQP_SP", officer(people))
    assert summary["reference"].endswith("-0001") and summary["record_count"] == 2
