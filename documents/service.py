"""Idempotent generation of documents: render once, store once, record once."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from documents import render, signing
from certification.db import begin_savepoint
from documents.models import GeneratedDocument
from documents.storage import DocumentStore


def generated_path(entity_type: str, entity_id: int, kind: str, version: int) -> str:
    """Relative path (under the documents root) of a generated PDF."""
    return f"generated/{entity_type}/{entity_id}/{kind}-v{version}.pdf"


def get_document(db: Session, *, entity_type: str, entity_id: int, kind: str, version: int) -> GeneratedDocument | None:
    return db.exec(
        select(GeneratedDocument).where(
            GeneratedDocument.entity_type == entity_type,
            GeneratedDocument.entity_id == entity_id,
            GeneratedDocument.kind == kind,
            GeneratedDocument.version == version,
        )
    ).first()


def list_documents(db: Session, entity_type: str, entity_id: int) -> list[GeneratedDocument]:
    """Documents of an entity, oldest kind/version first."""
    return list(
        db.exec(
            select(GeneratedDocument)
            .where(GeneratedDocument.entity_type == entity_type, GeneratedDocument.entity_id == entity_id)
            .order_by(GeneratedDocument.created_at, GeneratedDocument.kind, GeneratedDocument.version)
        ).all()
    )


def _matches_file(store: DocumentStore, row: GeneratedDocument) -> bool:
    return store.digest(row.relative_path) == (row.sha256, row.size)


def ensure_document(db: Session, **key_and_content: Any) -> GeneratedDocument:
    """Return the document for this key, rendering and storing it only if needed (the arguments
    and the rules of :func:`ensure_document_row`, which also says whether its row is new)."""
    return ensure_document_row(db, **key_and_content)[0]


def ensure_document_row(
    db: Session,
    *,
    entity_type: str,
    entity_id: int,
    kind: str,
    version: int,
    template: str,
    context: Mapping[str, Any],
    filename: str,
    root: Path,
    pdf: bytes | None = None,
) -> tuple[GeneratedDocument, bool]:
    """The document for this key, rendering and storing it only if needed, and whether no row of
    this key existed when it was looked up (the caller records its creation then).

    * row present and file intact (same sha256): returned as is, nothing rendered;
    * row present but file missing or altered: re-rendered, rewritten, row updated;
    * no row: rendered, written under ``generated/<entity_type>/<entity_id>/<kind>-v<version>.pdf``
      and inserted. A concurrent insert of the same key is absorbed (SAVEPOINT, then
      re-select), and the row is aligned on the file actually left on disk.

    The kinds of ``settings.signed_document_kinds`` are sealed by the certifier (PAdES,
    :mod:`documents.signing`) before they are written, whichever flow asks for them.

    The caller owns the transaction: this function flushes but never commits.
    ``row.relative_path`` is relative to ``root``; the flows pass ``settings.data_dir``, so
    the same path serves downloads and outbox attachments.
    """
    store = DocumentStore(root)
    key = dict(entity_type=entity_type, entity_id=entity_id, kind=kind, version=version)
    row = get_document(db, **key)
    if row is not None and _matches_file(store, row):
        return row, False

    relative_path = generated_path(entity_type, entity_id, kind, version)
    if pdf is None:
        pdf = render.render_pdf(template, context)
        if signing.should_seal(kind):  # certificates, attestations, PV: sealed before they are stored
            pdf = signing.seal_pdf(pdf, kind=kind, context=context)
    sha256, size = store.write(relative_path, pdf)
    values = dict(filename=filename, relative_path=relative_path, sha256=sha256, size=size)

    if row is None:
        row = GeneratedDocument(**key, **values)
        try:
            with begin_savepoint(db):
                db.add(row)
        except IntegrityError:
            # Another worker recorded the same key meanwhile; both wrote the same path,
            # so record whatever file won the last rename.
            row = get_document(db, **key)
            if row is None:  # pragma: no cover - the conflicting row vanished
                raise
            if not _matches_file(store, row):
                row.sha256, row.size = store.digest(relative_path) or (sha256, size)
                db.add(row)
                db.flush()
        return row, True

    for field, value in values.items():
        setattr(row, field, value)
    db.add(row)
    db.flush()
    return row, False
