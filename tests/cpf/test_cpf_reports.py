"""SI CPF processing reports: imported in XML or CSV, accepted and rejected records, the batches
overdue without a report, their reminders, the officer's declared deposit."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlmodel import select

from certification.db import session_scope
from certification.errors import InvalidTransition, ValidationFailed
from certification.cpf import queries, service
from certification.cpf import states as cpf_states
from certification.cpf.models import CpfBatchItem, CpfExportBatch, CpfRecord
from certification.jury import issuance
from flows.cpf import export_once, import_report_once
from tests.cpf.holders import NAMES, NS, certify, csv_report, numbers, officer, passages, read_flux, states, xml_report


def test_accepted_never_resent_and_rejected_resent_after_correction(world, settings):
    people, structure = world
    ids = certify(people, structure, NAMES[:2] + [("Morvan", "Yann")])
    nums = numbers()
    a, b, c = nums[NAMES[0][0]], nums[NAMES[1][0]], nums["Morvan"]
    first = export_once("CQP_SP", officer(people))

    # The report of the first batch: A accepted, B rejected, C not in the report yet.
    report = xml_report(
        first["reference"], [(a, "ACCEPTE", ""), (b, "REJETE", "Nom de naissance : caractère interdit")]
    )
    outcome = import_report_once(first["id"], report, "compte-rendu.xml", officer(people))
    assert (outcome["accepted"], outcome["rejected"]) == ([a], [b])
    assert states() == {a: "accepted", b: "rejected", c: "sent"}
    with session_scope() as db:
        rb = db.exec(select(CpfRecord).where(CpfRecord.technical_id == b)).one()
        assert rb.error_message == "Nom de naissance : caractère interdit"
        batch = db.get(CpfExportBatch, first["id"])
        assert (batch.state, batch.accepted_count, batch.rejected_count) == ("report_imported", 1, 1)
        assert (settings.data_dir / batch.report_relative_path).read_bytes() == report
    again = import_report_once(first["id"], report, "compte-rendu.xml", officer(people))  # same report twice
    assert (again["accepted"], again["rejected"], sorted(again["unchanged"])) == ([], [], sorted([a, b]))

    # Nothing corrected yet: nothing to send (A accepted, B uncorrected, C awaiting its report).
    assert export_once("CQP_SP") is None

    # B's identity corrected on the certificate: B alone goes again, as a re-sending.
    with session_scope() as db:
        issuance.correct(db, officer(people), ids[NAMES[1][0]], reason="Erreur de saisie", last_name="N'Guessan")
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
    late = import_report_once(
        first["id"], xml_report(first["reference"], [(b, "REJETE", "autre motif")]), "cr2.xml", officer(people)
    )
    assert late["superseded"] == [b]
    assert states() == {a: "accepted", b: "accepted", c: "sent"}

    # A new certificate: the next batch carries it alone.
    certify(people, structure, [("Kerouac", "Léa")], first=10)
    third = export_once("CQP_SP")
    _, root = read_flux(settings, third)
    assert list(passages(root)) == [numbers()["Kerouac"]]

    # C rejected for a reason outside our data: re-sent only when the officer asks for it.
    import_report_once(
        first["id"], xml_report(first["reference"], [(c, "KO", "Service indisponible")]), "cr3.xml", officer(people)
    )
    assert states()[c] == "rejected"
    assert export_once("CQP_SP") is None
    with session_scope() as db:
        record = db.exec(select(CpfRecord).where(CpfRecord.technical_id == c)).one()
        service.request_resend(db, officer(people), record.id, "Incident de la plateforme résolu")
        with pytest.raises(InvalidTransition):
            service.request_resend(
                db,
                officer(people),
                db.exec(select(CpfRecord.id).where(CpfRecord.technical_id == a)).one(),
                "déjà accepté",
            )
    fourth = export_once("CQP_SP")
    _, root = read_flux(settings, fourth)
    assert list(passages(root)) == [c]
    with session_scope() as db:
        items = db.exec(select(CpfBatchItem).where(CpfBatchItem.technical_id == c)).all()
        assert [(i.resend, i.outcome) for i in items] == [(False, "rejected"), (True, None)]


def test_report_formats_and_refusals(world, settings):
    people, structure = world
    certify(people, structure, NAMES[:2])
    batch = export_once("CQP_SP")
    a, b = numbers()[NAMES[0][0]], numbers()[NAMES[1][0]]

    def imp(data):
        with session_scope() as db:
            return service.import_report(db, officer(people), batch["id"], data, filename="cr")

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
    data = (
        f"idTechnique,statut,codeErreur,message\r\n{a},OK,,\r\n{b},KO,E12,Date de naissance incohérente\r\n"
        "SP-1999-000001,OK,,\r\n".encode("cp1252")
    )
    outcome = imp(data)
    assert (outcome.accepted, outcome.rejected, outcome.unknown) == ([a], [b], ["SP-1999-000001"])
    with session_scope() as db:
        rb = db.exec(select(CpfRecord).where(CpfRecord.technical_id == b)).one()
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
        with session_scope() as db:
            return sorted(r.technical_id for r in queries.overdue_records(db, officer(people)))

    with time_machine.travel(datetime(2027, 3, 2, 10, tzinfo=UTC), tick=False):
        with session_scope() as db:
            records = queries.list_records(db, officer(people))
        assert {(r.technical_id, r.issued_on, r.due_on) for r in records} == {
            (a, date(2027, 3, 1), date(2027, 6, 1)),
            (b, date(2027, 3, 1), date(2027, 6, 1)),
        }
        assert overdue() == []
    with time_machine.travel(datetime(2027, 6, 1, 12, tzinfo=UTC), tick=False):
        assert overdue() == []  # due today
    with time_machine.travel(datetime(2027, 6, 2, 8, tzinfo=UTC), tick=False):
        assert overdue() == sorted([a, b])
        batch = export_once("CQP_SP")
        # Sent (the file is written), but nothing says the Caisse des Dépôts accepted them: not
        # declared yet, still overdue in the listing and in the officers' alerts.
        assert overdue() == sorted([a, b])
        with session_scope() as db:
            assert all(cpf_states.is_overdue(r) for r in queries.list_records(db, officer(people), state="sent"))
            assert sorted(r.technical_id for r in queries.attention_records(db, officer(people), "CQP_SP")) == sorted(
                [a, b]
            )
        import_report_once(
            batch["id"], csv_report([(a, "ACCEPTE", ""), (b, "REJETE", "Prénom manquant")]), "cr.csv", officer(people)
        )
        assert overdue() == [b]  # accepted: declared; rejected: still owed
        with session_scope() as db:
            assert not cpf_states.is_overdue(db.exec(select(CpfRecord).where(CpfRecord.technical_id == a)).one())
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
        with time_machine.travel(datetime.combine(day, datetime.min.time(), UTC), tick=False), session_scope() as db:
            return [r.technical_id for r in queries.attention_records(db, officer(people), "CQP_SP", days_before=30)]

    assert attention(date(2027, 5, 20)) == []  # due within 30 days, but sent: its batch is followed
    assert attention(date(2027, 6, 1)) == []  # due today
    assert attention(date(2027, 6, 2)) == [a]  # overdue and still without report


def summary_ids(summary) -> list[str]:
    with session_scope() as db:
        return [i.technical_id for i in queries.items_of(db, summary["id"])]


def test_report_reminder_steps(world, settings):
    people, structure = world
    certify(people, structure, NAMES[:1])
    with time_machine.travel(datetime(2027, 3, 1, 23, 30, tzinfo=UTC), tick=False):  # 2 March in Paris
        summary = export_once("CQP_SP")
    with session_scope() as db:
        batch = db.get(CpfExportBatch, summary["id"])
    assert cpf_states.produced_on(batch) == date(2027, 3, 2)
    days = [
        date(2027, 3, 2),
        date(2027, 3, 16),
        date(2027, 3, 17),
        date(2027, 3, 31),
        date(2027, 4, 1),
        date(2027, 9, 1),
    ]
    assert [cpf_states.report_reminder_step(batch, d, 15) for d in days] == [0, 0, 1, 1, 2, 2]  # two at most
    assert [cpf_states.report_reminder_step(batch, d, 0) for d in days] == [0] * 6  # reminders turned off
    import_report_once(batch.id, csv_report([(summary_ids(summary)[0], "ACCEPTE", "")]), "cr.csv", officer(people))
    with session_scope() as db:
        batch = db.get(CpfExportBatch, summary["id"])
    assert [cpf_states.report_reminder_step(batch, d, 15) for d in days] == [0] * 6  # report imported


def test_the_officer_declares_the_deposit(world, settings):
    people, structure = world
    certify(people, structure, NAMES[:1])
    with time_machine.travel(datetime(2027, 3, 2, 9, tzinfo=UTC), tick=False):
        summary = export_once("CQP_SP")
    with time_machine.travel(datetime(2027, 3, 5, 9, tzinfo=UTC), tick=False):
        refused = []
        for day in (date(2027, 3, 1), date(2027, 3, 6)):  # before the batch was produced; in the future
            with session_scope() as db, pytest.raises(ValidationFailed) as exc:
                service.declare_deposit(db, officer(people), summary["id"], day)
            refused.append((exc.value.code, exc.value.status_code, exc.value.message))
        assert refused == [
            (
                "deposit_before_batch",
                422,
                f"Le lot {summary['reference']} a été produit le 02/03/2027 : il ne peut "
                "pas avoir été déposé avant cette date.",
            ),
            ("deposit_in_future", 422, "La date de dépôt ne peut pas être postérieure à aujourd'hui."),
        ]
        with session_scope() as db, pytest.raises(Exception) as exc:
            service.declare_deposit(db, people["mandataire"]["actor"], summary["id"], date(2027, 3, 3))
        assert exc.value.status_code == 403
        for day in (date(2027, 3, 3), date(2027, 3, 3), date(2027, 3, 2)):  # the same date twice, then corrected
            with session_scope() as db:
                batch = service.declare_deposit(db, officer(people), summary["id"], day)
        assert batch.deposited_on == date(2027, 3, 2)
    with session_scope() as db:
        trail = [(e.action, e.actor_role, e.data) for e in queries.batch_timeline(db, officer(people), summary["id"])]
        assert trail[0][0] == "generate" and trail[1:] == [
            ("declare_deposit", "officer", {"deposited_on": "2027-03-03", "previous": None}),
            ("declare_deposit", "officer", {"deposited_on": "2027-03-02", "previous": "2027-03-03"}),
        ]
        assert db.get(CpfExportBatch, summary["id"]).state == "generated"  # still awaiting its report
    assert set(states().values()) == {"sent"}  # a deposit declares nothing: the report does
