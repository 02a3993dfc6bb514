"""Idempotent side effects of a flow step: letters (PDF) and e-mails (outbox).

A document is keyed by (entity, kind, version) and an e-mail by its dedupe key
``<entity_type>:<id>:<name>``: producing either twice is a no-op, so a flow can be re-run
from the top at any time. Each new document or e-mail is also written to the entity's
audit trail (``document_generated`` / ``mail_queued``) in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from certification.audit import SYSTEM, record_event
from certification.settings import get_settings
from documents.models import GeneratedDocument
from documents.service import ensure_document
from notifications.models import OutboxMessage
from notifications.outbox import document_attachment, enqueue


def mail_key(entity_type: str, entity_id: int, name: str) -> str:
    return f"{entity_type}:{entity_id}:{name}"


@dataclass
class Effects:
    """Side effects of one entity within one transaction; records what it newly produced."""

    session: Session
    entity_type: str
    entity_id: int
    reference: str
    documents: list[str] = field(default_factory=list)
    mails: list[str] = field(default_factory=list)

    def letter(self, context: Mapping[str, Any], kind: str, version: int = 1) -> GeneratedDocument:
        """The PDF ``kind`` (template ``<kind>.html``), rendered once per version."""
        key = (
            GeneratedDocument.entity_type == self.entity_type, GeneratedDocument.entity_id == self.entity_id,
            GeneratedDocument.kind == kind, GeneratedDocument.version == version,
        )
        existed = self.session.exec(select(GeneratedDocument.id).where(*key)).first() is not None
        doc = ensure_document(
            self.session,
            entity_type=self.entity_type,
            entity_id=self.entity_id,
            kind=kind,
            version=version,
            template=f"{kind}.html",
            context=context,
            filename=f"{self.reference}-{kind}-v{version}.pdf",
            root=get_settings().data_dir,
        )
        if not existed:
            self._event("document_generated", {
                "kind": kind, "version": version, "sha256": doc.sha256, "path": doc.relative_path,
            })
            self.documents.append(f"{kind}-v{version}")
        return doc

    def sent(self, name: str) -> bool:
        key = mail_key(self.entity_type, self.entity_id, name)
        return self.session.exec(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)).first() is not None

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
        attachments = [
            document_attachment(a) if isinstance(a, GeneratedDocument) else dict(a) for a in attach
        ]
        key = mail_key(self.entity_type, self.entity_id, name)
        enqueue(
            self.session,
            dedupe_key=key,
            to=recipients,
            cc=[a for a in dict.fromkeys(cc) if a and a not in recipients],
            template=template,
            context={"recipient_name": "", **context, **(extra or {})},
            attachments=attachments,
            entity_type=self.entity_type,
            entity_id=self.entity_id,
        )
        self._event("mail_queued", {"template": template, "to": recipients, "key": key})
        self.mails.append(name)

    def _event(self, action: str, data: dict) -> None:
        record_event(
            self.session, entity_type=self.entity_type, entity_id=self.entity_id, action=action,
            actor=SYSTEM, data=data,
        )
