"""The effects a dossier is still owed (documents, e-mails, timers), for clients polling its progress.

Interim implementation from the outbox: the e-mails of the entity not yet sent. The owed-effect
table (#10) replaces this module with the same function."""

from __future__ import annotations

from sqlmodel import Session, select

from notifications.models import STATUS_SENT, OutboxMessage


def pending_effects(db: Session, entity_type: str, entity_id: int) -> list[dict]:
    """Effects still owed to ``entity_type``/``entity_id``, oldest first: dicts with ``kind``
    (``document`` | ``mail`` | ``timer``), ``name``, ``status`` and ``created_at``."""
    rows = db.exec(
        select(OutboxMessage)
        .where(OutboxMessage.entity_type == entity_type, OutboxMessage.entity_id == entity_id,
               OutboxMessage.status != STATUS_SENT)
        .order_by(OutboxMessage.id)
    )
    return [{"kind": "mail", "name": row.template or row.subject, "status": row.status, "created_at": row.created_at}
            for row in rows]
