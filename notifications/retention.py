"""Retention of what was sent: past ``retention_days["sent_emails"]`` after sending, an outbox
message's content (recipients, subject, bodies, attachment list) and its ``.eml`` copy are deleted.
The row stays, emptied, so that its dedupe key still prevents a second sending; the deletion is
audited on the dossier the message belonged to (rule and counts only). Past
``retention_days["webhook_deliveries"]`` after its event, a webhook delivery that ended (delivered,
or abandoned after its last attempt) is deleted with its attempts log, audited on its
subscription."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete
from sqlmodel import Session, col, select

from certification.audit import SYSTEM, record_event
from certification.models_webhooks import WebhookAttempt, WebhookDelivery
from certification.services.retention import retention_cutoff
from certification.settings import get_settings
from notifications.models import STATUS_SENT, OutboxMessage
from notifications.transport import eml_filename

ERASED = "(supprimé : durée de conservation écoulée)"


def scrub_sent_emails(db: Session) -> tuple[int, list[Path]]:
    """Empty the messages past their period; returns how many and the .eml files to delete."""
    cutoff = retention_cutoff("sent_emails")
    if cutoff is None:
        return 0, []
    messages = db.exec(
        select(OutboxMessage).where(
            OutboxMessage.status == STATUS_SENT, OutboxMessage.sent_at <= cutoff, OutboxMessage.subject != ERASED
        )
    ).all()
    files, per_dossier = [], {}
    for message in messages:
        files.append(get_settings().outbox_dir / eml_filename(message.dedupe_key))
        message.to_addrs, message.cc_addrs, message.attachments = [], [], []
        message.subject, message.body_text, message.body_html = ERASED, "", ""
        message.last_error = None
        db.add(message)
        key = (message.entity_type or "outbox_messages", message.entity_id or message.id)
        per_dossier[key] = per_dossier.get(key, 0) + 1
    for (entity_type, entity_id), count in per_dossier.items():
        record_event(
            db,
            entity_type=entity_type,
            entity_id=entity_id,
            action="retention_purge",
            actor=SYSTEM,
            reason="Durée de conservation des e-mails envoyés écoulée.",
            data={"rule": "sent_emails", "emails": count},
        )
    return len(messages), files


ENDED_DELIVERIES = ("delivered", "failed")


def purge_webhook_deliveries(db: Session) -> int:
    """Delete the ended deliveries past their period and their attempts; returns how many."""
    cutoff = retention_cutoff("webhook_deliveries")
    if cutoff is None:
        return 0
    ended = db.exec(
        select(WebhookDelivery).where(
            col(WebhookDelivery.status).in_(ENDED_DELIVERIES), WebhookDelivery.created_at <= cutoff
        )
    ).all()
    per_subscription: dict[int, int] = {}
    for delivery in ended:
        per_subscription[delivery.subscription_id] = per_subscription.get(delivery.subscription_id, 0) + 1
    ids = [delivery.id for delivery in ended]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        db.execute(delete(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(chunk)))
        db.execute(delete(WebhookDelivery).where(col(WebhookDelivery.id).in_(chunk)))
    for subscription_id, count in per_subscription.items():
        record_event(
            db,
            entity_type="webhook_subscriptions",
            entity_id=subscription_id,
            action="retention_purge",
            actor=SYSTEM,
            reason="Durée de conservation des livraisons d'événements écoulée.",
            data={"rule": "webhook_deliveries", "deliveries": count},
        )
    return len(ended)
