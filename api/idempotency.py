"""Idempotent POSTs: a request repeated with the same ``Idempotency-Key`` replays the first answer.

The record is written in the same transaction as the domain change it answers, so either both
exist or neither does; two concurrent requests with one key collide on the unique constraint,
the loser rolls back and replays the winner's answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from api.deps import Principal, idempotency_key
from certification.db import session_scope
from certification.errors import ValidationFailed
from certification.models import IdempotencyRecord
from flows import dispatch


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(jsonable_encoder(parts), sort_keys=True).encode()).hexdigest()


def _replay(db: Session, user_id: int, key: str, path: str, digest: str) -> JSONResponse | None:
    record = db.exec(
        select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
    ).first()
    if record is None:
        return None
    if record.request_hash != digest or record.path != path:
        raise ValidationFailed(
            "Cette clé d'idempotence a déjà servi pour une autre requête.", code="idempotency_key_reused"
        )
    return JSONResponse(record.response_body, status_code=record.status_code, headers={"Idempotent-Replayed": "true"})


def run_idempotent(
    *,
    user_id: int,
    key: str | None,
    method: str,
    path: str,
    digest: str,
    work: Callable[[Session], tuple[int, Any]],
) -> JSONResponse:
    """Run ``work(db) -> (status, body)`` once per (user, key) and answer JSON."""
    try:
        with session_scope() as db:
            if key and (replayed := _replay(db, user_id, key, path, digest)):
                return replayed
            status, body = work(db)
            body = jsonable_encoder(body)
            if key:
                request = {"user_id": user_id, "key": key, "method": method, "path": path, "request_hash": digest}
                db.add(IdempotencyRecord(**request, status_code=status, response_body=body))
                db.flush()
    except IntegrityError:
        if not key:
            raise
        with session_scope() as db:
            replayed = _replay(db, user_id, key, path, digest)
        if replayed is None:
            raise
        return replayed
    return JSONResponse(body, status_code=status)


def respond(
    http: Request,
    background: BackgroundTasks,
    *,
    user_id: int,
    key: str | None,
    digest_parts: tuple,
    action: Callable[[Session], Any],
    render: Callable[[Session, Any], Any],
    on_change: Callable[[int], Awaitable[None]] | None,
    status: int = 200,
    flow_of: Callable[[Any], int] = lambda entity: entity.id,
) -> JSONResponse:
    """Apply ``action(db) -> entity`` idempotently, answer ``render(db, entity)`` and,
    once committed, trigger ``on_change(flow_of(entity))`` (the flow of the entity, by default
    its own) in the background."""
    touched: list[int] = []

    def work(db: Session):
        entity = action(db)
        touched.append(flow_of(entity))
        return status, render(db, entity)

    response = run_idempotent(
        user_id=user_id,
        key=key,
        method=http.method,
        path=http.url.path,
        digest=fingerprint(*digest_parts),
        work=work,
    )
    if on_change is not None:
        for entity_id in touched:
            background.add_task(on_change, entity_id)
    return response


@dataclass(frozen=True)
class ActionCall:
    """What every POST action endpoint receives besides its body: the request, its background
    tasks and the client's ``Idempotency-Key``."""

    http: Request
    background: BackgroundTasks
    key: str | None


def _action_call(http: Request, background: BackgroundTasks, key: str | None = Depends(idempotency_key)) -> ActionCall:
    return ActionCall(http, background, key)


Call = Annotated[ActionCall, Depends(_action_call)]


class Responder:
    """The answer of a router's action endpoints: ``responder(call, principal, digest_parts, action)``
    applies ``action(db) -> dossier`` idempotently, answers ``render(db, principal, dossier)``
    and then runs the dossier's flow: the function ``flow`` of :mod:`flows.dispatch` (looked up at
    each call), for ``flow_of(dossier)`` (by default the dossier's id); ``None`` runs no flow."""

    def __init__(
        self,
        render: Callable[[Session, Principal, Any], Any],
        flow: str | None,
        flow_of: Callable[[Any], int] = lambda entity: entity.id,
    ) -> None:
        self.render, self.flow, self.flow_of = render, flow, flow_of

    def __call__(
        self,
        call: ActionCall,
        principal: Principal,
        digest_parts: tuple,
        action: Callable[[Session], Any],
        status: int = 200,
    ) -> JSONResponse:
        return respond(
            call.http,
            call.background,
            user_id=principal.actor.user_id,
            key=call.key,
            digest_parts=digest_parts,
            action=action,
            render=lambda db, dossier: self.render(db, principal, dossier),
            on_change=getattr(dispatch, self.flow) if self.flow else None,
            status=status,
            flow_of=self.flow_of,
        )
