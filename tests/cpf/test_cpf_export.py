"""Export of certified holders to the Caisse des Dépôts (SI CPF accrochage): the XML flux, its
records, what is declared once and what again."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from certification.audit import SYSTEM, timeline
from certification.db import session_scope
from certification.errors import Conflict, ValidationFailed
from certification.candidates.models import Candidate
from certification.models import Certification
from certification.jury.models import Certificate
from certification.cpf import flux, queries, service
from certification.cpf import states as cpf_states
from certification.cpf.models import CpfBatchItem, CpfExportBatch, CpfRecord
from certification.jury import issuance
from flows.cpf import export_once, import_report_once
from tests.cpf.holders import (
    NAMES,
    NS,
    XSI_NIL,
    certify,
    csv_report,
    numbers,
    officer,
    passages,
    read_flux,
    record_of,
    states,
)


def test_xml_flux_as_the_data_dictionary(world, settings):
    people, structure = world
    certify(people, structure, NAMES, partial=[2])  # Le Goff only gets an attestation: not declared
    with session_scope() as db:
        db.exec(select(Candidate).where(Candidate.last_name == "Le Goff")).one()
        c = db.exec(select(Candidate).where(Candidate.last_name == NAMES[0][0])).one()
        c.birth_place = "Saint-Étienne (42)"
        db.add(c)

    summary = export_once("CQP_SP", officer(people))
    assert summary["reference"].startswith(f"CPF-SP-{datetime.now(UTC).year}-0001")
    assert summary["relative_path"] == f"exports/cpf/CQP_SP/{summary['reference']}.xml"
    data, root = read_flux(settings, summary)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    data.decode("utf-8")  # well-formed UTF-8 (parsed above)
    assert root.tag == f"{{{flux.NS}}}flux"
    assert root.findtext("cpf:idFlux", namespaces=NS) == summary["reference"]
    assert re.fullmatch(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", root.findtext("cpf:horodatage", namespaces=NS))
    certifier = root.find("cpf:emetteur/cpf:certificateurs/cpf:certificateur", NS)
    assert len(certifier.findtext("cpf:idClient", namespaces=NS)) == 8
    certification = certifier.find("cpf:certifications/cpf:certification", NS)
    assert certification.findtext("cpf:type", namespaces=NS) == "RNCP"
    assert certification.findtext("cpf:code", namespaces=NS) == "RNCP34567"

    nums = numbers()
    found = passages(root)
    assert set(found) == {nums[NAMES[0][0]], nums[NAMES[1][0]]}
    first = found[nums[NAMES[0][0]]]
    holder = first.find("cpf:identificationTitulaire/cpf:titulaire", NS)
    assert holder.findtext("cpf:nomNaissance", namespaces=NS) == "O'Brien <Zoé> & Cie"
    assert b"O'Brien &lt;Zo\xc3\xa9&gt; &amp; Cie" in data  # escaped, accents in UTF-8
    assert holder.findtext("cpf:prenom1", namespaces=NS) == "Aïssatou"
    assert holder.findtext("cpf:prenom2", namespaces=NS) == "Marie-Hélène"
    assert holder.find("cpf:prenom3", NS) is None
    assert holder.findtext("cpf:sexe", namespaces=NS) == "F"
    assert holder.find("cpf:nomUsage", NS).get(XSI_NIL) == "true"
    assert holder.findtext("cpf:libelleCommuneNaissance", namespaces=NS) == "Saint-Étienne (42)"
    assert holder.find("cpf:codeCommuneNaissance/cpf:codePostalNaissance/cpf:codePostal", NS).get(XSI_NIL) == "true"
    with session_scope() as db:
        cert = db.exec(select(Certificate).where(Certificate.number == nums[NAMES[0][0]])).one()
    born = cert.holder_birth_date
    assert [holder.findtext(f"cpf:{k}Naissance", namespaces=NS) for k in ("annee", "mois", "jour")] == [
        str(born.year),
        str(born.month),
        str(born.day),
    ]
    assert first.findtext("cpf:dateDebutValidite", namespaces=NS) == cert.issued_on.isoformat()
    assert first.find("cpf:dateFinValidite", NS).get(XSI_NIL) == "true"
    assert first.findtext("cpf:obtentionCertification", namespaces=NS) == "PAR_ADMISSION"
    assert first.findtext("cpf:donneeCertifiee", namespaces=NS) == "true"
    second = found[nums[NAMES[1][0]]].find("cpf:identificationTitulaire/cpf:titulaire", NS)
    assert [second.findtext(f"cpf:prenom{i}", namespaces=NS) for i in (1, 2, 3)] == [
        "Jean-François",
        "Éloi",
        "Maël Noé",
    ]
    assert second.find("cpf:libelleCommuneNaissance", NS) is None
    assert flux.flux_errors(data) == []  # the written flux is valid against the data dictionary's schema

    assert states() == {nums[NAMES[0][0]]: "sent", nums[NAMES[1][0]]: "sent"}
    with session_scope() as db:
        batch = db.exec(select(CpfExportBatch)).one()
        assert (batch.record_count, batch.resent_count, batch.size) == (2, 0, len(data))
        assert [e.action for e in timeline(db, "cpf_export_batches", batch.id)] == ["generate"]
        record = db.exec(select(CpfRecord).where(CpfRecord.technical_id == nums[NAMES[0][0]])).one()
        assert [e.action for e in timeline(db, "cpf_records", record.id)] == ["send"]
        assert record.due_on == cpf_states.add_months(cert.issued_on, 3)


def test_second_export_with_nothing_new_writes_nothing(world, settings):
    people, structure = world
    certify(people, structure, NAMES[:2])
    assert export_once("CQP_SP") is not None
    before = sorted(p.name for p in (settings.data_dir / "exports").rglob("*"))
    assert export_once("CQP_SP") is None
    assert export_once("CQP_SP", officer(people)) is None
    assert sorted(p.name for p in (settings.data_dir / "exports").rglob("*")) == before
    with session_scope() as db:
        assert len(db.exec(select(CpfExportBatch)).all()) == 1
    with session_scope() as db, pytest.raises(ValidationFailed):  # EPSP has no registry code
        service.prepare_batch(db, SYSTEM, "CQP_EPSP")


def test_revoked_certificate_is_not_declared(world, settings):
    people, structure = world
    ids = certify(people, structure, NAMES, sexes=["F", "M", None])
    nums = numbers()
    with session_scope() as db:
        queries.list_records(db, officer(people))  # followed from now on (the third held back: no sex)
        issuance.revoke(db, officer(people), ids[NAMES[0][0]], "Fraude avérée")
        issuance.revoke(db, officer(people), ids[NAMES[2][0]], "Erreur de jury")
    summary = export_once("CQP_SP")
    _, root = read_flux(settings, summary)
    assert list(passages(root)) == [nums[NAMES[1][0]]]
    assert states() == {nums[NAMES[0][0]]: "cancelled", nums[NAMES[1][0]]: "sent", nums[NAMES[2][0]]: "cancelled"}
    assert record_of(nums[NAMES[2][0]]).held_reason is None  # no longer owed: no longer held either
    with session_scope() as db:
        assert queries.list_records(db, officer(people), held=True) == []


def test_registry_code_and_roles(world):
    people, _ = world
    with session_scope() as db:
        cert = db.exec(select(Certification).where(Certification.code == "CQP_SP")).one()
        assert service.registry_of(cert) == ("RNCP", "RNCP34567")
        for code, expected in [("rs5286", ("RS", "RS5286")), ("RNCP", None), ("", None), ("CPF206", None)]:
            cert.registry_code = code
            if expected:
                assert service.registry_of(cert) == expected
            else:
                with pytest.raises(ValidationFailed):
                    service.registry_of(cert)
        db.rollback()
    with session_scope() as db, pytest.raises(Exception) as exc:
        service.prepare_batch(db, people["mandataire"]["actor"], "CQP_SP")
    assert exc.value.status_code == 403


def test_two_exports_at_once_send_each_record_once(world, settings):
    people, structure = world
    certify(people, structure, NAMES[:2])

    def run(_: int) -> dict | Conflict | None:
        try:
            return export_once("CQP_SP")
        except Conflict as exc:  # the other run took the records first
            return exc

    with ThreadPoolExecutor(max_workers=2) as pool:  # both runs at once
        outcomes = list(pool.map(run, range(2)))
    errors = [o for o in outcomes if isinstance(o, Conflict)]
    results = [o for o in outcomes if not isinstance(o, Conflict)]
    made = [r for r in results if r]
    assert len(made) == 1 and len(made) + len(errors) + results.count(None) == 2
    with session_scope() as db:
        assert len(db.exec(select(CpfBatchItem)).all()) == 2
    files = list((settings.data_dir / "exports").rglob("*.xml"))
    assert [f.name for f in files] == [made[0]["filename"]]


def test_rejected_record_goes_again_when_the_registry_code_is_fixed(world, settings):
    people, structure = world
    certify(people, structure, NAMES[:1])
    a = numbers()[NAMES[0][0]]
    first = export_once("CQP_SP")
    import_report_once(first["id"], csv_report([(a, "REJETE", "Code RNCP inconnu")]), "cr.csv", officer(people))
    assert export_once("CQP_SP") is None  # nothing changed
    with session_scope() as db:
        cert = db.exec(select(Certification).where(Certification.code == "CQP_SP")).one()
        cert.registry_code = "RS5286"
        db.add(cert)
    second = export_once("CQP_SP")
    assert (second["registry_code"], second["record_count"], second["resent_count"]) == ("RS5286", 1, 1)
    assert states() == {a: "resent"}
