"""Shared pieces of the routers: multipart uploads of PDF pieces, metadata parsing, downloads."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from starlette.exceptions import HTTPException as StarletteHTTPException
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.datastructures import UploadFile
from starlette.types import Message

from api.contract import multipart_body, pdf_files
from api.errors import PayloadTooLarge, UnsupportedMediaType
from api.schemas import DocumentOut
from certification.audit import Actor
from certification.db import session_scope
from certification.errors import NotFound, ValidationFailed
from certification.agrement.states import PIECE_KINDS
from certification.services.files import PieceIn
from certification.settings import get_settings
from documents.models import GeneratedDocument
from documents.service import list_documents
from documents.storage import check_upload, store_upload

MULTIPART_DOC = multipart_body(
    {
        "metadata": {"type": "string", "description": "JSON (voir SubmissionIn / ComplementsIn)"},
        **{kind: pdf_files(f"PDF : {label}") for kind, label in PIECE_KINDS.items()},
    }
)


async def read_multipart(
    request: Request, kinds: Mapping[str, str] = PIECE_KINDS
) -> tuple[str | None, list[tuple[str, str, bytes]]]:
    """Parse a multipart body: ``metadata`` (JSON text) and files whose field name is their kind."""
    texts, files = await read_form(request, kinds, text_fields=("metadata",))
    return texts.get("metadata"), files


async def read_form(
    request: Request,
    kinds: Mapping[str, str] = PIECE_KINDS,
    *,
    text_fields: Collection[str] | None = None,
    max_fields: int = 20,
    limit: int | None = None,
    skip_empty: bool = False,
) -> tuple[dict[str, str], list[tuple[str, str, bytes]]]:
    """Parse a form (multipart or urlencoded), reading at most ``limit`` bytes: its text fields
    (only ``text_fields`` when given, the first value of each) and its files, whose field name
    is their kind. ``skip_empty``: ignore a file input left empty by a browser (no name, no content)."""
    settings = get_settings()
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise UnsupportedMediaType("Envoyez un formulaire multipart/form-data (métadonnées JSON + PDF).")
    if limit is None:
        limit = settings.upload_max_bytes * settings.upload_max_files + 1_000_000
    too_large = PayloadTooLarge(f"Envoi trop volumineux (au plus {max(limit // 1_000_000, 1)} Mo).")
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise too_large
    try:
        form = await _limited(request, limit, too_large).form(
            max_files=settings.upload_max_files, max_fields=max_fields
        )
    except StarletteHTTPException:  # Starlette's multipart limits, worded in English
        raise ValidationFailed(
            f"Formulaire trop chargé : au plus {settings.upload_max_files} fichiers et {max_fields} champs.",
            code="too_many_parts",
        ) from None
    try:
        texts: dict[str, str] = {}
        files: list[tuple[str, str, bytes]] = []
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name not in kinds:
                    raise ValidationFailed(
                        f"Champ de fichier inconnu « {name} ». Champs acceptés : {', '.join(kinds)}.",
                        code="unknown_piece_kind",
                    )
                if any(unicodedata.category(ch) == "Cc" for ch in value.filename or ""):
                    raise ValidationFailed(
                        "Un nom de fichier contient des caractères de contrôle.", code="invalid_filename"
                    )
                data = await value.read(settings.upload_max_bytes + 1)
                if skip_empty and not value.filename and not data:
                    continue
                files.append((name, value.filename or "", data))
            elif text_fields is None or name in text_fields:
                texts.setdefault(name, value)
            else:
                raise ValidationFailed(f"Champ inconnu « {name} ».", code="unknown_field")
        return texts, files
    finally:
        await form.close()


def _limited(request: Request, limit: int, error: Exception) -> Request:
    """The request, reading its body at most ``limit`` bytes: a body sent without Content-Length
    (chunked) or longer than announced is cut off there instead of being spooled to disk whole."""
    receive, received = request.receive, 0

    async def limited_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise error
        return message

    return Request(request.scope, limited_receive)


def parse_metadata(model, raw: str | None):
    try:
        return model.model_validate_json(raw or "{}")
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("metadata", *e.get("loc", ()))} for e in exc.errors(include_url=False)]
        ) from None


M = TypeVar("M", bound=BaseModel)


async def dossier_upload(
    request: Request,
    get: Callable[[Session, Actor, int], Any],
    actor: Actor,
    dossier_id: int,
    model: type[M],
    kinds: Mapping[str, str] = PIECE_KINDS,
) -> tuple[M, list[tuple[str, str, bytes]]]:
    """The metadata (a ``model``) and the files (their kinds among ``kinds``) of a multipart upload to
    a dossier: ``get(db, actor, dossier_id)`` answers 404 for a dossier the actor may not see before
    anything is read or stored."""
    with session_scope() as db:
        get(db, actor, dossier_id)
    raw, files = await read_multipart(request, kinds)
    return parse_metadata(model, raw), files


def store_pieces(files: list[tuple[str, str, bytes]]) -> list[PieceIn]:
    settings = get_settings()
    for _kind, filename, data in files:  # refuse the whole upload before storing any of its files
        check_upload(data, filename, allowed=("application/pdf",), max_bytes=settings.upload_max_bytes)
    pieces = []
    for kind, filename, data in files:
        stored = store_upload(
            data,
            filename,
            allowed=("application/pdf",),
            max_bytes=settings.upload_max_bytes,
            root=settings.uploads_dir,
        )
        relative = (settings.uploads_dir / stored.relative_path).relative_to(settings.data_dir)
        pieces.append(
            PieceIn(
                kind=kind,
                original_name=stored.original_name,
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                relative_path=str(relative),
            )
        )
    return pieces


def document_out(base_url: str, doc: GeneratedDocument) -> DocumentOut:
    """A generated document, downloadable at ``<base_url>/documents/<id>``."""
    return DocumentOut(
        id=doc.id,
        kind=doc.kind,
        version=doc.version,
        filename=doc.filename,
        sha256=doc.sha256,
        size=doc.size,
        created_at=doc.created_at,
        url=f"{base_url}/documents/{doc.id}",
    )


def documents_out(db: Session, base_url: str, entity_type: str, entity_id: int) -> list[DocumentOut]:
    """The documents generated for a dossier, each downloadable at ``<base_url>/documents/<id>``."""
    return [document_out(base_url, doc) for doc in list_documents(db, entity_type, entity_id)]


def owned_document(db: Session, entity_type: str, entity_id: int, document_id: int) -> GeneratedDocument:
    """Generated document ``document_id`` of the dossier ``(entity_type, entity_id)``; 404 otherwise."""
    doc = db.get(GeneratedDocument, document_id)
    if doc is None or doc.entity_type != entity_type or doc.entity_id != entity_id:
        raise NotFound("Document introuvable.", code="document_not_found")
    return doc


def document_response(doc: GeneratedDocument) -> FileResponse:
    """The file of a generated document, from the data directory."""
    return file_response(get_settings().data_dir / doc.relative_path, doc.filename, doc.content_type)


def uploaded_file(
    files: Iterable[Any], file_id: int, message: str = "Fichier introuvable.", code: str | None = None
) -> Any:
    """The uploaded file ``file_id`` among a dossier's ``files`` (rows with the stored-file columns),
    404 with ``message`` when it is not one of them."""
    found = next((f for f in files if f.id == file_id), None)
    if found is None:
        raise NotFound(message, code=code)
    return found


def stored_path(stored: Any) -> tuple[Path, str, str]:
    """Path, name and type of an uploaded file: a row with the stored-file columns
    (``relative_path`` under the data directory, ``original_name``, ``content_type``)."""
    return get_settings().data_dir / stored.relative_path, stored.original_name, stored.content_type


def file_response(path: Path, filename: str, media_type: str) -> FileResponse:
    if not path.is_file():
        raise NotFound("Fichier introuvable sur le stockage.", code="file_missing")
    return FileResponse(path, media_type=media_type, filename=filename)
