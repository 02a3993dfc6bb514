"""The certifications of the branch, their blocs de compétences and their registry code (the
number of their record in France Compétences' RNCP or Répertoire spécifique). The blocs are those
of a version of the certification's référentiel (certification/referentiel/)."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from certification.db import get_kept, transaction_cache
from certification.audit import Actor, record_event, timeline
from certification.errors import Forbidden, NotFound, ValidationFailed
from certification.models import AuditEvent, Bloc, Certification, CertificationVersion, Role
from certification.candidates.models import Candidate
from certification.referentiel.service import current_or_latest, ensure_shipped

ENTITY = Certification.__tablename__
# « RNCP34567 » or « RS5286 »: the registry, then the number of the record (at most 20 characters).
REGISTRY_CODE = re.compile(r"(RNCP|RS)(\d{1,16})")



def ensure_referential(db: Session) -> None:
    """Create the certifications, their initial version and its blocs if missing (idempotent), from
    the référentiel files shipped with the engine (certification/data/referentiels/)."""
    ensure_shipped(db)


def get_certification(db: Session, code: str) -> Certification:
    cert = db.exec(select(Certification).where(Certification.code == code)).first()
    if cert is None:
        raise NotFound(f"Certification inconnue : {code}.", code="unknown_certification")
    return cert


def blocs_of(db: Session, certification_id: int, version_id: int | None = None) -> list[Bloc]:
    """The blocs of a version of the certification: by default the version in force today (or the
    latest one started)."""
    if version_id is None:
        version = current_or_latest(db, certification_id)
        version_id = version.id if version else None
    return list(db.exec(select(Bloc).where(
        Bloc.certification_id == certification_id, Bloc.version_id == version_id).order_by(Bloc.position)))


def version_of(db: Session, candidate: Candidate) -> CertificationVersion | None:
    """The version of the référentiel the candidate registered on (kept for good); a candidate
    registered before versions existed: the version in force today."""
    if candidate.certification_version_id is not None:
        return get_kept(db, CertificationVersion, candidate.certification_version_id)
    return current_or_latest(db, candidate.certification_id)


def candidate_blocs(db: Session, candidate: Candidate) -> dict[str, Bloc]:
    """The blocs of the candidate's version, by code (their titles as that version words them)."""
    version = version_of(db, candidate)
    if version is None:
        return {b.code: b for b in blocs_of(db, candidate.certification_id, None)}
    # A version's blocs are written with it and never after: read once per transaction (a jury's
    # PV and certificates name them for each of its candidates).
    cache = transaction_cache(db, "version_blocs")
    if version.id not in cache:
        cache[version.id] = {b.code: b for b in blocs_of(db, candidate.certification_id, version.id)}
    return dict(cache[version.id])


def bloc_titles(db: Session, candidate: Candidate) -> dict[str, str]:
    return {code: bloc.title for code, bloc in candidate_blocs(db, candidate).items()}


def version_title(cert: Certification, version: CertificationVersion | None) -> str:
    """The title printed for a holder of ``version``: the version's own, else the certification's."""
    return (version.title if version is not None and version.title else "") or cert.title


def version_registry_code(cert: Certification, version: CertificationVersion | None) -> str:
    """The France Compétences record of ``version``: its own code when it has one, else the
    certification's current one (``PUT /certifications/{code}/registry-code``)."""
    return (version.registry_code if version is not None and version.registry_code else "") or cert.registry_code


def mixed_versions(db: Session, candidates: list[Candidate]) -> bool:
    """Whether ``candidates`` are not all on one version (a jury session's PV then names each one's)."""
    ids = set()
    for candidate in candidates:
        version = version_of(db, candidate)
        ids.add(version.id if version else None)
    return len(ids) > 1


# --- registry code ---------------------------------------------------------------------------------


def parse_registry_code(value: str | None) -> tuple[str, str] | None:
    """``("RNCP", "RNCP34567")`` from ``" rncp 34567 "`` (spaces dropped, upper case); None if not a code."""
    code = re.sub(r"\s+", "", value or "").upper()
    match = REGISTRY_CODE.fullmatch(code)
    return (match.group(1), code) if match else None


def list_certifications(db: Session, actor: Actor) -> list[Certification]:
    _officer_only(actor)
    return list(db.exec(select(Certification).order_by(Certification.code)))


def set_registry_code(db: Session, actor: Actor, certification_code: str, registry_code: str,
                      reason: str | None = None) -> Certification:
    """Record the RNCP / RS code of a certification (normalised; the change audited with its former
    value). Setting the code it already has changes nothing."""
    _officer_only(actor)
    cert = get_certification(db, certification_code)
    parsed = parse_registry_code(registry_code)
    if parsed is None:
        raise ValidationFailed(
            f"Code de certification invalide (« {str(registry_code)[:40]} ») : « RNCP » ou « RS » suivi du "
            "numéro de la fiche France Compétences, par exemple RNCP34567 ou RS5286.",
            code="bad_registry_code")
    code = parsed[1]
    previous = cert.registry_code or None
    if code == previous:
        return cert
    cert.registry_code = code
    db.add(cert)
    record_event(db, entity_type=ENTITY, entity_id=cert.id, action="set_registry_code", actor=actor,
                 from_state=previous, to_state=code, reason=(reason or "").strip() or None,
                 data={"from": previous, "to": code, "registry": parsed[0]})
    db.flush()
    return cert


def certification_timeline(db: Session, actor: Actor, certification_code: str) -> list[AuditEvent]:
    _officer_only(actor)
    return timeline(db, ENTITY, get_certification(db, certification_code).id)


def _officer_only(actor: Actor) -> None:
    if actor.role is not Role.officer:
        raise Forbidden("Le référentiel des certifications est réservé au certificateur.", code="role_not_allowed")
