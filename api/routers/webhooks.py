"""Webhooks for integrators (officers): subscribe a URL to events, list and revoke subscriptions,
read the delivery log. The secret of a subscription is shown once, in the creation's answer."""

from __future__ import annotations

import re
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import AnyHttpUrl, BaseModel, BeforeValidator, Field, UrlConstraints
from pydantic_core import PydanticCustomError
from typing import Annotated

from api.deps import Principal, require
from api.pagination import Page, Pager
from api.schemas import Strict
from api.types import UtcDateTime
from certification.db import session_scope
from certification.models import Role
from certification.models_webhooks import WebhookAttempt, WebhookDelivery, WebhookSubscription
from certification import webhooks as svc
from sqlmodel import select

router = APIRouter(prefix="/webhooks", tags=["webhooks (intégrateurs)"])
OFFICER = require(Role.officer)
Event = Literal["dossier.state_changed", "document.issued", "certificate.revoked"]
# The spec says what is accepted: an http(s) URL with a host name or address (a bare « format: uri »
# would also allow « mailto:… » or « urn:… », which the service refuses).
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_CHARS = r"([A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*"
WEB_URL_PATTERN = rf"^[hH][tT][tT][pP][sS]?://{_LABEL}(\.{_LABEL})*(:{_PORT})?(/{_CHARS})?(\?({_CHARS}|\?)*)?$"
_WEB_URL = re.compile(WEB_URL_PATTERN)


def _web_url_shape(value: object) -> object:
    if isinstance(value, str) and not _WEB_URL.match(value):
        raise PydanticCustomError("url_scheme", "adresse URL invalide (http ou https)")
    return value


WebUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=500, allowed_schemes=["http", "https"]),
                   BeforeValidator(_web_url_shape), Field(json_schema_extra={"pattern": WEB_URL_PATTERN})]


class SubscriptionIn(Strict):
    url: WebUrl = Field(description="URL (http ou https) qui recevra les événements en POST")
    events: list[Event] = Field(min_length=1, max_length=3, description="Événements souscrits")
    description: str = Field(default="", max_length=200)


class SubscriptionOut(BaseModel):
    id: int
    url: str
    events: list[str]
    description: str
    active: bool
    created_at: UtcDateTime


class SubscriptionCreatedOut(SubscriptionOut):
    secret: str = Field(description="Clé HMAC des signatures, affichée cette seule fois : conservez-la")


class AttemptOut(BaseModel):
    at: UtcDateTime
    status_code: int | None
    error: str | None


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    event: str
    status: Literal["pending", "sending", "delivered", "failed"]
    attempts: int
    next_attempt_at: UtcDateTime
    last_error: str | None
    created_at: UtcDateTime
    delivered_at: UtcDateTime | None
    log: list[AttemptOut]


def _out(sub: WebhookSubscription) -> SubscriptionOut:
    return SubscriptionOut(id=sub.id, url=sub.url, events=sub.events, description=sub.description, active=sub.active,
                           created_at=sub.created_at)


@router.post("", status_code=201, response_model=SubscriptionCreatedOut,
             summary="Abonner une URL à des événements (chargé·e) ; le secret n'est affiché qu'ici")
def subscribe(body: SubscriptionIn, principal: Principal = Depends(OFFICER)):
    with session_scope() as db:
        sub = svc.subscribe(db, principal.actor, url=str(body.url), events=list(body.events),
                            description=body.description)
        return SubscriptionCreatedOut(**_out(sub).model_dump(), secret=sub.secret)


@router.get("", response_model=Page[SubscriptionOut], summary="Lister les abonnements (chargé·e ; paginé)")
def list_subscriptions(pager: Pager = Depends(), _principal: Principal = Depends(OFFICER)):
    with session_scope() as db:
        return pager.page(db.exec(select(WebhookSubscription)), _out, text=lambda db: (db.url, db.description))


@router.get("/{subscription_id}", response_model=SubscriptionOut, summary="Consulter un abonnement (chargé·e)")
def read(subscription_id: int, _principal: Principal = Depends(OFFICER)):
    with session_scope() as db:
        return _out(svc.get_subscription(db, subscription_id))


@router.delete("/{subscription_id}", response_model=SubscriptionOut,
               summary="Désactiver un abonnement (chargé·e) : plus aucun envoi")
def unsubscribe(subscription_id: int, principal: Principal = Depends(OFFICER)):
    with session_scope() as db:
        return _out(svc.unsubscribe(db, principal.actor, subscription_id))


@router.get("/{subscription_id}/deliveries", response_model=Page[DeliveryOut],
            summary="Journal des envois d'un abonnement, avec chaque tentative (chargé·e ; paginé)")
def deliveries(subscription_id: int, pager: Pager = Depends(), _principal: Principal = Depends(OFFICER)):
    def render(d: WebhookDelivery) -> DeliveryOut:
        attempts = db.exec(select(WebhookAttempt).where(WebhookAttempt.delivery_id == d.id)
                                .order_by(WebhookAttempt.id)).all()
        return DeliveryOut(
            id=d.id, event_id=d.event_id, event=d.event, status=d.status, attempts=d.attempts,
            next_attempt_at=d.next_attempt_at, last_error=d.last_error, created_at=d.created_at,
            delivered_at=d.delivered_at,
            log=[AttemptOut(at=a.at, status_code=a.status_code, error=a.error) for a in attempts],
        )

    with session_scope() as db:
        svc.get_subscription(db, subscription_id)
        return pager.page(svc.deliveries_of(db, subscription_id), render, key=lambda d: (-d.id,),
                          text=lambda d: (d.event, d.event_id))
