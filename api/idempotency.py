"""Idempotent POSTs: a request repeated with the same ``Idempotency-Key`` replays the first answer.

The record is written in the same transaction as the domain change it answers, so either both
exist or neither does; two concurrent requests with one key collide on the unique constraint,
the loser rolls back and replays the winner's answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import BackgroundTasks, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from certification.db import session_scope
from certification.errors import ValidationFailed
from certification.models import IdempotencyRecord


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(jsonable_encoder(parts), sort_keys=True).encode()).hexdigest()


def _replay(session: Session, user_id: int, key: str, path: str, digest: str) -> JSONResponse | None:
    record = session.exec(
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
    """Run ``work(session) -> (status, body)`` once per (user, key) and answer JSON."""
    try:
        with session_scope() as session:
            if key and (replayed := _replay(session, user_id, key, path, digest)):
                return replayed
            status, body = work(session)
            body = jsonable_encoder(body)
            if key:
                session.add(
                    IdempotencyRecord(
                        user_id=user_id, key=key, method=method, path=path, request_hash=digest,
                        status_code=status, response_body=body,
                    )
                )
                session.flush()
    except IntegrityError:
        if not key:
            raise
        with session_scope() as session:
            replayed = _replay(session, user_id, key, path, digest)
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
    on_change: Callable[[int], Awaitable[None]],
    status: int = 200,
) -> JSONResponse:
    """Apply ``action(session) -> entity`` idempotently, answer ``render(session, entity)`` and,
    once committed, trigger ``on_change(entity.id)`` (the entity's flow) in the background."""
    touched: list[int] = []

    def work(session: Session):
        entity = action(session)
        touched.append(entity.id)
        return status, render(session, entity)

    response = run_idempotent(
        user_id=user_id, key=key, method=http.method, path=http.url.path,
        digest=fingerprint(*digest_parts), work=work,
    )
    for entity_id in touched:
        background.add_task(on_change, entity_id)
    return response
