"""Retention of personal data: what the daily sweep deletes once its period (settings
``retention_days``) has passed. Each deletion is audited on the dossier it belonged to, with the
rule and counts only (never the deleted content). Certificates, the register of numbers, bloc
results and deliberations, the audit trail and what the export to the Caisse des Dépôts needs are
never deleted here.

| rule                   | what                                              | counted from                 |
|------------------------|---------------------------------------------------|------------------------------|
| ended_request_pieces   | pieces of refused / withdrawn / closed requests   | the request's last change    |
| evaluation_evidence    | evidence files of certified / withdrawn candidates| the candidate's last change  |
| sent_emails            | outbox e-mails sent (rows and their .eml copies)   | sending                      |
| login_records          | tokens (API and back-office sessions)             | expiry or revocation         |
| webhook_deliveries     | ended webhook deliveries and their attempts       | the event (notifications)    |
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, select

from certification.audit import SYSTEM, record_event
from certification.clock import as_utc, now
from certification.models import ApiToken
from certification.agrement.models import AgrementRequest, Piece
from certification.agrement.states import RequestState
from certification.candidates.models import Candidate, Evaluation
from certification.candidates.states import CandidateState
from certification.services.files import referenced_uploads
from certification.settings import get_settings

ENDED_REQUESTS = (RequestState.refused, RequestState.withdrawn, RequestState.closed)
ENDED_CANDIDATES = (CandidateState.certified, CandidateState.withdrawn)
ACTION = "retention_purge"


@dataclass
class RetentionResult:
    counts: dict[str, int] = field(default_factory=dict)
    unlinked: list[str] = field(default_factory=list)  # files deleted, relative to data_dir


def retention_cutoff(rule: str) -> datetime | None:
    """The moment before which what ``rule`` covers has outlived its period (settings
    ``retention_days``); None when the rule is disabled (absent or negative)."""
    days = get_settings().retention_days.get(rule)
    return None if days is None or days < 0 else now() - timedelta(days=days)


def _ended_before(db: Session, model: Any, states: Iterable[str], cutoff: datetime) -> Sequence[Any]:
    """The dossiers of ``model`` in one of the ended ``states`` whose last change is before ``cutoff``."""
    return db.exec(select(model).where(
        model.state.in_([str(s) for s in states]), model.updated_at <= cutoff)).all()


def _record_purge(db: Session, result: RetentionResult, rule: str, entity_type: str, entity_id: int,
                  reason: str, **counts: int) -> None:
    """Audit a purge on the dossier it belonged to (the rule and counts only, never the content)
    and add it to ``result``'s count for ``rule``."""
    record_event(db, entity_type=entity_type, entity_id=entity_id, action=ACTION, actor=SYSTEM,
                 reason=reason, data={"rule": rule, **counts})
    result.counts[rule] = result.counts.get(rule, 0) + sum(counts.values())


def _purge_request_pieces(db: Session, result: RetentionResult) -> set[str]:
    cutoff, paths = retention_cutoff("ended_request_pieces"), set[str]()
    if cutoff is None:
        return paths
    for request in _ended_before(db, AgrementRequest, ENDED_REQUESTS, cutoff):
        pieces = db.exec(select(Piece).where(Piece.request_id == request.id)).all()
        if not pieces:
            continue
        for piece in pieces:
            paths.add(piece.relative_path)
            db.delete(piece)
        _record_purge(db, result, "ended_request_pieces", AgrementRequest.__tablename__, request.id,
                      "Durée de conservation des pièces écoulée (demande close).", pieces=len(pieces))
    return paths


def _purge_evidence(db: Session, result: RetentionResult) -> set[str]:
    cutoff, paths = retention_cutoff("evaluation_evidence"), set[str]()
    if cutoff is None:
        return paths
    for candidate in _ended_before(db, Candidate, ENDED_CANDIDATES, cutoff):
        removed = 0
        for evaluation in db.exec(select(Evaluation).where(Evaluation.candidate_id == candidate.id)):
            if evaluation.files:
                paths.update(f["relative_path"] for f in evaluation.files if f.get("relative_path"))
                removed += len(evaluation.files)
                evaluation.files = []
                db.add(evaluation)
        if removed:
            _record_purge(db, result, "evaluation_evidence", Candidate.__tablename__, candidate.id,
                          "Durée de conservation des preuves d'évaluation écoulée.", files=removed)
    return paths


def _purge_login_records(db: Session, result: RetentionResult) -> None:
    cutoff = retention_cutoff("login_records")
    if cutoff is None:
        return
    tokens = db.exec(select(ApiToken).where(or_(ApiToken.revoked_at <= cutoff, ApiToken.expires_at <= cutoff))).all()
    per_user: dict[int, int] = {}
    for token in tokens:
        ended = min(t for t in (as_utc(token.revoked_at), as_utc(token.expires_at)) if t is not None)
        if ended <= cutoff:
            per_user[token.user_id] = per_user.get(token.user_id, 0) + 1
            db.delete(token)
    for user_id, count in per_user.items():
        _record_purge(db, result, "login_records", "users", user_id,
                      "Durée de conservation des traces de connexion écoulée.", tokens=count)


def apply_retention(db: Session, data_dir: Path | None = None) -> RetentionResult:
    """Delete what has outlived its period, in the caller's transaction; the files no row refers to
    any more are unlinked by :func:`unlink_unreferenced` after the commit."""
    result = RetentionResult()
    paths = _purge_request_pieces(db, result) | _purge_evidence(db, result)
    _purge_login_records(db, result)
    db.flush()
    result.unlinked = sorted(paths - referenced_uploads(db))
    return result


def unlink_unreferenced(paths: list[str], data_dir: Path | None = None) -> None:
    data_dir = data_dir or get_settings().data_dir
    for relative in paths:
        (data_dir / relative).unlink(missing_ok=True)
