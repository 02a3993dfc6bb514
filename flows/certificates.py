"""The certificates' documents: what a certificate's or an attestation de blocs' template reads, and
the certificate flow, which renders the document of a duplicate or a correction (the session's own
documents are rendered by the jury flow, :mod:`flows.jury`, with the same context)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from certification.candidates.models import Candidate
from certification.candidates.service import held_blocs, held_by_equivalence
from certification.db import session_scope
from certification.effects import OwedEffect
from certification.jury import issuance
from certification.jury.models import BlocAcquisition, Certificate, JurySession
from certification.jury.states import KIND_LABELS
from certification.models import AuditEvent, Certification
from certification.services.referential import candidate_blocs, version_of, version_registry_code, version_title
from documents.qr import qr_svg
from flows.common import advance_task, dossier_flow
from flows.context import letter_context
from flows.effects import Effects, fulfil_owed

CERT_ENTITY = Certificate.__tablename__
CERTIFICATE_TEMPLATES = {
    "certificate": "certificat",
    "attestation": "attestation_blocs",
}  # certificate kind -> document kind


def letter_template(kind: str) -> str:
    """The template of the jury's document ``kind`` (PV, certificate, attestation de blocs), its name
    for the renderer processes (``documents.pool``) without the extension; the kind stays ``kind``."""
    return f"jury/{kind}"


def version_events(db: Session, certificate_ids: Sequence[int | None]) -> dict[int | None, list[AuditEvent]]:
    """The duplicates and corrections of these certificates (their audit rows, oldest first)."""
    events: dict[int | None, list[AuditEvent]] = {i: [] for i in certificate_ids}
    for event in db.exec(
        select(AuditEvent)
        .where(
            AuditEvent.entity_type == CERT_ENTITY,
            AuditEvent.entity_id.in_(certificate_ids),
            AuditEvent.action.in_(["duplicate", "correct"]),
        )
        .order_by(AuditEvent.id)
    ):
        events[event.entity_id].append(event)
    return events


def _version_event(events: list[AuditEvent], certificate: Certificate) -> AuditEvent | None:
    return next((e for e in reversed(events) if e.data.get("version") == certificate.version), None)


def certificate_context(
    db: Session, certificate: Certificate, *, qr: bool = True, events: list[AuditEvent] | None = None
) -> dict[str, Any]:
    """What the certificate's template reads (``qr=False``: without the QR code's drawing, that a
    renderer process draws from ``verification_url``; ``events``: its duplicates and corrections,
    when the caller has read them for many certificates, ``version_events``)."""
    cert = db.get(Certification, certificate.certification_id)
    jury = db.get(JurySession, certificate.session_id)
    candidate = db.get(Candidate, certificate.candidate_id)
    blocs = candidate_blocs(db, candidate)
    version = version_of(db, candidate)
    held = held_blocs(db, candidate, on=jury.scheduled_at.date())
    equivalent = held_by_equivalence(db, candidate, on=jury.scheduled_at.date())
    url = issuance.verification_url(certificate.number)
    event = _version_event(
        version_events(db, [certificate.id])[certificate.id] if events is None else events, certificate
    )
    return letter_context(
        certificate={
            "id": certificate.id,
            "number": certificate.number,
            "kind": certificate.kind,
            "kind_label": KIND_LABELS[certificate.kind],
            "holder_last_name": certificate.holder_last_name,
            "holder_first_names": certificate.holder_first_names,
            "holder_birth_date": certificate.holder_birth_date,
            "holder_sex": certificate.holder_sex,
            "certification_code": cert.code,
            "certification_title": version_title(cert, version),
            "registry_code": version_registry_code(cert, version),
            "version_label": version.label if version else None,
            "blocs": [
                {
                    "code": code,
                    "title": blocs[code].title if code in blocs else code,
                    "acquired_on": held[code].acquired_on if code in held else jury.scheduled_at.date(),
                    "valid_until": held[code].valid_until
                    if code in held and certificate.kind == "attestation"
                    else None,
                    "equivalence": _equivalence(db, equivalent[code])
                    if code in equivalent and held.get(code) is equivalent[code]
                    else None,
                }
                for code in certificate.blocs
            ],
            "jury_reference": jury.reference,
            "jury_date": jury.scheduled_at.date(),
            "issued_on": certificate.issued_on,
            "verification_url": url,
            "qr_svg": qr_svg(url) if qr else None,
            "version": certificate.version,
            "duplicate": bool(event and event.action == "duplicate"),
            "correction_note": f"Document rectifié le {event.at:%d/%m/%Y} : {event.reason}"
            if event and event.action == "correct"
            else None,
            "state": certificate.state,
        },
    )


def _equivalence(db: Session, acquisition: BlocAcquisition) -> dict[str, Any]:
    """A bloc held by equivalence: the bloc of the earlier version, its jury and date."""
    jury = db.get(JurySession, acquisition.session_id)
    return {
        "from_code": acquisition.bloc_code,
        "jury_reference": jury.reference if jury else "",
        "acquired_on": acquisition.acquired_on,
    }


def _certificate_step(db: Session, effect: OwedEffect) -> list[Effects]:
    """A duplicate or a correction owes the document of its version."""
    certificate = db.get(Certificate, effect.dossier_id)
    fx = Effects(db, CERT_ENTITY, certificate.id, certificate.number)
    version = effect.payload.get("version") or certificate.version
    if certificate.state == "valid" and version == certificate.version:
        kind = CERTIFICATE_TEMPLATES[certificate.kind]
        fx.letter(certificate_context(db, certificate), kind, version, template=f"{letter_template(kind)}.html")
    return [fx]


def advance_certificate(certificate_id: int, engine: Engine | None = None) -> dict:
    """The document of the certificate's current version (duplicate, correction) exists once."""
    produced = fulfil_owed(engine, "certificate", certificate_id, _certificate_step)
    with session_scope(engine) as db:
        certificate = db.get(Certificate, certificate_id)
        return {
            "certificate_id": certificate_id,
            "state": certificate.state,
            "documents": produced.documents,
            "mails": [],
            "transitions": [],
        }


advance_certificate_task = advance_task("advance-certificate", advance_certificate, retries=1)


@dossier_flow("certificate", process="certificate")
async def certificate_flow(certificate_id: int) -> dict:
    """The document of a duplicate or a correction."""
    return await advance_certificate_task(certificate_id)
