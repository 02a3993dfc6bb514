"""The certifications of the branch and their blocs de compétences."""

from __future__ import annotations

from sqlmodel import Session, select

from certification.errors import NotFound
from certification.models import Bloc, Certification

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
