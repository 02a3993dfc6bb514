"""Database records of generated documents (one row per entity, kind and version)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from certification.clock import now as utcnow


class GeneratedDocument(SQLModel, table=True):
    """A PDF produced by the engine, e.g. the accusé de réception of an agrément request.

    The key ``(entity_type, entity_id, kind, version)`` makes generation idempotent:
    a retried flow step finds the row and the file instead of producing a second letter.
    """

    __tablename__ = "generated_documents"
    __table_args__ = (UniqueConstraint("entity_type", "entity_id", "kind", "version", name="uq_generated_document"),)

    id: int | None = Field(default=None, primary_key=True)
    entity_type: str = Field(max_length=40)
    entity_id: int
    kind: str = Field(max_length=60)
    version: int = 1
    filename: str = Field(max_length=255)
    relative_path: str = Field(max_length=500)
    sha256: str = Field(max_length=64)
    size: int
    content_type: str = Field(default="application/pdf", max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
