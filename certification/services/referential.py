"""The certifications of the branch, their blocs de compétences and their registry code (the
number of their record in France Compétences' RNCP or Répertoire spécifique)."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from certification.audit import Actor, record_event, timeline
from certification.errors import Forbidden, NotFound, ValidationFailed
from certification.models import AuditEvent, Bloc, Certification, Role

ENTITY = Certification.__tablename__
# « RNCP34567 » or « RS5286 »: the registry, then the number of the record (at most 20 characters).
REGISTRY_CODE = re.compile(r"(RNCP|RS)(\d{1,16})")

CERTIFICATIONS: dict[str, dict] = {
    "CQP_SP": {
        "title": "CQP Salarié Polyvalent",
        "blocs": [
            ("SP-B1", "Réaliser les activités de production ou de service dans le respect des consignes"),
            ("SP-B2", "Communiquer et travailler en équipe en situation de production"),
            ("SP-B3", "Appliquer les règles d'hygiène, de sécurité et de préservation de l'environnement"),
        ],
    },
    "CQP_EPSP": {
        "title": "CQP Encadrant Pédagogique en Situation de Production",
        "blocs": [
            ("EPSP-B1", "Organiser et encadrer l'activité de production d'une équipe"),
            ("EPSP-B2", "Transmettre des savoir-faire en situation de production"),
            ("EPSP-B3", "Évaluer les acquis et accompagner le parcours des salariés"),
        ],
    },
}


def ensure_referential(session: Session) -> None:
    """Create the certifications and blocs if missing (idempotent)."""
    for code, spec in CERTIFICATIONS.items():
        cert = session.exec(select(Certification).where(Certification.code == code)).first()
        if cert is None:
            cert = Certification(code=code, title=spec["title"])
            session.add(cert)
            session.flush()
        existing = {b.code for b in session.exec(select(Bloc).where(Bloc.certification_id == cert.id))}
        for position, (bloc_code, title) in enumerate(spec["blocs"], start=1):
            if bloc_code not in existing:
                session.add(Bloc(certification_id=cert.id, code=bloc_code, title=title, position=position))
    session.flush()


def get_certification(session: Session, code: str) -> Certification:
    cert = session.exec(select(Certification).where(Certification.code == code)).first()
    if cert is None:
        raise NotFound(f"Certification inconnue : {code}.", code="unknown_certification")
    return cert


def blocs_of(session: Session, certification_id: int) -> list[Bloc]:
    return list(
        session.exec(select(Bloc).where(Bloc.certification_id == certification_id).order_by(Bloc.position))
    )


# --- registry code ---------------------------------------------------------------------------------


def parse_registry_code(value: str | None) -> tuple[str, str] | None:
    """``("RNCP", "RNCP34567")`` from ``" rncp 34567 "`` (spaces dropped, upper case); None if not a code."""
    code = re.sub(r"\s+", "", value or "").upper()
    match = REGISTRY_CODE.fullmatch(code)
    return (match.group(1), code) if match else None


def list_certifications(session: Session, actor: Actor) -> list[Certification]:
    _officer_only(actor)
    return list(session.exec(select(Certification).order_by(Certification.code)))


def set_registry_code(session: Session, actor: Actor, certification_code: str, registry_code: str,
                      reason: str | None = None) -> Certification:
    """Record the RNCP / RS code of a certification (normalised; the change audited with its former
    value). Setting the code it already has changes nothing."""
    _officer_only(actor)
    cert = get_certification(session, certification_code)
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
    session.add(cert)
    record_event(session, entity_type=ENTITY, entity_id=cert.id, action="set_registry_code", actor=actor,
                 from_state=previous, to_state=code, reason=(reason or "").strip() or None,
                 data={"from": previous, "to": code, "registry": parsed[0]})
    session.flush()
    return cert


def certification_timeline(session: Session, actor: Actor, certification_code: str) -> list[AuditEvent]:
    _officer_only(actor)
    return timeline(session, ENTITY, get_certification(session, certification_code).id)


def _officer_only(actor: Actor) -> None:
    if actor.role is not Role.officer:
        raise Forbidden("Le référentiel des certifications est réservé au certificateur.", code="role_not_allowed")
