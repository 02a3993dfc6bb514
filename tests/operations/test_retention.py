"""Retention of personal data: the clock is moved past each period and exactly what must go is gone,
with audit rows saying so (rule and counts, never the content); certificates, bloc results and the
register stay, and `cqp check` still passes."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import time_machine
from sqlmodel import func, select
from typer.testing import CliRunner

from api.cli import app as cli
from certification.audit import SYSTEM
from certification.db import session_scope
from certification.models import ApiToken, AuditEvent, User
from certification.jury.models import BlocAcquisition, Certificate, Deliberation
from certification.agrement.models import Piece
from certification.agrement import service as agrement_svc
from certification.candidates.models import Evaluation
from certification.services.users import issue_token
from certification.settings import get_settings
from flows.retention import apply_retention_rules
from notifications.models import OutboxMessage
from notifications.transport import eml_filename
from tests.factories import (
    deliberated_session,
    grant_agrement,
    instruct,
    issue_results,
    make_users,
    ready_candidates,
    siret,
    structure_account,
    submit_request,
)
from tests.operations.files import give_pieces_their_files

START = datetime.now(UTC)


def _evidence(candidate_id: int) -> list[str]:
    """Give the candidate's first evaluation one evidence file; returns its relative path."""
    data = f"%PDF-1.4 preuve {candidate_id}".encode()
    sha = hashlib.sha256(data).hexdigest()
    relative = f"uploads/{sha[:2]}/{sha[2:4]}/{sha}.pdf"
    path = get_settings().data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    with session_scope() as db:
        evaluation = db.exec(select(Evaluation).where(Evaluation.candidate_id == candidate_id)).first()
        evaluation.files = [{"original_name": "preuve.pdf", "sha256": sha, "size": len(data),
                             "relative_path": relative, "content_type": "application/pdf"}]
        db.add(evaluation)
    return [relative]


def _own_pieces(n: int) -> list:
    """The request's own two files (the factory's pieces share theirs between requests)."""
    from certification.services.files import PieceIn

    return [PieceIn(kind, f"{kind}.pdf", "application/pdf", 1000, f"{n}" * 64, f"uploads/r{n}/{kind}.pdf")
            for kind in ("dossier", "attestation_epsp")]


def _world() -> dict:
    people = make_users()
    grant_agrement(people, 1)
    structure = structure_account(people, siret(1))
    certified = ready_candidates(structure, 2)
    in_training = ready_candidates(structure, 1, first=3, mark_ready=False)[0]
    session_id = deliberated_session(people, certified)
    issue_results(session_id)
    mandataire, officer = people["mandataire"]["actor"], people["officer"]["actor"]
    refused, withdrawn, open_request = (submit_request(mandataire, n, pieces_in=_own_pieces(n)) for n in (2, 3, 4))
    instruct(refused, people)
    with session_scope() as db:
        agrement_svc.refuse(db, officer, refused, "Dossier incomplet.")
        agrement_svc.withdraw(db, mandataire, withdrawn, "Désistement de la structure.")
    give_pieces_their_files()
    with session_scope() as db:
        user = db.get(User, people["controleur"]["id"])
        issue_token(db, user, ttl_hours=1)  # expires in an hour
        revoked = db.exec(select(ApiToken).where(ApiToken.user_id == user.id)).first()
        revoked.revoked_at = START
        db.add(revoked)
    return {"people": people, "certified": certified, "in_training": in_training, "refused": refused,
            "withdrawn": withdrawn, "open": open_request,
            "evidence": {c: _evidence(c) for c in (certified[0], in_training)}}


def _outbox(certified_id: int) -> tuple[int, int]:
    """One sent e-mail (with its .eml copy) and one still pending, about a candidate."""
    with session_scope() as db:
        sent = OutboxMessage(dedupe_key="retention-test/sent", to_addrs=["candidat1@example.org"],
                             subject="Vos résultats", body_text="Madame, …", body_html="<p>Madame, …</p>",
                             status="sent", sent_at=START, message_id="<sent@cqp>", entity_type="candidates",
                             entity_id=certified_id)
        pending = OutboxMessage(dedupe_key="retention-test/pending", to_addrs=["candidat2@example.org"],
                                subject="Convocation", body_text="…", body_html="…", message_id="<pending@cqp>",
                                entity_type="candidates", entity_id=certified_id)
        db.add(sent)
        db.add(pending)
        db.flush()
        ids = sent.id, pending.id
    eml = get_settings().outbox_dir / eml_filename("retention-test/sent")
    eml.parent.mkdir(parents=True, exist_ok=True)
    eml.write_text("Subject: Vos résultats\n\nMadame, …")
    return ids


def _piece_files(*request_ids: int) -> set[str]:
    with session_scope() as db:
        return {p.relative_path for p in db.exec(select(Piece).where(Piece.request_id.in_(request_ids)))}


def _state() -> dict:
    with session_scope() as db:
        return {
            "pieces": set(db.exec(select(Piece.request_id).distinct()).all()),
            "evidence": {e.candidate_id for e in db.exec(select(Evaluation)) if e.files},
            "tokens": db.exec(select(func.count()).select_from(ApiToken)).one(),
            "certificates": db.exec(select(func.count()).select_from(Certificate)).one(),
            "deliberations": db.exec(select(func.count()).select_from(Deliberation)).one(),
            "blocs": db.exec(select(func.count()).select_from(BlocAcquisition)).one(),
            "evaluations": db.exec(select(func.count()).select_from(Evaluation)).one(),
            "purges": [(e.entity_type, e.entity_id, e.data) for e in db.exec(
                select(AuditEvent).where(AuditEvent.action == "retention_purge").order_by(AuditEvent.id))],
        }


def _at(days: int):
    return time_machine.travel(START + timedelta(days=days), tick=False)


def test_each_period_deletes_exactly_its_data():
    world = _world()
    sent_id, pending_id = _outbox(world["certified"][0])
    data_dir = get_settings().data_dir
    before = _state()
    assert before["pieces"] == {world["refused"], world["withdrawn"], world["open"]} | before["pieces"]
    assert before["evidence"] == {world["certified"][0], world["in_training"]}
    kept = {k: before[k] for k in ("certificates", "deliberations", "blocs", "evaluations")}
    open_files = _piece_files(world["open"])
    ended_files = _piece_files(world["refused"], world["withdrawn"]) - open_files
    assert ended_files and all((data_dir / f).exists() for f in ended_files | open_files)

    with _at(30):
        assert apply_retention_rules() == {}
    assert _state() == before

    with _at(91):  # login records: the expired and the revoked tokens, not the live ones
        assert apply_retention_rules() == {"login_records": 2}
    after = _state()
    assert after["tokens"] == before["tokens"] - 2
    assert after["purges"] == [("users", world["people"]["controleur"]["id"], {"rule": "login_records", "tokens": 2})]

    with _at(366):  # evidence of the certified candidate; sent e-mails
        assert apply_retention_rules() == {"evaluation_evidence": 1, "sent_emails": 1}
    after = _state()
    assert after["evidence"] == {world["in_training"]}  # still in training: kept
    assert not (data_dir / world["evidence"][world["certified"][0]][0]).exists()
    assert (data_dir / world["evidence"][world["in_training"]][0]).exists()
    with session_scope() as db:
        sent, pending = db.get(OutboxMessage, sent_id), db.get(OutboxMessage, pending_id)
        assert sent.to_addrs == [] and sent.body_text == "" and "Vos résultats" not in sent.subject
        assert sent.dedupe_key == "retention-test/sent"  # still known: never sent twice
        assert pending.to_addrs == ["candidat2@example.org"] and pending.subject == "Convocation"
    assert not (get_settings().outbox_dir / eml_filename("retention-test/sent")).exists()

    with _at(731):  # pieces of the refused and withdrawn requests, not of the open one
        assert apply_retention_rules() == {"ended_request_pieces": 4}
    after = _state()
    assert world["refused"] not in after["pieces"] and world["withdrawn"] not in after["pieces"]
    assert world["open"] in after["pieces"]
    assert not [f for f in ended_files if (data_dir / f).exists()]  # the files too, once no row refers to them
    assert all((data_dir / f).exists() for f in open_files)
    assert {k: after[k] for k in kept} == kept  # certificates, bloc results, evaluations: kept
    rules = [(t, d["rule"]) for t, _i, d in after["purges"]]
    assert rules == [("users", "login_records"), ("candidates", "evaluation_evidence"), ("candidates", "sent_emails"),
                     ("agrement_requests", "ended_request_pieces"), ("agrement_requests", "ended_request_pieces")]
    text = json.dumps(after["purges"], ensure_ascii=False)
    assert "candidat1@example.org" not in text and "preuve" not in text and "Vos résultats" not in text
    with session_scope() as db:
        purge_events = db.exec(select(AuditEvent).where(AuditEvent.action == "retention_purge")).all()
    assert all(e.actor_role == SYSTEM.role.value and e.reason for e in purge_events)

    with _at(732):  # idempotent; and the installation is still sound
        assert apply_retention_rules() == {}
        check = CliRunner().invoke(cli, ["check"])
    assert check.exit_code == 0, check.output


def test_ended_webhook_deliveries_go_with_their_attempts_after_their_period():
    from certification.models_webhooks import WebhookAttempt, WebhookDelivery
    from certification.webhooks import subscribe

    people = make_users()
    with session_scope() as db:
        sub = subscribe(db, people["officer"]["actor"], url="https://integrateur.example.org/cqp",
                        events=["dossier.state_changed"])
        db.flush()
        for status in ("delivered", "failed", "pending"):
            delivery = WebhookDelivery(subscription_id=sub.id, event_id=f"evt_{status}", event="dossier.state_changed",
                                       payload="{}", status=status, attempts=1)
            db.add(delivery)
            db.flush()
            db.add(WebhookAttempt(delivery_id=delivery.id, status_code=200 if status == "delivered" else 500))
        sub_id = sub.id

    def left() -> tuple[list[str], int]:
        with session_scope() as db:
            deliveries = db.exec(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
            return [d.event_id for d in deliveries], len(db.exec(select(WebhookAttempt)).all())

    with _at(89):
        assert apply_retention_rules() == {}
    assert left() == (["evt_delivered", "evt_failed", "evt_pending"], 3)
    with _at(91):  # the ended ones and their log; the one still owed stays
        assert apply_retention_rules() == {"webhook_deliveries": 2}
    assert left() == (["evt_pending"], 1)
    with session_scope() as db:
        (purge,) = db.exec(select(AuditEvent).where(AuditEvent.action == "retention_purge")).all()
        assert (purge.entity_type, purge.entity_id, purge.data) == (
            "webhook_subscriptions", sub_id, {"rule": "webhook_deliveries", "deliveries": 2})
        assert purge.reason == "Durée de conservation des livraisons d'événements écoulée."
    with _at(200):
        assert apply_retention_rules() == {}
