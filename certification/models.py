"""SQLModel tables of the domain. The database is the case record."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from certification.types import Row, optional_timestamp_field as _opt_ts, timestamp_field as _ts


class Role(StrEnum):
    officer = "officer"
    mandataire = "mandataire"
    controleur = "controleur"
    formateur = "formateur"
    jury_member = "jury_member"
    structure = "structure"
    system = "system"


ROLE_LABELS_FR = {
    Role.officer: "chargé·e de certification",
    Role.mandataire: "mandataire",
    Role.controleur: "contrôleur",
    Role.formateur: "formateur EPSP",
    Role.jury_member: "membre de jury",
    Role.structure: "structure",
    Role.system: "système",
}


class User(Row, table=True):
    __tablename__ = "users"

    email: str = Field(max_length=254, unique=True, index=True)
    full_name: str = Field(max_length=200)
    sex: str | None = Field(default=None, max_length=1)  # M | F: « Madame »/« Monsieur », agreement in letters
    role: str = Field(max_length=20, index=True)
    structure_id: int | None = Field(default=None, foreign_key="structures.id")
    password_hash: str | None = Field(default=None, max_length=300)
    active: bool = True
    created_at: datetime = _ts()


class ApiToken(Row, table=True):
    __tablename__ = "api_tokens"

    user_id: int = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    label: str = Field(default="", max_length=100)
    created_at: datetime = _ts()
    expires_at: datetime | None = _opt_ts()
    revoked_at: datetime | None = _opt_ts()


class Structure(Row, table=True):
    __tablename__ = "structures"

    siret: str = Field(max_length=14, unique=True, index=True)
    name: str = Field(max_length=200)
    region: str = Field(default="", max_length=100)
    address: str = Field(default="", max_length=400)
    email: str = Field(default="", max_length=254)
    created_at: datetime = _ts()


class LinkKind(StrEnum):
    mandataire = "mandataire"  # accompanied the structure (instructed its agrément)
    formateur = "formateur"  # trained its staff
    controleur = "controleur"  # audited it
    employee = "employee"  # works there


class StructureLink(Row, table=True):
    """Who accompanied, trained or audited a structure: the basis of conflict-of-interest checks."""

    __tablename__ = "structure_links"
    __table_args__ = (UniqueConstraint("user_id", "structure_id", "kind", name="uq_structure_link"),)

    user_id: int = Field(foreign_key="users.id", index=True)
    structure_id: int = Field(foreign_key="structures.id", index=True)
    kind: str = Field(max_length=20)
    since: datetime = _ts()


class Certification(Row, table=True):
    __tablename__ = "certifications"

    code: str = Field(max_length=20, unique=True)
    title: str = Field(max_length=200)
    registry_code: str = Field(default="", max_length=40)  # RNCP/RS number


class VersionStatus(StrEnum):
    draft = "draft"  # loaded, not yet activated (its content may still be « à compléter »)
    active = "active"  # activated: in force from valid_from (or since always when None) to valid_until


class CertificationVersion(Row, table=True):
    """One version of a certification's référentiel, loaded from a shipped or uploaded file
    (certification/referentiel/): its content as validated, the hash of that content, and who
    activated it from which date. A candidate records the version in force at registration."""

    __tablename__ = "certification_versions"
    __table_args__ = (UniqueConstraint("certification_id", "label", name="uq_certification_version_label"),)

    certification_id: int = Field(foreign_key="certifications.id", index=True)
    label: str = Field(max_length=20)
    title: str = Field(max_length=200)
    registry_kind: str | None = Field(default=None, max_length=4)  # RNCP | RS
    registry_code: str = Field(default="", max_length=40)
    valid_from: date | None = None  # None on an active version: in force since always (the initial one)
    valid_until: date | None = None
    status: str = Field(default=VersionStatus.draft.value, max_length=20, index=True)
    content: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    content_hash: str = Field(max_length=64)
    source: str = Field(default="", max_length=200)  # file name, « installation » or « migration »
    loaded_at: datetime = _ts()
    loaded_by_id: int | None = Field(default=None, foreign_key="users.id")
    activated_at: datetime | None = _opt_ts()
    activated_by_id: int | None = Field(default=None, foreign_key="users.id")


class Bloc(Row, table=True):
    __tablename__ = "blocs"
    __table_args__ = (UniqueConstraint("version_id", "code", name="uq_bloc_version_code"),)

    certification_id: int = Field(foreign_key="certifications.id", index=True)
    version_id: int | None = Field(default=None, foreign_key="certification_versions.id", index=True)
    code: str = Field(max_length=20)
    title: str = Field(max_length=300)
    position: int = 0


class AuditEvent(Row, table=True):
    """One row per state change or audited action: who, role, when, from, to, why."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity_chain", "entity_type", "entity_id", "id"),)

    entity_type: str = Field(max_length=40, index=True)
    entity_id: int = Field(index=True)
    action: str = Field(max_length=40)
    from_state: str | None = Field(default=None, max_length=20)
    to_state: str | None = Field(default=None, max_length=20)
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    actor_role: str = Field(max_length=20)
    actor_label: str = Field(default="", max_length=200)
    at: datetime = _ts(index=True)
    reason: str | None = Field(default=None, sa_column=Column(Text))
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Tamper evidence (certification/audit_chain.py): the hash of the entity's previous row and of this one.
    prev_hash: str | None = Field(default=None, max_length=64)
    row_hash: str | None = Field(default=None, max_length=64)


class Counter(SQLModel, table=True):
    """Gap-free sequences (references, agrément and certificate numbers), per name and year."""

    __tablename__ = "counters"

    name: str = Field(primary_key=True, max_length=40)
    year: int = Field(primary_key=True)
    value: int = 0


class IdempotencyRecord(Row, table=True):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_key"),)

    user_id: int = Field(foreign_key="users.id")
    key: str = Field(max_length=200)
    method: str = Field(max_length=10)
    path: str = Field(max_length=300)
    request_hash: str = Field(max_length=64)
    status_code: int | None = None  # None while the first request is being processed
    response_body: dict | list | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = _ts()


import certification.agrement.models  # noqa: E402,F401  (registers the agrément tables)
import certification.appeals.models  # noqa: E402,F401  (registers the appeals' table)
import certification.candidates.models  # noqa: E402,F401  (registers the candidates' tables)
import certification.controle.models  # noqa: E402,F401  (registers the contrôle tables)
import certification.jury.models  # noqa: E402,F401  (registers the jury and certificate tables)
import certification.cpf.models  # noqa: E402,F401  (registers the SI CPF export tables)
import certification.training.models  # noqa: E402,F401  (registers the training and appui tables)
import certification.vae.models  # noqa: E402,F401  (registers the VAE table)
from certification.models_credentials import *  # noqa: E402,F401,F403
from certification.models_monitoring import *  # noqa: E402,F401,F403
from certification.models_webhooks import *  # noqa: E402,F401,F403
