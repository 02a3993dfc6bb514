"""Tables of the export of certified holders to the Caisse des Dépôts (SI CPF « accrochage »).

One :class:`CpfRecord` per certificate to declare (its technical id is the certificate number),
followed through pending -> sent -> accepted | rejected -> re-sent; one :class:`CpfExportBatch`
per XML flux generated (one certification per flux), and one :class:`CpfBatchItem` per record
carried by a batch, which keeps what was sent each time and what the processing report said.

Imported at the bottom of :mod:`certification.models`, so that every import of the models
registers these tables too (the table names are unchanged: ``cpf_export_batches``,
``cpf_records``, ``cpf_batch_items``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field

from certification.types import Row, optional_timestamp_field, timestamp_field

__all__ = ["CpfBatchItem", "CpfExportBatch", "CpfRecord"]


class CpfExportBatch(Row, table=True):
    """One XML flux (one certification) written under ``<data_dir>/exports/cpf/``."""

    __tablename__ = "cpf_export_batches"

    reference: str = Field(max_length=50, unique=True, index=True)  # the flux's idFlux
    certification_id: int = Field(foreign_key="certifications.id", index=True)
    registry_type: str = Field(max_length=10)  # RNCP | RS
    registry_code: str = Field(max_length=40)
    state: str = Field(max_length=20, index=True)  # generated | report_imported
    record_count: int = 0
    resent_count: int = 0  # of record_count, records re-sent after a rejection
    filename: str = Field(max_length=200)
    relative_path: str = Field(max_length=300)  # under data_dir
    sha256: str = Field(max_length=64)
    size: int = 0
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = timestamp_field()
    deposited_on: date | None = None  # on the Caisse des Dépôts platform, as the officer declared it
    report_imported_at: datetime | None = optional_timestamp_field()
    report_filename: str | None = Field(default=None, max_length=200)
    report_relative_path: str | None = Field(default=None, max_length=300)
    report_sha256: str | None = Field(default=None, max_length=64)
    accepted_count: int = 0
    rejected_count: int = 0
    updated_at: datetime = timestamp_field()


class CpfRecord(Row, table=True):
    """A certificate to declare to the SI CPF, and where its declaration stands."""

    __tablename__ = "cpf_records"

    certificate_id: int = Field(foreign_key="certificates.id", unique=True)
    certification_id: int = Field(foreign_key="certifications.id", index=True)
    technical_id: str = Field(max_length=40, unique=True, index=True)  # the certificate number
    state: str = Field(max_length=20, index=True)  # pending | sent | accepted | rejected | resent | cancelled
    version: int = 1
    issued_on: date
    due_on: date = Field(index=True)  # issued_on + 3 months
    last_batch_id: int | None = Field(default=None, foreign_key="cpf_export_batches.id")
    sent_count: int = 0
    first_sent_at: datetime | None = optional_timestamp_field()
    last_sent_at: datetime | None = optional_timestamp_field()
    payload_sha256: str | None = Field(default=None, max_length=64)  # of the passage last sent
    accepted_at: datetime | None = optional_timestamp_field()
    rejected_at: datetime | None = optional_timestamp_field()
    error_message: str | None = Field(default=None, sa_column=Column(Text))
    resend_requested: bool = False  # the officer asks to re-send a rejected record as it is
    held_reason: str | None = Field(default=None, sa_column=Column(Text))  # owed but held back: data to fix
    held_since: datetime | None = optional_timestamp_field()
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class CpfBatchItem(Row, table=True):
    """A record carried by a batch: the passage sent, and the outcome the processing report gave."""

    __tablename__ = "cpf_batch_items"
    __table_args__ = (UniqueConstraint("batch_id", "record_id", name="uq_cpf_batch_item"),)

    batch_id: int = Field(foreign_key="cpf_export_batches.id", index=True)
    record_id: int = Field(foreign_key="cpf_records.id", index=True)
    technical_id: str = Field(max_length=40)
    resend: bool = False
    payload_sha256: str = Field(max_length=64)
    outcome: str | None = Field(default=None, max_length=20)  # accepted | rejected
    message: str | None = Field(default=None, sa_column=Column(Text))
    reported_at: datetime | None = optional_timestamp_field()
