"""Idempotent side effects of a flow step: letters (PDF) and e-mails (outbox).

A document is keyed by (entity, kind, version) and an e-mail by its dedupe key
``<entity_type>:<id>:<name>``: producing either twice is a no-op, so a flow can be re-run
from the top at any time. Each new document or e-mail is also written to the entity's
audit trail (``document_generated`` / ``mail_queued``) in the caller's transaction.

The owed effects a transition recorded are fulfilled once each by ``fulfil_owed``; a run reports
what it did in a ``RunOutcome``, and a sweep finds what to run with ``open_or_owed`` (and, for
e-mails owed without an owed row, ``mails_still_owed``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from certification.audit import SYSTEM, record_event
from certification.clock import now
from certification.db import session_scope
from certification.effects import OwedEffect, dossiers_owed, owed_ids
from certification.settings import get_settings
from documents.models import GeneratedDocument
from documents.service import ensure_document_row
from notifications.models import OutboxMessage
from notifications.outbox import document_attachment, enqueue


def mail_key(entity_type: str, entity_id: int, name: str) -> str:
    return f"{entity_type}:{entity_id}:{name}"


@dataclass
class Effects:
    """Side effects of one entity within one transaction; records what it newly produced."""

    db: Session
    entity_type: str
    entity_id: int
    reference: str
    documents: list[str] = field(default_factory=list)
    mails: list[str] = field(default_factory=list)

    def letter(
        self,
        context: Mapping[str, Any],
        kind: str,
        version: int = 1,
        *,
        pdf: bytes | None = None,
        template: str | None = None,
    ) -> GeneratedDocument:
        """The PDF ``kind`` (template ``<kind>.html`` unless ``template`` names it, e.g. in a process's
        folder ``controle/``), rendered once per version (``pdf``: already rendered from the same
        template and context, e.g. by ``documents.pool``)."""
        doc, new = ensure_document_row(  # new: no row of this key when it looked it up
            self.db,
            entity_type=self.entity_type,
            entity_id=self.entity_id,
            kind=kind,
            version=version,
            template=template or f"{kind}.html",
            context=context,
            filename=f"{self.reference}-{kind}-v{version}.pdf",
            root=get_settings().data_dir,
            pdf=pdf,
        )
        if new:
            self._event(
                "document_generated",
                {
                    "kind": kind,
                    "version": version,
                    "sha256": doc.sha256,
                    "path": doc.relative_path,
                },
            )
            self.documents.append(f"{kind}-v{version}")
        return doc

    def sent(self, name: str) -> bool:
        key = mail_key(self.entity_type, self.entity_id, name)
        return self.db.exec(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)).first() is not None

    def mail(
        self,
        context: Mapping[str, Any],
        name: str,
        template: str,
        to: Iterable[str],
        *,
        cc: Iterable[str] = (),
        attach: Iterable[GeneratedDocument | Mapping[str, str]] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Queue e-mail ``name`` once (recipients deduplicated, empty addresses dropped)."""
        if self.sent(name):
            return
        recipients = [a for a in dict.fromkeys(to) if a]
        attachments = [document_attachment(a) if isinstance(a, GeneratedDocument) else dict(a) for a in attach]
        key = mail_key(self.entity_type, self.entity_id, name)
        enqueue(
            self.db,
            dedupe_key=key,
            to=recipients,
            cc=[a for a in dict.fromkeys(cc) if a and a not in recipients],
            template=template,
            context={"recipient_name": "", **context, **(extra or {})},
            attachments=attachments,
            entity_type=self.entity_type,
            entity_id=self.entity_id,
            looked_up=True,  # self.sent(name) just did
        )
        self._event("mail_queued", {"template": template, "to": recipients, "key": key})
        self.mails.append(name)

    def _event(self, action: str, data: dict) -> None:
        record_event(
            self.db,
            entity_type=self.entity_type,
            entity_id=self.entity_id,
            action=action,
            actor=SYSTEM,
            data=data,
        )


# --- owed effects ---------------------------------------------------------------------------

Handler = Callable[[Session, OwedEffect], Iterable["Effects"]]


@dataclass(kw_only=True)
class RunOutcome:
    """What one run of a dossier's flow did, and where the dossier stands after it. A process's
    outcome adds the dossier's id first (``VaeOutcome(dossier_id)``)."""

    state: str = ""
    transitions: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    mails: list[str] = field(default_factory=list)
    waiting_for: str | None = None


@dataclass
class Produced:
    """What a run newly produced: document and e-mail names."""

    documents: list[str] = field(default_factory=list)
    mails: list[str] = field(default_factory=list)

    def add_to(self, outcome: Any) -> None:
        """Count these in a flow's ``outcome`` (its ``documents`` and ``mails`` lists)."""
        outcome.documents += self.documents
        outcome.mails += self.mails


def fulfil_owed(engine: Engine | None, process: str, dossier_id: int, handle: Handler) -> Produced:
    """Fulfil every effect the dossier owes, oldest first, each once.

    Each owed row is handled in its own transaction that also marks it done, so a run killed
    anywhere resumes at the first row not done and redoes nothing (documents and e-mails are
    keyed besides). The row is locked while handled (PostgreSQL), so two runs of one dossier
    on two workers never handle it twice. A failure is recorded on the row (attempts, last
    error) and raised: the run fails, and the next run or the sweep tries again.
    """
    produced = Produced()
    with session_scope(engine) as db:
        ids = owed_ids(db, process, dossier_id)
    for effect_id in ids:
        try:
            with session_scope(engine) as db:
                effect = db.get(OwedEffect, effect_id, with_for_update=True)
                if effect is None or effect.done_at is not None:
                    continue
                documents, mails = [], []
                for fx in handle(db, effect):
                    documents += fx.documents
                    mails += fx.mails
                effect.done_at = now()
                effect.produced = documents + mails
                effect.attempts += 1
                effect.last_error = None
                db.add(effect)
            produced.documents += documents
            produced.mails += mails
        except Exception as exc:
            with session_scope(engine) as db:
                effect = db.get(OwedEffect, effect_id)
                if effect is not None and effect.done_at is None:
                    effect.attempts += 1
                    effect.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    db.add(effect)
            raise
    return produced


@dataclass(frozen=True)
class Calendar:
    """How the flow of a process whose dossiers also move by the calendar brings one up to date:
    fulfil what its steps owe, queue the reminders due today, fire the one system transition due
    (a deadline passed), and again while one fires."""

    process: str
    model: Any  # the dossier's table
    label: str  # the dossier as an error names it: « contrôle 12 does not exist »
    fulfil: Handler
    remind: Callable[[Session, Any, Any], None]  # (db, dossier, outcome): the reminders due, counted
    fire: Callable[[Session, Any], str | None]  # the system transition it fired, if one was due

    def advance(self, engine: Engine | None, dossier_id: int, out: RunOutcome, *, rounds: int) -> Any:
        """Bring dossier ``dossier_id`` up to date, ``rounds`` transitions at most, counted in ``out``
        (with the state it ends in); the dossier."""
        dossier: Any = None
        for _ in range(rounds):
            fulfil_owed(engine, self.process, dossier_id, self.fulfil).add_to(out)
            with session_scope(engine) as db:
                dossier = db.get(self.model, dossier_id)
                if dossier is None:
                    raise LookupError(f"{self.label} {dossier_id} does not exist")
                self.remind(db, dossier, out)
            with session_scope(engine) as db:
                dossier = db.get(self.model, dossier_id)
                fired = self.fire(db, dossier)
            if not fired:
                break
            out.transitions.append(fired)
        out.state = dossier.state
        return dossier


def mails_still_owed(db: Session, owed: Mapping[str, int]) -> set[int]:
    """The entities owed an e-mail not queued yet, of ``owed`` (its dedupe key -> the entity's id)."""
    if not owed:
        return set()
    queued = set(db.exec(select(OutboxMessage.dedupe_key).where(col(OutboxMessage.dedupe_key).in_(list(owed)))))
    return {entity_id for key, entity_id in owed.items() if key not in queued}


def open_or_owed(engine: Engine | None, process: str, model: Any, open_states: Iterable[str]) -> list[int]:
    """What a sweep runs: the dossiers of ``model`` in one of ``open_states`` (deadlines, reminders)
    and those with effects of ``process`` still owed (lost runs), in id order."""
    with session_scope(engine) as db:
        ids = set(db.exec(select(model.id).where(model.state.in_(list(open_states)))))
        ids |= set(dossiers_owed(db, process))
    return sorted(ids)
