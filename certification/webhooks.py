"""Webhooks for integrators: an officer subscribes a URL to events; each event is enqueued as a
delivery in the same transaction as the audit row it comes from (``record_event`` calls
``enqueue_for``), so an event is never announced for a change that was rolled back, nor lost.

Events: ``dossier.state_changed`` (any audited state change), ``document.issued`` (a document
generated for a dossier), ``certificate.revoked``. Payloads are signed by ``sign`` (Stripe-like
``X-CQP-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from certification.db import transaction_cache
from certification.errors import Forbidden, NotFound, ValidationFailed
from certification.models import AuditEvent, Role
from certification.models_webhooks import WebhookDelivery, WebhookSubscription

if TYPE_CHECKING:  # certification.audit imports this module
    from certification.audit import Actor

EVENTS = ("dossier.state_changed", "document.issued", "certificate.revoked")
SIGNATURE_HEADER = "X-CQP-Signature"
TOLERANCE_SECONDS = 300  # receivers refuse a signature older (or newer) than this: replay protection


def events_of(event: AuditEvent) -> list[str]:
    """The webhook events an audit row announces."""
    found = []
    if event.to_state is not None and event.from_state != event.to_state:
        found.append("dossier.state_changed")
    if event.action == "document_generated":
        found.append("document.issued")
    if event.entity_type == "certificates" and event.to_state == "revoked":
        found.append("certificate.revoked")
    return found


def _payload(event_id: str, name: str, event: AuditEvent) -> str:
    data: dict[str, Any] = {
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "action": event.action,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "reason": event.reason,
    }
    if name == "document.issued":
        data["document"] = {k: (event.data or {}).get(k) for k in ("kind", "version", "sha256")}
    at = event.at.isoformat().replace("+00:00", "Z")
    body = {"id": event_id, "type": name, "created_at": at, "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def enqueue_for(db: Session, event: AuditEvent) -> list[WebhookDelivery]:
    """Queue the deliveries ``event`` owes to the active subscriptions (caller's transaction)."""
    names = events_of(event)
    if not names:
        return []
    cache = transaction_cache(db, "webhook_subscriptions")  # read once per transaction
    if "active" not in cache:
        with db.no_autoflush:  # the caller's pending rows are flushed by the caller, not here
            cache["active"] = db.exec(
                select(WebhookSubscription).where(WebhookSubscription.active == True)  # noqa: E712
            ).all()
    subscriptions = cache["active"]
    deliveries = []
    for sub in subscriptions:
        for name in names:
            if name in sub.events:
                event_id = f"evt_{uuid.uuid4().hex}"
                delivery = WebhookDelivery(
                    subscription_id=sub.id, event_id=event_id, event=name, payload=_payload(event_id, name, event)
                )
                db.add(delivery)
                deliveries.append(delivery)
    return deliveries


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-CQP-Signature`` header value of ``body`` sent at ``timestamp`` (Unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, now: int, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """What a receiver does: the signature matches and its timestamp is within ``tolerance``."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return abs(now - timestamp) <= tolerance and hmac.compare_digest(expected, parts.get("v1", ""))


# --- subscriptions (officers) ------------------------------------------------------------------


def subscribe(db: Session, actor: Actor, *, url: str, events: list[str], description: str = "") -> WebhookSubscription:
    from certification.audit import record_event

    if actor.role is not Role.officer:
        raise Forbidden(
            "Seul·e un·e chargé·e de certification abonne un système aux événements.", code="role_not_allowed"
        )
    unknown = sorted(set(events) - set(EVENTS))
    if unknown or not events:
        raise ValidationFailed(f"Événements parmi : {', '.join(EVENTS)}.", code="unknown_event")
    sub = WebhookSubscription(
        url=url,
        events=sorted(set(events)),
        secret=f"whsec_{secrets.token_urlsafe(32)}",
        description=description,
        created_by_id=actor.user_id,
    )
    db.add(sub)
    db.flush()
    transaction_cache(db, "webhook_subscriptions").clear()
    record_event(
        db,
        entity_type=WebhookSubscription.__tablename__,
        entity_id=sub.id,
        action="subscribe",
        actor=actor,
        data={"url": url, "events": sub.events},
    )
    return sub


def get_subscription(db: Session, subscription_id: int) -> WebhookSubscription:
    sub = db.get(WebhookSubscription, subscription_id)
    if sub is None:
        raise NotFound("Abonnement introuvable.", code="subscription_not_found")
    return sub


def unsubscribe(db: Session, actor: Actor, subscription_id: int) -> WebhookSubscription:
    from certification.audit import record_event

    sub = get_subscription(db, subscription_id)
    sub.active = False
    db.add(sub)
    transaction_cache(db, "webhook_subscriptions").clear()
    record_event(db, entity_type=WebhookSubscription.__tablename__, entity_id=sub.id, action="unsubscribe", actor=actor)
    return sub


def deliveries_of(db: Session, subscription_id: int) -> list[WebhookDelivery]:
    return list(db.exec(select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)))
