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
    kind: Literal["document", "mail", "timer"]
    name: str
    status: str
    created_at: UtcDateTime


class ProgressOut(BaseModel):
    """The engine's work still owed to the dossier: ``idle`` once nothing is pending."""

    pending: list[PendingEffectOut] = Field(description="Documents, courriels et échéances encore dus")
    idle: bool = Field(description="Vrai quand le moteur n'a plus rien à produire pour ce dossier")


def progress_of(session: Session, entity_type: str, entity_id: int) -> ProgressOut:
    pending = [PendingEffectOut(**effect) for effect in pending_effects(session, entity_type, entity_id)]
    return ProgressOut(pending=pending, idle=not pending)


# A dossier read's responses: 200 with an ETag, 304 when the client's copy is current.
CONDITIONAL = {
    200: {"headers": {"ETag": {"description": "Version de la représentation (pour If-None-Match)",
                               "schema": {"type": "string"}}}},
    304: {"description": "Non modifié : la copie du client (If-None-Match) est à jour"},
}


class Conditional:
    """Dependency of the dossier reads: ``return conditional.respond(model)``."""

    def __init__(self, request: Request, if_none_match: str | None = Header(
            default=None, alias="If-None-Match", max_length=1000,
            description="ETag d'une réponse précédente : 304 sans corps si rien n'a changé")):
        self.request, self.if_none_match = request, if_none_match

    def respond(self, model: BaseModel) -> Response:
        body: Any = model.model_dump(mode="json")
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
        etag = f'"{hashlib.sha256(raw).hexdigest()[:32]}"'
        tags = {t.strip().removeprefix("W/") for t in (self.if_none_match or "").split(",")}
        if etag in tags or "*" in tags:
            return Response(status_code=304, headers={"ETag": etag})
        return JSONResponse(body, headers={"ETag": etag})
