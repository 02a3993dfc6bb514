"""Open Badges 3.0 credentials issued for certificates and the blocs they carry.

One row per credential: the certificate's version it was issued for, the bloc (None for the
certification itself), the signed VC-JWT, and its index in the revocation status list. Issued
exactly once per certificate version and achievement (unique constraint); a revoked row keeps
its JWT (the status list says it is revoked).

Imported at the bottom of :mod:`certification.models`.
"""

from __future__ import annotations

from datetime import datetime
from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field

from certification.clock import now
from certification.types import Row, UTCDateTime

__all__ = ["Credential"]


class Credential(Row, table=True):
    __tablename__ = "credentials"
    __table_args__ = (
        UniqueConstraint("certificate_id", "certificate_version", "achievement_key", name="uq_credential_issue"),
    )

    certificate_id: int = Field(foreign_key="certificates.id", index=True)
    certificate_version: int
    bloc_code: str | None = Field(default=None, max_length=20)  # None: the certification itself
    achievement_key: str = Field(max_length=40)  # the bloc code, or the certification code
    credential_uuid: str = Field(max_length=36, unique=True)  # urn:uuid:<…>, the credential's id
    status_index: int = Field(unique=True)  # bit of the revocation status list
    kid: str = Field(max_length=64)
    jwt: str = Field(sa_column=Column(Text, nullable=False))
    issued_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=20)  # revoked | corrected | superseded
