"""The SI CPF export flow with a real Prefect server: one file per batch, nothing when nothing is new;
the officers alerted once per situation of the records still owed; the flow served on a schedule."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from sqlmodel import select

from api.app import periodic_flows
from api.cli import scheduled_deployments
from certification.db import session_scope
from certification.jury.models import Certificate
from certification.cpf import queries, service, states
from certification.cpf.flux import NS
from certification.cpf.models import CpfExportBatch, CpfRecord
from certification.jury import issuance
from certification.settings import reset_settings_cache
from flows.cpf import cpf_export_all_flow, cpf_export_flow, export_and_alert, import_report_once
from notifications.models import OutboxMessage
from tests.cpf.holders import registered_structure
from tests.factories import deliberated_session, issue_results, make_users, ready_candidates

pytestmark = pytest.mark.integration


def registered(code: str = "RS5286"):
    """An agréée structure's account, CQP SP registered under ``code``."""
    people = make_users()
    return people, registered_structure(people, code)


def alerts() -> list[OutboxMessage]:
    with session_scope() as db:
        return list(
            db.exec(select(OutboxMessage).where(OutboxMessage.template == "cpf/alerte").order_by(OutboxMessage.id))
        )


async def test_export_flow_writes_each_batch_once(prefect_server, settings):
    people, structure = registered()
    ids = ready_candidates(structure, 3, names=[("Éluard", "Paul"), ("D'Arc", "Jeanne"), ("Brassens", "Georges")])
    issue_results(deliberated_session(people, ids))

    result = await cpf_export_flow("CQP_SP")
    batch = result["batch"]
    assert batch["record_count"] == 3 and batch["registry_type"] == "RS"
    path = settings.data_dir / batch["relative_path"]
    root = ET.parse(path).getroot()
    assert root.findtext("{%s}idFlux" % NS) == batch["reference"]
    assert len(root.findall(".//{%s}passageCertification" % NS)) == 3
    written = path.stat().st_mtime_ns

    again = await cpf_export_flow("CQP_SP")
    assert again["batch"] is None
    everything = await cpf_export_all_flow()
    assert list(everything["certifications"]) == ["CQP_SP"]  # EPSP has no registry code: not exported
    assert everything["certifications"]["CQP_SP"] == {"batch": None, "error": None, "alerts": [], "reminders": []}
    assert path.stat().st_mtime_ns == written
    assert [p.name for p in (settings.data_dir / "exports").rglob("*.xml")] == [path.name]
    with session_scope() as db:
        assert len(db.exec(select(CpfExportBatch)).all()) == 1
        assert {r.state for r in db.exec(select(CpfRecord))} == {"sent"}


async def test_scheduled_export_alerts_the_officers_once(prefect_server, smtp, settings):
    people, structure = registered()
    ids = ready_candidates(structure, 2, names=[("Éluard", "Paul"), ("D'Arc <b>", "Jeanne")], sexes=["M", None])
    issue_results(deliberated_session(people, ids))

    first = await cpf_export_all_flow()
    sp = first["certifications"]["CQP_SP"]
    assert sp["batch"]["record_count"] == 1 and sp["error"] is None and len(sp["alerts"]) == 1
    assert first["delivery"]["sent"] == 1
    second = await cpf_export_all_flow()
    assert second["certifications"]["CQP_SP"] == {"batch": None, "error": None, "alerts": [], "reminders": []}
    assert second["delivery"]["sent"] == 0

    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert smtp.recipients(0) == [settings.officers_mailbox]
    assert str(message["Subject"]) == "[CPF CQP_SP] 1 certifié à déclarer à la Caisse des Dépôts"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    with session_scope() as db:
        number = db.exec(select(Certificate.number).where(Certificate.holder_last_name == "D'Arc <b>")).one()
    assert number in text and "Jeanne D'ARC <B>" in text
    assert "sexe du titulaire non renseigné (M ou F)" in text and "RS5286" in text
    assert "Jeanne D&#39;ARC &lt;B&gt;" in html and "<B>" not in html


def test_alerts_follow_each_stage_of_a_record_once(settings, monkeypatch):
    people, structure = registered("RNCP34567")
    with time_machine.travel(datetime(2027, 3, 1, 10, tzinfo=UTC), tick=False):
        ids = ready_candidates(structure, 2, names=[("Éluard", "Paul"), ("Darc", "Jeanne")], sexes=["M", None])
        issue_results(deliberated_session(people, ids))
    with session_scope() as db:
        certificates = {c.holder_last_name: c for c in db.exec(select(Certificate))}
    darc = certificates["Darc"]
    assert darc.issued_on == date(2027, 3, 1)  # due on 1 June 2027

    def run(day: date) -> dict:
        with time_machine.travel(datetime.combine(day, time(9), UTC), tick=False):
            return export_and_alert("CQP_SP")

    first = run(date(2027, 3, 2))  # Éluard sent; Darc held back (no sex): announced
    assert first["batch"]["record_count"] == 1 and len(first["alerts"]) == 1
    with time_machine.travel(datetime(2027, 3, 5, 9, tzinfo=UTC), tick=False):  # Éluard accepted: declared
        import_report_once(
            first["batch"]["id"],
            f"idTechnique;statut\n{certificates['Éluard'].number};OK\n".encode(),
            "cr.csv",
            people["officer"]["actor"],
        )
    for day in (date(2027, 3, 3), date(2027, 5, 1)):  # nothing new; still 31 days before the due date
        assert run(day) == {"batch": None, "error": None, "alerts": [], "reminders": []}
    assert len(run(date(2027, 5, 2))["alerts"]) == 1  # due within 30 days
    assert run(date(2027, 5, 20))["alerts"] == []
    assert len(run(date(2027, 6, 2))["alerts"]) == 1  # overdue
    assert run(date(2027, 6, 3))["alerts"] == []

    with session_scope() as db:
        issuance.correct(db, people["officer"]["actor"], darc.id, reason="Sexe recueilli", sex="F")
    sent = run(date(2027, 6, 4))  # sent (late), but not declared until a report accepts it: still overdue
    assert sent["batch"]["record_count"] == 1 and len(sent["alerts"]) == 1
    assert run(date(2027, 6, 4))["alerts"] == []
    import_report_once(
        sent["batch"]["id"],
        f"idTechnique;statut;message\n{darc.number};REJETE;Nom inconnu\n".encode(),
        "cr.csv",
        people["officer"]["actor"],
    )
    assert len(run(date(2027, 6, 5))["alerts"]) == 1  # rejected and overdue: owed again

    # An export that fails (the schema refuses the flux) is said once, nothing recorded.
    with session_scope() as db:
        record = db.exec(select(CpfRecord).where(CpfRecord.technical_id == darc.number)).one()
        service.request_resend(db, people["officer"]["actor"], record.id, "Nom vérifié : rejet à tort")
    monkeypatch.setenv("CQP_CPF_ID_CLIENT", "1234567")
    reset_settings_cache()
    failed = run(date(2027, 6, 6))
    assert failed["batch"] is None and "champ emetteur/idClient" in failed["error"] and len(failed["alerts"]) == 1
    assert run(date(2027, 6, 7))["alerts"] == []

    mails = alerts()
    assert [m.subject for m in mails] == [
        "[CPF CQP_SP] 1 certifié à déclarer à la Caisse des Dépôts",
        "[CPF CQP_SP] 1 certifié à déclarer à la Caisse des Dépôts",
        "[CPF CQP_SP] 1 certifié à déclarer à la Caisse des Dépôts (1 en retard)",
        "[CPF CQP_SP] 1 certifié à déclarer à la Caisse des Dépôts (1 en retard)",
        "[CPF CQP_SP] 1 certifié à déclarer à la Caisse des Dépôts (1 en retard)",
        "[CPF CQP_SP] 1 certifié à déclarer à la Caisse des Dépôts (1 en retard) — export en échec",
    ]
    assert {m.entity_type for m in mails} == {"certifications"} and len({m.dedupe_key for m in mails}) == 6
    assert "échéance le 1er juin 2027, dans 91 jours" in mails[0].body_text
    assert "retenu" in mails[0].body_text.lower() and "sexe du titulaire" in mails[1].body_text
    assert "DÉPASSÉE de 1 jour" in mails[2].body_text and "Corrigez les données manquantes" in mails[2].body_text
    assert (
        f"{darc.number}, Jeanne DARC, délivré le 1er mars 2027 — échéance le 1er juin 2027, DÉPASSÉE de 3 jours\u202f; "
        "transmis, en attente du compte rendu\n" in mails[3].body_text
    )
    assert (
        f"Lot {sent['batch']['reference']} produit le 4 juin 2027, dépôt non déclaré\u00a0: compte rendu de traitement "
        "non importé" in mails[3].body_text
    )
    assert (
        "déposez le lot sur la plateforme de la Caisse des Dépôts si ce n'est pas fait, puis importez son compte rendu"
        in mails[3].body_text
        and "Corrigez les données manquantes" not in mails[3].body_text
    )
    assert "Motif du rejet\u00a0: Nom inconnu" in mails[4].body_text and "sexe du titulaire" not in mails[4].body_text
    assert "L'export automatique du flux de cette certification a échoué" in mails[5].body_text
    assert "idClient" in mails[5].body_text
    assert all(f"Accéder au back-office\u00a0: {settings.public_base_url}/app/\n" in m.body_text for m in mails)
    with session_scope() as db:
        assert len(db.exec(select(CpfExportBatch)).all()) == 2
        assert db.exec(select(CpfRecord.state).where(CpfRecord.technical_id == darc.number)).one() == "rejected"


def test_the_export_is_scheduled(prefect_server, monkeypatch):
    deployments = {d.name: d for d in scheduled_deployments("0 6 * * *", "30 5 * * 1")}
    assert [s.schedule.cron for s in deployments["cpf-export-all"].schedules] == ["30 5 * * 1"]
    assert [s.schedule.cron for s in deployments["daily-sweep"].schedules] == ["0 6 * * *"]

    monkeypatch.setenv("CQP_BACKUP_INTERVAL_SECONDS", "0")  # the scheduled backup: tests/operations
    monkeypatch.setenv("CQP_CPF_EXPORT_INTERVAL_SECONDS", "3600")
    reset_settings_cache()
    assert [(interval, name) for interval, name, _ in periodic_flows()] == [(300, "sweep"), (3600, "cpf export")]
    assert periodic_flows()[1][2] is cpf_export_all_flow
    monkeypatch.setenv("CQP_CPF_EXPORT_INTERVAL_SECONDS", "0")  # disabled
    reset_settings_cache()
    assert [name for _, name, _ in periodic_flows()] == ["sweep"]
    reset_settings_cache()


# --- a batch whose processing report is not imported: reminded N days after it was produced, then 2N


def reminders() -> list[OutboxMessage]:
    with session_scope() as db:
        return list(
            db.exec(
                select(OutboxMessage)
                .where(OutboxMessage.template == "cpf/rappel_compte_rendu")
                .order_by(OutboxMessage.id)
            )
        )


def test_a_batch_without_report_is_reminded_once_per_step(settings):
    people, structure = registered("RNCP34567")
    officer = people["officer"]["actor"]
    with time_machine.travel(datetime(2027, 3, 1, 10, tzinfo=UTC), tick=False):
        ids = ready_candidates(
            structure, 3, names=[("Éluard", "Paul"), ("Darc", "Jeanne"), ("Brel", "Jacques")], sexes=["M", None, "M"]
        )
        issue_results(deliberated_session(people, ids))
    with session_scope() as db:
        darc = db.exec(select(Certificate).where(Certificate.holder_last_name == "Darc")).one()

    def run(day: date) -> list[str]:
        with time_machine.travel(datetime.combine(day, time(9), UTC), tick=False):
            return export_and_alert("CQP_SP")["reminders"]

    def batch_of(reference: str) -> CpfExportBatch:
        with session_scope() as db:
            return db.exec(select(CpfExportBatch).where(CpfExportBatch.reference == reference)).one()

    a, b = "CPF-SP-2027-0001", "CPF-SP-2027-0002"
    assert run(date(2027, 3, 2)) == []  # batch A: Éluard and Brel; Darc held back (no sex)
    with session_scope() as db:
        issuance.correct(db, officer, darc.id, reason="Sexe recueilli", sex="F")
    assert run(date(2027, 3, 10)) == []  # batch B: Darc
    assert batch_of(a).record_count == 2 and batch_of(b).record_count == 1
    assert run(date(2027, 3, 16)) == []  # 14 days
    assert run(date(2027, 3, 17)) == [f"{a}:report-reminder-1"]  # 15 days after A was produced
    assert run(date(2027, 3, 17)) == [] and run(date(2027, 3, 24)) == []
    assert run(date(2027, 3, 25)) == [f"{b}:report-reminder-1"]

    # The officer says A was deposited (the next reminder words it); B's report is imported: B is done.
    with time_machine.travel(datetime(2027, 3, 26, 9, tzinfo=UTC), tick=False):
        with session_scope() as db:
            service.declare_deposit(db, officer, batch_of(a).id, date(2027, 3, 18))
        import_report_once(batch_of(b).id, f"idTechnique;statut\n{darc.number};ACCEPTE\n".encode(), "cr.csv", officer)
    assert run(date(2027, 3, 31)) == []
    assert run(date(2027, 4, 1)) == [f"{a}:report-reminder-2"]  # 30 days: the last one
    for day in (date(2027, 4, 1), date(2027, 4, 9), date(2027, 4, 16), date(2027, 5, 1)):  # B never again, A done
        assert run(day) == []

    mails = reminders()
    assert [(m.subject, m.dedupe_key, m.to_addrs) for m in mails] == [
        (
            f"[CPF CQP_SP] Rappel : lot {a} sans compte rendu importé depuis 15 jours",
            f"cpf_export_batches:{batch_of(a).id}:report-reminder-1",
            [settings.officers_mailbox],
        ),
        (
            f"[CPF CQP_SP] Rappel : lot {b} sans compte rendu importé depuis 15 jours",
            f"cpf_export_batches:{batch_of(b).id}:report-reminder-1",
            [settings.officers_mailbox],
        ),
        (
            f"[CPF CQP_SP] Dernier rappel : lot {a} sans compte rendu importé depuis 30 jours",
            f"cpf_export_batches:{batch_of(a).id}:report-reminder-2",
            [settings.officers_mailbox],
        ),
    ]
    first, _, last = (m.body_text for m in mails)
    assert (
        f"Lot\u00a0: {a} (fichier {a}.xml)" in first
        and "Certification\u00a0: CQP Salarié Polyvalent (RNCP34567)" in first
    )
    assert (
        f"Le lot {a}, produit le 2 mars 2027, déclare 2 certifiés. Son compte rendu de traitement n'a toujours pas "
        "été importé, 15 jours plus tard\u00a0: tant qu'il ne l'est pas, 2 certifiés de ce lot ne sont pas comptés comme "
        "déclarés à la Caisse des Dépôts (échéance la plus proche\u00a0: 1er juin 2027)." in first
    )
    assert "Son dépôt sur la plateforme de la Caisse des Dépôts n'a pas été déclaré" in first
    assert f"déposez le fichier {a}.xml (répertoire de données\u00a0: exports/cpf/CQP_SP/{a}.xml)" in first
    assert f"POST /exports/cpf/{batch_of(a).id}/deposit" in first
    assert "un dernier rappel suivra le 1er avril 2027" in first
    assert f"Accéder au back-office\u00a0: {settings.public_base_url}/app/\n" in first
    assert "déposé sur la plateforme de la Caisse des Dépôts le 18 mars 2027" in last
    assert "n'a pas été déclaré" not in last and "C'est le dernier rappel pour ce lot" in last
    with session_scope() as db:  # each reminder in the batch's audit trail, with the declared deposit
        trail = [e.action for e in queries.batch_timeline(db, officer, batch_of(a).id)]
    assert trail == ["generate", "mail_queued", "declare_deposit", "mail_queued"]


def test_after_a_pause_only_the_latest_reminder_is_sent(settings, monkeypatch):
    people, structure = registered()
    with time_machine.travel(datetime(2027, 3, 1, 10, tzinfo=UTC), tick=False):
        issue_results(deliberated_session(people, ready_candidates(structure, 1)))
    with time_machine.travel(datetime(2027, 3, 2, 9, tzinfo=UTC), tick=False):
        export_and_alert("CQP_SP")
    monkeypatch.setenv("CQP_CPF_REPORT_REMINDER_DAYS", "0")  # turned off: nothing
    reset_settings_cache()
    with time_machine.travel(datetime(2027, 4, 20, 9, tzinfo=UTC), tick=False):
        assert export_and_alert("CQP_SP")["reminders"] == []
    monkeypatch.setenv("CQP_CPF_REPORT_REMINDER_DAYS", "10")
    reset_settings_cache()
    with time_machine.travel(datetime(2027, 4, 20, 9, tzinfo=UTC), tick=False):
        assert export_and_alert("CQP_SP")["reminders"] == ["CPF-SP-2027-0001:report-reminder-2"]
        assert export_and_alert("CQP_SP")["reminders"] == []
    assert [m.subject for m in reminders()] == [
        "[CPF CQP_SP] Dernier rappel : lot CPF-SP-2027-0001 sans compte rendu importé depuis 49 jours"
    ]


async def test_the_scheduled_flow_delivers_each_reminder_once(prefect_server, smtp, settings):
    people, structure = registered()
    issue_results(
        deliberated_session(people, ready_candidates(structure, 2, names=[("Éluard", "Paul"), ("Ferré <i>", "Léo")]))
    )
    produced = (await cpf_export_all_flow())["certifications"]["CQP_SP"]["batch"]
    assert produced["record_count"] == 2 and smtp.messages == []
    reference = produced["reference"]

    with session_scope() as db:
        produced_on = states.produced_on(db.get(CpfExportBatch, produced["id"]))
    later = datetime.combine(produced_on + timedelta(days=15), time(12), states.PARIS)
    with time_machine.travel(later, tick=True):  # the flow runs for real, 15 days after the batch
        runs = [await cpf_export_all_flow() for _ in range(2)]
    assert [r["certifications"]["CQP_SP"]["reminders"] for r in runs] == [[f"{reference}:report-reminder-1"], []]
    assert [r["delivery"]["sent"] for r in runs] == [1, 0]
    with time_machine.travel(later + timedelta(days=15), tick=True):
        runs = [await cpf_export_all_flow() for _ in range(2)]
    assert [r["certifications"]["CQP_SP"]["reminders"] for r in runs] == [[f"{reference}:report-reminder-2"], []]

    assert len(smtp.messages) == 2 and smtp.recipients(0) == smtp.recipients(1) == [settings.officers_mailbox]
    # (whitespace folded: the standard library folds a long header before an encoded word leaving a
    # space on both sides of the fold, which a reader unfolds into two)
    subjects = [" ".join(str(m["Subject"]).split()) for m in smtp.messages]
    assert subjects == [
        f"[CPF CQP_SP] Rappel : lot {reference} sans compte rendu importé depuis 15 jours",
        f"[CPF CQP_SP] Dernier rappel : lot {reference} sans compte rendu importé depuis 30 jours",
    ]
    text = smtp.messages[0].get_body(("plain",)).get_content()
    html = smtp.messages[0].get_body(("html",)).get_content()
    assert f"Le lot {reference}, produit le" in text and "déclare 2 certifiés" in text
    assert f"{settings.public_base_url}/app/" in text and f'href="{settings.public_base_url}/app/"' in html
    assert "<strong>15 jours plus tard</strong>" in html
