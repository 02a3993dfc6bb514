"""Tables of the jury session and of the issuance of certificates.

Imported at the bottom of :mod:`certification.models`, so that every import of the models
registers these tables too (the table names are unchanged: ``jury_sessions``, ``jury_members``,
``jury_candidates``, ``deliberations``, ``bloc_acquisitions``, ``certificates``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field

from certification.types import Row, Dossier, UTCDateTime, optional_timestamp_field, timestamp_field

__all__ = ["BlocAcquisition", "Certificate", "Deliberation", "JuryCandidate", "JuryMember", "JurySession"]


class JurySession(Dossier, table=True):
    __tablename__ = "jury_sessions"

    certification_id: int = Field(foreign_key="certifications.id")
    scheduled_at: datetime = Field(sa_type=UTCDateTime)
    duration_minutes: int = 240
    place: str | None = Field(default=None, max_length=300)
    video_link: str | None = Field(default=None, max_length=500)
    quorum: int = 3
    state: str = Field(max_length=20, index=True)
    version: int = 1
    pv_version: int = 1
    pv_signed_at: datetime | None = optional_timestamp_field()
    pv_signed_by_id: int | None = Field(default=None, foreign_key="users.id")
    results_notified_at: datetime | None = optional_timestamp_field()
    flag_reason: str | None = Field(default=None, sa_column=Column(Text))
    created_by_id: int = Field(foreign_key="users.id")
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class JuryMember(Row, table=True):
    __tablename__ = "jury_members"
    __table_args__ = (UniqueConstraint("session_id", "user_id", name="uq_jury_member"),)

    session_id: int = Field(foreign_key="jury_sessions.id", index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    college: str = Field(max_length=20)  # employeur | salarie
    is_president: bool = False
    present: bool | None = None


class JuryCandidate(Row, table=True):
    __tablename__ = "jury_candidates"
    __table_args__ = (UniqueConstraint("session_id", "candidate_id", name="uq_jury_candidate"),)

    session_id: int = Field(foreign_key="jury_sessions.id", index=True)
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    blocs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # assessed here
    outcome: str | None = Field(default=None, max_length=20)  # certified | partial | none | absent


class Deliberation(Row, table=True):
    """The jury's result for one candidate on one bloc."""

    __tablename__ = "deliberations"
    __table_args__ = (UniqueConstraint("session_id", "candidate_id", "bloc_code", name="uq_deliberation"),)

    session_id: int = Field(foreign_key="jury_sessions.id", index=True)
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    bloc_code: str = Field(max_length=20)
    result: str = Field(max_length=20)  # validated | not_validated | absent
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    recorded_by_id: int = Field(foreign_key="users.id")
    recorded_at: datetime = timestamp_field()


class BlocAcquisition(Row, table=True):
    """A bloc held by a candidate: valid 5 years (partial validation)."""

    __tablename__ = "bloc_acquisitions"
    __table_args__ = (UniqueConstraint("candidate_id", "bloc_code", "session_id", name="uq_bloc_acquisition"),)

    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    bloc_code: str = Field(max_length=20)
    session_id: int = Field(foreign_key="jury_sessions.id")
    acquired_on: date
    valid_until: date
    cancelled: bool = False  # an upheld appeal or a revocation can cancel it


class Certificate(Row, table=True):
    """A certificate (all blocs) or an attestation de blocs; its number never changes."""

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("candidate_id", "session_id", "kind", name="uq_certificate_issue"),)

    number: str = Field(max_length=40, unique=True, index=True)
    kind: str = Field(max_length=20)  # certificate | attestation
    certification_id: int = Field(foreign_key="certifications.id")
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    session_id: int = Field(foreign_key="jury_sessions.id", index=True)
    blocs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    holder_last_name: str = Field(max_length=100)
    holder_first_names: str = Field(max_length=150)
    holder_birth_date: date
    holder_sex: str | None = Field(default=None, max_length=1)  # M | F (declared to the SI CPF, not printed)
    issued_on: date
    state: str = Field(max_length=20, index=True)  # valid | revoked | superseded
    version: int = 1  # document version: +1 at each duplicate or correction
    revoked_at: datetime | None = optional_timestamp_field()
    revoked_reason: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
