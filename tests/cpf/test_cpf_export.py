"""Export of certified holders to the Caisse des Dépôts (SI CPF accrochage): XML, records, reports."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlmodel import select

from certification.audit import SYSTEM, timeline
from certification.db import session_scope
from certification.errors import Conflict, InvalidTransition, ValidationFailed
from certification.candidates.models import Candidate
from certification.models import Certification
from certification.jury.models import Certificate
from certification.cpf import flux, queries, service
from certification.cpf import states as cpf_states
from certification.cpf.models import CpfBatchItem, CpfExportBatch, CpfRecord
from certification.jury import issuance
from certification.settings import reset_settings_cache
from flows.cpf import export_once, import_report_once
from tests.cpf.holders import registered_structure
from tests.factories import deliberated_session, issue_results, make_users, plan_past_session, ready_candidates

NS = {"cpf": flux.NS}
XSI_NIL = f"{{{flux.XSI}}}nil"
NAMES = [
    ("O'Brien <Zoé> & Cie", "Aïssatou Marie-Hélène"),
    ("N'Guessan-Lefèvre", "Jean-François Éloi Maël Noé"),
    ("Le Goff", "Gaëlle"),
]


@pytest.fixture
def world(settings):
    people = make_users()
    return people, registered_structure(people, "RNCP 34567")


def certify(people, structure, names, *, first=1, partial=(), sexes=None):
    """Register, deliberate and issue: certificates for every candidate, attestations for ``partial``
    (indexes). Returns {last name: certificate id} of the certificates."""
    ids = ready_candidates(structure, len(names), first=first, names=names,
                           sexes=sexes if sexes is not None else ["F"] * len(names))
    results = {ids[i]: {"SP-B1": "validated", "SP-B2": "not_validated", "SP-B3": "validated"} for i in partial}
    issue_results(deliberate(people, ids, results))
    with session_scope() as s:
        rows = s.exec(select(Certificate).where(Certificate.candidate_id.in_(ids))).all()
        return {c.holder_last_name: c.id for c in rows if c.kind == "certificate"}


def deliberate(people, ids, results) -> int:
    """A signed session of ``ids``; the jury members of the first session sit again in later ones."""
    if "presidente" not in people:
        return deliberated_session(people, ids, results)

    from certification.jury import service as jury_svc

    officer_actor = people["officer"]["actor"]
    members = [("presidente", "employeur", True), ("employeur2", "employeur", False), ("salarie1", "salarie", False),
               ("salarie2", "salarie", False)]
    with session_scope() as s:
        jury = plan_past_session(s, officer_actor, place="Rennes")
        for key, college, president in members:
            jury_svc.add_member(s, officer_actor, jury.id, user_id=people[key]["id"], college=college,
                                is_president=president)
        rows = jury_svc.add_candidates(s, officer_actor, jury.id, ids)
        jury_svc.convene(s, officer_actor, jury.id)
        jury_svc.check_composition(s, officer_actor, jury.id)
        for row in rows:
            jury_svc.record_results(s, officer_actor, jury.id, row.candidate_id,
                                    (results or {}).get(row.candidate_id) or {b: "validated" for b in row.blocs})
        jury_svc.close_deliberation(s, officer_actor, jury.id)
        jury_svc.sign_pv(s, people["presidente"]["actor"], jury.id)
        return jury.id


def read_flux(settings, summary) -> tuple[bytes, ET.Element]:
    data = (settings.data_dir / summary["relative_path"]).read_bytes()
    return data, ET.fromstring(data)


def passages(root) -> dict[str, ET.Element]:
    return {p.findtext("cpf:idTechnique", namespaces=NS): p for p in root.iterfind(".//cpf:passageCertification", NS)}


def states() -> dict[str, str]:
    with session_scope() as s:
        return {r.technical_id: r.state for r in s.exec(select(CpfRecord))}


def numbers() -> dict[str, str]:
    with session_scope() as s:
        return {c.holder_last_name: c.number for c in s.exec(select(Certificate).where(Certificate.kind == "certificate"))}


def xml_report(reference: str, lines) -> bytes:
    """A processing report in XML: per passage its idTechnique, statut and message."""
    root = ET.Element(f"{{{flux.NS}}}compteRendu")
    ET.SubElement(root, f"{{{flux.NS}}}idFlux").text = reference
    for tid, status, message in lines:
        p = ET.SubElement(ET.SubElement(root, f"{{{flux.NS}}}passages"), f"{{{flux.NS}}}passage")
        ET.SubElement(p, f"{{{flux.NS}}}idTechnique").text = tid
        ET.SubElement(p, f"{{{flux.NS}}}statut").text = status
        if message:
            ET.SubElement(p, f"{{{flux.NS}}}libelleErreur").text = message
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def csv_report(lines) -> bytes:
    body = "Identifiant technique;Statut;Libellé de l'erreur\r\n" + "".join(
        f"{tid};{status};{message}\r\n" for tid, status, message in lines)
    return body.encode("utf-8-sig")


def officer(people):
    return people["officer"]["actor"]


def test_xml_flux_as_the_data_dictionary(world, settings):
    people, structure = world
    certify(people, structure, NAMES, partial=[2])  # Le Goff only gets an attestation: not declared
    with session_scope() as s:
        s.exec(select(Candidate).where(Candidate.last_name == "Le Goff")).one()
        c = s.exec(select(Candidate).where(Candidate.last_name == NAMES[0][0])).one()
        c.birth_place = "Saint-Étienne (42)"
        s.add(c)

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
    with session_scope() as s:
        cert = s.exec(select(Certificate).where(Certificate.number == nums[NAMES[0][0]])).one()
    born = cert.holder_birth_date
    assert [holder.findtext(f"cpf:{k}Naissance", namespaces=NS) for k in ("annee", "mois", "jour")] == [
        str(born.year), str(born.month), str(born.day)]
    assert first.findtext("cpf:dateDebutValidite", namespaces=NS) == cert.issued_on.isoformat()
    assert first.find("cpf:dateFinValidite", NS).get(XSI_NIL) == "true"
    assert first.findtext("cpf:obtentionCertification", namespaces=NS) == "PAR_ADMISSION"
    assert first.findtext("cpf:donneeCertifiee", namespaces=NS) == "true"
    second = found[nums[NAMES[1][0]]].find("cpf:identificationTitulaire/cpf:titulaire", NS)
    assert [second.findtext(f"cpf:prenom{i}", namespaces=NS) for i in (1, 2, 3)] == [
        "Jean-François", "Éloi", "Maël Noé"]
    assert second.find("cpf:libelleCommuneNaissance", NS) is None
    assert flux.flux_errors(data) == []  # the written flux is valid against the data dictionary's schema

    assert states() == {nums[NAMES[0][0]]: "sent", nums[NAMES[1][0]]: "sent"}
    with session_scope() as s:
        batch = s.exec(select(CpfExportBatch)).one()
        assert (batch.record_count, batch.resent_count, batch.size) == (2, 0, len(data))
        assert [e.action for e in timeline(s, "cpf_export_batches", batch.id)] == ["generate"]
        record = s.exec(select(CpfRecord).where(CpfRecord.technical_id == nums[NAMES[0][0]])).one()
        assert [e.action for e in timeline(s, "cpf_records", record.id)] == ["send"]
        assert record.due_on == cpf_states.add_months(cert.issued_on, 3)


def test_second_export_with_nothing_new_writes_nothing(world, settings):
    people, structure = world
    certify(people, structure, NAMES[:2])
    assert export_once("CQP_SP") is not None
    before = sorted(p.name for p in (settings.data_dir / "exports").rglob("*"))
    assert export_once("CQP_SP") is None
    assert export_once("CQP_SP", officer(people)) is None
    assert sorted(p.name for p in (settings.data_dir / "exports").rglob("*")) == before
    with session_scope() as s:
        assert len(s.exec(select(CpfExportBatch)).all()) == 1
    with session_scope() as s, pytest.raises(ValidationFailed):  # EPSP has no registry code
        service.prepare_batch(s, SYSTEM, "CQP_EPSP")


def test_accepted_never_resent_and_rejected_resent_after_correction(world, settings):
    people, structure = world
    ids = certify(people, structure, NAMES[:2] + [("Morvan", "Yann")])
    nums = numbers()
    a, b, c = nums[NAMES[0][0]], nums[NAMES[1][0]], nums["Morvan"]
    first = export_once("CQP_SP", officer(people))

    # The report of the first batch: A accepted, B rejected, C not in the report yet.
    report = xml_report(first["reference"], [(a, "ACCEPTE", ""), (b, "REJETE", "Nom de naissance : caractère interdit")])
    outcome = import_report_once(first["id"], report, "compte-rendu.xml", officer(people))
    assert (outcome["accepted"], outcome["rejected"]) == ([a], [b])
    assert states() == {a: "accepted", b: "rejected", c: "sent"}
    with session_scope() as s:
        rb = s.exec(select(CpfRecord).where(CpfRecord.technical_id == b)).one()
        assert rb.error_message == "Nom de naissance : caractère interdit"
        batch = s.get(CpfExportBatch, first["id"])
        assert (batch.state, batch.accepted_count, batch.rejected_count) == ("report_imported", 1, 1)
        assert (settings.data_dir / batch.report_relative_path).read_bytes() == report
    again = import_report_once(first["id"], report, "compte-rendu.xml", officer(people))  # same report twice
    assert (again["accepted"], again["rejected"], sorted(again["unchanged"])) == ([], [], sorted([a, b]))

    # Nothing corrected yet: nothing to send (A accepted, B uncorrected, C awaiting its report).
    assert export_once("CQP_SP") is None

    # B's identity corrected on the certificate: B alone goes again, as a re-sending.
    with session_scope() as s:
        issuance.correct(s, officer(people), ids[NAMES[1][0]], reason="Erreur de saisie", last_name="N'Guessan")
    second = export_once("CQP_SP")
    assert (second["record_count"], second["resent_count"]) == (1, 1)
    _, root = read_flux(settings, second)
    found = passages(root)
    assert list(found) == [b]
    assert found[b].findtext(".//cpf:nomNaissance", namespaces=NS) == "N'Guessan"
    assert states() == {a: "accepted", b: "resent", c: "sent"}

    # Its report (CSV this time) accepts it; A and B are never sent again.
    outcome = import_report_once(second["id"], csv_report([(b, "Accepté", "")]), "cr.csv", officer(people))
    assert outcome["accepted"] == [b]
    # A late report of the first batch about B changes nothing any more (B went again since).
    late = import_report_once(first["id"], xml_report(first["reference"], [(b, "REJETE", "autre motif")]),
                              "cr2.xml", officer(people))
    assert late["superseded"] == [b]
    assert states() == {a: "accepted", b: "accepted", c: "sent"}

    # A new certificate: the next batch carries it alone.
    certify(people, structure, [("Kerouac", "Léa")], first=10)
    third = export_once("CQP_SP")
    _, root = read_flux(settings, third)
    assert list(passages(root)) == [numbers()["Kerouac"]]

    # C rejected for a reason outside our data: re-sent only when the officer asks for it.
    import_report_once(first["id"], xml_report(first["reference"], [(c, "KO", "Service indisponible")]), "cr3.xml",
                       officer(people))
    assert states()[c] == "rejected"
    assert export_once("CQP_SP") is None
    with session_scope() as s:
        record = s.exec(select(CpfRecord).where(CpfRecord.technical_id == c)).one()
        service.request_resend(s, officer(people), record.id, "Incident de la plateforme résolu")
        with pytest.raises(InvalidTransition):
            service.request_resend(s, officer(people), s.exec(select(CpfRecord.id).where(CpfRecord.technical_id == a)).one(),
                               "déjà accepté")
    fourth = export_once("CQP_SP")
    _, root = read_flux(settings, fourth)
    assert list(passages(root)) == [c]
    with session_scope() as s:
        items = s.exec(select(CpfBatchItem).where(CpfBatchItem.technical_id == c)).all()
        assert [(i.resend, i.outcome) for i in items] == [(False, "rejected"), (True, None)]


def test_report_formats_and_refusals(world, settings):
    people, structure = world
    certify(people, structure, NAMES[:2])
    batch = export_once("CQP_SP")
    a, b = numbers()[NAMES[0][0]], numbers()[NAMES[1][0]]

    def imp(data):
        with session_scope() as s:
            return service.import_report(s, officer(people), batch["id"], data, filename="cr")

    for bad, code in [
        (b"", "report_empty"),
        (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x/>", "report_doctype"),
        (b"<flux><passage>", "report_unreadable"),
        (xml_report("CPF-SP-1999-0001", [(a, "ACCEPTE", "")]), "report_for_another_batch"),
        (xml_report(batch["reference"], [(a, "PEUT-ETRE", "")]), "report_status_unknown"),
        (csv_report([(a, "", "")]), "report_status_unknown"),
        ("nom,prénom\r\nX,Y\r\n".encode(), "report_columns"),
        ((settings.data_dir / batch["relative_path"]).read_bytes(), "report_status_unknown"),  # the flux itself
    ]:
        with pytest.raises(ValidationFailed) as exc:
            imp(bad)
        assert exc.value.code == code, bad
    assert states() == {a: "sent", b: "sent"}

    # CSV with commas, Windows-1252, unknown ids reported, messages kept.
    data = f"idTechnique,statut,codeErreur,message\r\n{a},OK,,\r\n{b},KO,E12,Date de naissance incohérente\r\n" \
           "SP-1999-000001,OK,,\r\n".encode("cp1252")
    outcome = imp(data)
    assert (outcome.accepted, outcome.rejected, outcome.unknown) == ([a], [b], ["SP-1999-000001"])
    with session_scope() as s:
        rb = s.exec(select(CpfRecord).where(CpfRecord.technical_id == b)).one()
        assert rb.error_message == "E12 ; Date de naissance incohérente"
    # An accepted record contradicted later stays accepted.
    outcome = imp(csv_report([(a, "REJETE", "?")]))
    assert outcome.ignored == [a] and states()[a] == "accepted"


def test_overdue_three_months_after_issue(world, settings):
    people, structure = world
    with time_machine.travel(datetime(2027, 3, 1, 10, tzinfo=UTC), tick=False):  # within the agrément
        certify(people, structure, NAMES[:2])
    a, b = numbers()[NAMES[0][0]], numbers()[NAMES[1][0]]

    def overdue():
        with session_scope() as s:
            return sorted(r.technical_id for r in queries.overdue_records(s, officer(people)))

    with time_machine.travel(datetime(2027, 3, 2, 10, tzinfo=UTC), tick=False):
        with session_scope() as s:
            records = queries.list_records(s, officer(people))
        assert {(r.technical_id, r.issued_on, r.due_on) for r in records} == {
            (a, date(2027, 3, 1), date(2027, 6, 1)), (b, date(2027, 3, 1), date(2027, 6, 1))}
        assert overdue() == []
    with time_machine.travel(datetime(2027, 6, 1, 12, tzinfo=UTC), tick=False):
        assert overdue() == []  # due today
    with time_machine.travel(datetime(2027, 6, 2, 8, tzinfo=UTC), tick=False):
        assert overdue() == sorted([a, b])
        batch = export_once("CQP_SP")
        # Sent (the file is written), but nothing says the Caisse des Dépôts accepted them: not
        # declared yet, still overdue in the listing and in the officers' alerts.
        assert overdue() == sorted([a, b])
        with session_scope() as s:
            assert all(cpf_states.is_overdue(r) for r in queries.list_records(s, officer(people), state="sent"))
            assert sorted(r.technical_id for r in queries.attention_records(s, officer(people), "CQP_SP")) == sorted([a, b])
        import_report_once(batch["id"], csv_report([(a, "ACCEPTE", ""), (b, "REJETE", "Prénom manquant")]), "cr.csv",
                           officer(people))
        assert overdue() == [b]  # accepted: declared; rejected: still owed
        with session_scope() as s:
            assert not cpf_states.is_overdue(s.exec(select(CpfRecord).where(CpfRecord.technical_id == a)).one())
    assert cpf_states.add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert cpf_states.add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)


def test_sent_records_are_alerted_only_once_overdue(world, settings):
    """Before its due date a record sent without report is followed by its batch's reminders, not
    by the alerts of the records still owed."""
    people, structure = world
    with time_machine.travel(datetime(2027, 3, 1, 10, tzinfo=UTC), tick=False):
        certify(people, structure, NAMES[:1])
        export_once("CQP_SP")
    (a,) = numbers().values()

    def attention(day: date) -> list[str]:
        with time_machine.travel(datetime.combine(day, datetime.min.time(), UTC), tick=False), \
                session_scope() as s:
            return [r.technical_id for r in queries.attention_records(s, officer(people), "CQP_SP", days_before=30)]

    assert attention(date(2027, 5, 20)) == []  # due within 30 days, but sent: its batch is followed
    assert attention(date(2027, 6, 1)) == []  # due today
    assert attention(date(2027, 6, 2)) == [a]  # overdue and still without report


def summary_ids(summary) -> list[str]:
    with session_scope() as s:
        return [i.technical_id for i in queries.items_of(s, summary["id"])]


def test_report_reminder_steps(world, settings):
    people, structure = world
    certify(people, structure, NAMES[:1])
    with time_machine.travel(datetime(2027, 3, 1, 23, 30, tzinfo=UTC), tick=False):  # 2 March in Paris
        summary = export_once("CQP_SP")
    with session_scope() as s:
        batch = s.get(CpfExportBatch, summary["id"])
    assert cpf_states.produced_on(batch) == date(2027, 3, 2)
    days = [date(2027, 3, 2), date(2027, 3, 16), date(2027, 3, 17), date(2027, 3, 31), date(2027, 4, 1),
            date(2027, 9, 1)]
    assert [cpf_states.report_reminder_step(batch, d, 15) for d in days] == [0, 0, 1, 1, 2, 2]  # two at most
    assert [cpf_states.report_reminder_step(batch, d, 0) for d in days] == [0] * 6  # reminders turned off
    import_report_once(batch.id, csv_report([(summary_ids(summary)[0], "ACCEPTE", "")]), "cr.csv", officer(people))
    with session_scope() as s:
        batch = s.get(CpfExportBatch, summary["id"])
    assert [cpf_states.report_reminder_step(batch, d, 15) for d in days] == [0] * 6  # report imported


def test_the_officer_declares_the_deposit(world, settings):
    people, structure = world
    certify(people, structure, NAMES[:1])
    with time_machine.travel(datetime(2027, 3, 2, 9, tzinfo=UTC), tick=False):
        summary = export_once("CQP_SP")
    with time_machine.travel(datetime(2027, 3, 5, 9, tzinfo=UTC), tick=False):
        refused = []
        for day in (date(2027, 3, 1), date(2027, 3, 6)):  # before the batch was produced; in the future
            with session_scope() as s, pytest.raises(ValidationFailed) as exc:
                service.declare_deposit(s, officer(people), summary["id"], day)
            refused.append((exc.value.code, exc.value.status_code, exc.value.message))
        assert refused == [
            ("deposit_before_batch", 422, f"Le lot {summary['reference']} a été produit le 02/03/2027 : il ne peut "
                                          "pas avoir été déposé avant cette date."),
            ("deposit_in_future", 422, "La date de dépôt ne peut pas être postérieure à aujourd'hui."),
        ]
        with session_scope() as s, pytest.raises(Exception) as exc:
            service.declare_deposit(s, people["mandataire"]["actor"], summary["id"], date(2027, 3, 3))
        assert exc.value.status_code == 403
        for day in (date(2027, 3, 3), date(2027, 3, 3), date(2027, 3, 2)):  # the same date twice, then corrected
            with session_scope() as s:
                batch = service.declare_deposit(s, officer(people), summary["id"], day)
        assert batch.deposited_on == date(2027, 3, 2)
    with session_scope() as s:
        trail = [(e.action, e.actor_role, e.data) for e in queries.batch_timeline(s, officer(people), summary["id"])]
        assert trail[0][0] == "generate" and trail[1:] == [
            ("declare_deposit", "officer", {"deposited_on": "2027-03-03", "previous": None}),
            ("declare_deposit", "officer", {"deposited_on": "2027-03-02", "previous": "2027-03-03"}),
        ]
        assert s.get(CpfExportBatch, summary["id"]).state == "generated"  # still awaiting its report
    assert set(states().values()) == {"sent"}  # a deposit declares nothing: the report does


def test_revoked_certificate_is_not_declared(world, settings):
    people, structure = world
    ids = certify(people, structure, NAMES, sexes=["F", "M", None])
    nums = numbers()
    with session_scope() as s:
        queries.list_records(s, officer(people))  # followed from now on (the third held back: no sex)
        issuance.revoke(s, officer(people), ids[NAMES[0][0]], "Fraude avérée")
        issuance.revoke(s, officer(people), ids[NAMES[2][0]], "Erreur de jury")
    summary = export_once("CQP_SP")
    _, root = read_flux(settings, summary)
    assert list(passages(root)) == [nums[NAMES[1][0]]]
    assert states() == {nums[NAMES[0][0]]: "cancelled", nums[NAMES[1][0]]: "sent", nums[NAMES[2][0]]: "cancelled"}
    assert record_of(nums[NAMES[2][0]]).held_reason is None  # no longer owed: no longer held either
    with session_scope() as s:
        assert queries.list_records(s, officer(people), held=True) == []


def test_registry_code_and_roles(world):
    people, _ = world
    with session_scope() as s:
        cert = s.exec(select(Certification).where(Certification.code == "CQP_SP")).one()
        assert service.registry_of(cert) == ("RNCP", "RNCP34567")
        for code, expected in [("rs5286", ("RS", "RS5286")), ("RNCP", None), ("", None), ("CPF206", None)]:
            cert.registry_code = code
            if expected:
                assert service.registry_of(cert) == expected
            else:
                with pytest.raises(ValidationFailed):
                    service.registry_of(cert)
        s.rollback()
    with session_scope() as s, pytest.raises(Exception) as exc:
        service.prepare_batch(s, people["mandataire"]["actor"], "CQP_SP")
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
    with session_scope() as s:
        assert len(s.exec(select(CpfBatchItem)).all()) == 2
    files = list((settings.data_dir / "exports").rglob("*.xml"))
    assert [f.name for f in files] == [made[0]["filename"]]


# --- holder data the data dictionary requires: held back until corrected --------------------------


def events(entity: str, entity_id: int) -> list[tuple[str, str | None]]:
    with session_scope() as s:
        return [(e.action, e.reason) for e in timeline(s, entity, entity_id)]


def record_of(technical_id: str) -> CpfRecord:
    with session_scope() as s:
        return s.exec(select(CpfRecord).where(CpfRecord.technical_id == technical_id)).one()


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
    with session_scope() as s:  # listed for the officer, with the reason
        listed = queries.list_records(s, officer(people), held=True)
        assert [(r.technical_id, r.held_reason) for r in listed] == [(b, held.held_reason)]
        assert {r.technical_id for r in queries.list_records(s, officer(people), held=False)} == {a, c}
        assert [r.technical_id for r in queries.attention_records(s, officer(people), "CQP_SP", days_before=0)] == [b]
    assert [a for a, _ in events("cpf_records", held.id)] == ["hold"]

    # Nothing corrected: nothing to send, and the hold is not written again.
    assert export_once("CQP_SP") is None
    assert [a for a, _ in events("cpf_records", held.id)] == ["hold"]

    # The officer corrects the certificate: no new document version (the sex is not printed),
    # the candidate keeps it for any later issue, and B goes in the next flux.
    with session_scope() as s:
        cert = issuance.correct(s, officer(people), ids[NAMES[1][0]], reason="Sexe recueilli auprès de la structure",
                                sex="M")
        assert (cert.holder_sex, cert.version) == ("M", 1)
        assert s.get(Candidate, cert.candidate_id).sex == "M"
        event = timeline(s, "certificates", cert.id)[-1]
        assert (event.action, event.data["before"], event.data["after"]) == (
            "correct", {"holder_sex": "None"}, {"holder_sex": "M"})
        with pytest.raises(ValidationFailed) as exc:
            issuance.correct(s, officer(people), cert.id, reason="?", sex="H")
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
    with session_scope() as s:
        issuance.correct(s, officer(people), ids[NAMES[0][0]], reason="Saisie", birth_date=date(1899, 12, 31))
    summary = export_once("CQP_SP")
    _, root = read_flux(settings, summary)
    assert list(passages(root)) == [b]
    assert "date de naissance du titulaire absente ou hors des bornes" in record_of(a).held_reason
    with session_scope() as s:
        issuance.correct(s, officer(people), ids[NAMES[0][0]], reason="Saisie", birth_date=date(1989, 12, 31))
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
    assert set(holders) == {"O'Brien <Zoé> & Cie", "N'Guessan-Lefèvre", "<script>alert('x')</script> & Fils",
                            "Ñúñez Çelik"}
    assert holders["<script>alert('x')</script> & Fils"].findtext(".//cpf:prenom2", namespaces=NS) == "d'Ornano"
    # The schema's own parse of the document gives the same names back.
    decoded = flux.flux_schema().to_dict(data)
    passages_ = decoded["cpf:emetteur"]["cpf:certificateurs"]["cpf:certificateur"]["cpf:certifications"][
        "cpf:certification"][0]["cpf:passageCertifications"]["cpf:passageCertification"]
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
        (b"<cpf:nomNaissance>O'Brien &lt;Zo\xc3\xa9&gt; &amp; Cie</cpf:nomNaissance>",
         b"<cpf:nomNaissance>" + "é".encode() * 61 + b"</cpf:nomNaissance>", tid,
         "identificationTitulaire/titulaire/nomNaissance"),
        (b"<cpf:nomNaissance>O'Brien &lt;Zo\xc3\xa9&gt; &amp; Cie</cpf:nomNaissance>",
         b"<cpf:nomNaissance" + nil, tid, "identificationTitulaire/titulaire/nomNaissance"),  # not nillable
        (b"<cpf:obtentionCertification>PAR_ADMISSION<", b"<cpf:obtentionCertification>PAR_CONCOURS<", tid,
         "obtentionCertification"),
        (b"<cpf:dateFinValidite" + nil, b"", tid, None),  # required even when nil
        (b"<cpf:donneeCertifiee>true<", b"<cpf:donneeCertifiee>oui<", tid, "donneeCertifiee"),
        (b"<cpf:anneeNaissance>", b"<cpf:anneeNaissance>1", tid, "identificationTitulaire/titulaire/anneeNaissance"),
        (b"<cpf:idTechnique>", b"<cpf:libre>x</cpf:libre><cpf:idTechnique>", tid, None),  # unknown element
        (b"<cpf:type>RNCP</cpf:type>", b"<cpf:type>CPF</cpf:type>", None,
         "emetteur/certificateurs/certificateur/certifications/certification/type"),
        (b"<cpf:idClient>00000000</cpf:idClient>", b"<cpf:idClient>0000000</cpf:idClient>", None,
         "emetteur/idClient"),
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
    for old, new in [(b"<cpf:dateDebutValidite>", b"<cpf:dateDebutValidite>1"),
                     (b"<cpf:horodatage>", b"<cpf:horodatage>x")]:
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
    with session_scope() as s:
        queries.list_records(s, officer(people))  # followed from now on

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
    with session_scope() as s:
        assert s.exec(select(CpfExportBatch)).all() == [] and s.exec(select(CpfBatchItem)).all() == []
    assert list((settings.data_dir / "exports").rglob("*.xml")) == []
    monkeypatch.delenv("CQP_CPF_ID_CLIENT")
    reset_settings_cache()
    summary = export_once("CQP_SP", officer(people))
    assert summary["reference"].endswith("-0001") and summary["record_count"] == 2


def test_rejected_record_goes_again_when_the_registry_code_is_fixed(world, settings):
    people, structure = world
    certify(people, structure, NAMES[:1])
    a = numbers()[NAMES[0][0]]
    first = export_once("CQP_SP")
    import_report_once(first["id"], csv_report([(a, "REJETE", "Code RNCP inconnu")]), "cr.csv", officer(people))
    assert export_once("CQP_SP") is None  # nothing changed
    with session_scope() as s:
        cert = s.exec(select(Certification).where(Certification.code == "CQP_SP")).one()
        cert.registry_code = "RS5286"
        s.add(cert)
    second = export_once("CQP_SP")
    assert (second["registry_code"], second["record_count"], second["resent_count"]) == ("RS5286", 1, 1)
    assert states() == {a: "resent"}
