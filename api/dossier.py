"""What every dossier read carries: the progress of the engine's work on it (effects still owed),
and an ``ETag`` so that clients poll cheaply with ``If-None-Match`` (answered ``304``)."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from fastapi import Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.types import UtcDateTime
from certification.effects import pending_effects


class PendingEffectOut(BaseModel):
    kind: Literal["step", "mail"] = Field(
        description="« step » : une étape dont les documents et courriels "
        "restent à produire ; « mail » : un courriel pas encore remis"
    )
    name: str
    status: str = Field(description="owed, failed (step) ; pending, sending, failed (mail)")
    created_at: UtcDateTime
    attempts: int = 0
    last_error: str | None = None


class LastRunOut(BaseModel):
    state: str = Field(description="running, completed, failed, crashed")
    started_at: UtcDateTime
    finished_at: UtcDateTime | None = None
    error: str | None = None


class ProgressOut(BaseModel):
    """The engine's work still owed to the dossier: ``idle`` once nothing is pending."""

    pending: list[PendingEffectOut] = Field(
        description="Étapes dont les documents et courriels restent à produire, courriels pas encore remis"
    )
    idle: bool = Field(description="Vrai quand le moteur n'a plus rien à produire pour ce dossier")
    last_run: LastRunOut | None = Field(default=None, description="Dernière exécution du traitement du dossier")


def _pending_mails(db: Session, entity_type: str, entity_id: int) -> list[PendingEffectOut]:
    from sqlmodel import select

    from notifications.models import OutboxMessage

    rows = db.exec(
        select(OutboxMessage)
        .where(
            OutboxMessage.entity_type == entity_type,
            OutboxMessage.entity_id == entity_id,
            OutboxMessage.status != "sent",
        )
        .order_by(OutboxMessage.id)
    )
    return [
        PendingEffectOut(
            kind="mail",
            name=m.dedupe_key.split(":", 2)[-1],
            status=m.status,
            created_at=m.created_at,
            attempts=m.attempts,
            last_error=m.last_error,
        )
        for m in rows
    ]


def _last_run(db: Session, entity_type: str, entity_id: int) -> LastRunOut | None:
    from sqlmodel import select

    from certification.effects import OWED_STEPS
    from certification.models_monitoring import FlowRunRecord

    owner = OWED_STEPS.get(entity_type)
    if owner is None:
        return None
    run = db.exec(
        select(FlowRunRecord)
        .where(
            FlowRunRecord.process == owner.process,
            FlowRunRecord.entity_id == entity_id,
        )
        .order_by(FlowRunRecord.id.desc())
        .limit(1)
    ).first()
    if run is None:
        return None
    return LastRunOut(state=run.state, started_at=run.started_at, finished_at=run.finished_at, error=run.error)


def progress_of(db: Session, entity_type: str, entity_id: int) -> ProgressOut:
    pending = [PendingEffectOut(**effect) for effect in pending_effects(db, entity_type, entity_id)]
    pending += _pending_mails(db, entity_type, entity_id)
    return ProgressOut(pending=pending, idle=not pending, last_run=_last_run(db, entity_type, entity_id))


# A dossier read's responses: 200 with an ETag, 304 when the client's copy is current.
CONDITIONAL = {
    200: {
        "headers": {
            "ETag": {"description": "Version de la représentation (pour If-None-Match)", "schema": {"type": "string"}}
        }
    },
    304: {"description": "Non modifié : la copie du client (If-None-Match) est à jour"},
}


class Conditional:
    """Dependency of the dossier reads: ``return conditional.respond(model)``."""

    def __init__(
        self,
        request: Request,
        if_none_match: str | None = Header(
            default=None,
            alias="If-None-Match",
            max_length=1000,
            description="ETag d'une réponse précédente : 304 sans corps si rien n'a changé",
        ),
    ):
        self.request, self.if_none_match = request, if_none_match

    def respond(self, model: BaseModel) -> Response:
        body: Any = model.model_dump(mode="json")
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
        etag = f'"{hashlib.sha256(raw).hexdigest()[:32]}"'
        tags = {t.strip().removeprefix("W/") for t in (self.if_none_match or "").split(",")}
        if etag in tags or "*" in tags:
            return Response(status_code=304, headers={"ETag": etag})
        return JSONResponse(body, headers={"ETag": etag})
