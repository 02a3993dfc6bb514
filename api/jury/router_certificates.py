"""Certificates (parchemins) and attestations de blocs: consultation, duplicate, correction and
revocation, each keeping its history. A structure sees its own candidates' documents."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from api.certification_schemas import CertificationCode
from api.jury.schemas import CertificateOut, CertificateSummary, CorrectionIn
from api.pagination import Page, Pager, certification_ids, in_range, since_query, until_query
from api.dossier import progress_of
from api.deps import Officer, Principal, require
from api.idempotency import Call, Responder
from api.reads import DossierReads
from api.routes import DossierActions
from api.schemas import EventOut
from api.uploads import documents_out
from certification.jury import actions
from certification.audit import timeline
from certification.db import session_scope
from certification.candidates.models import Candidate
from certification.models import Certification, Role
from certification.jury.models import Certificate, JurySession
from certification.jury.states import CERTIFICATE_STATE_LABELS, KIND_LABELS, CertificateState
from certification.jury import queries as jury_queries
from certification.jury import issuance as svc

router = APIRouter(prefix="/certificates", tags=["certificats et attestations"])

ENTITY = Certificate.__tablename__
READERS = (Role.officer, Role.structure)


def _summary(db: Session, row: Certificate) -> dict:
    cert = db.get(Certification, row.certification_id)
    candidate = db.get(Candidate, row.candidate_id)
    jury = db.get(JurySession, row.session_id)
    return {
        "id": row.id, "number": row.number, "kind": row.kind, "kind_label": KIND_LABELS[row.kind],
        "state": row.state, "state_label": CERTIFICATE_STATE_LABELS[row.state], "certification_code": cert.code,
        "candidate_id": row.candidate_id, "candidate_reference": candidate.reference, "session_id": row.session_id,
        "session_reference": jury.reference, "holder_last_name": row.holder_last_name,
        "holder_first_names": row.holder_first_names, "holder_birth_date": row.holder_birth_date,
        "holder_sex": row.holder_sex,
        "issued_on": row.issued_on, "version": row.version, "blocs": list(row.blocs),
    }


def certificate_out(db: Session, principal: Principal, row: Certificate) -> CertificateOut:
    return CertificateOut(
        progress=progress_of(db, Certificate.__tablename__, row.id),
        **_summary(db, row),
        revoked_at=row.revoked_at, revoked_reason=row.revoked_reason,
        verification_url=svc.verification_url(row.number),
        documents=documents_out(db, f"/certificates/{row.id}", ENTITY, row.id),
        history=[EventOut.model_validate(e, from_attributes=True) for e in timeline(db, ENTITY, row.id)],
        allowed_actions=actions.certificate_actions(db, principal.actor, row),
    )


responder = Responder(certificate_out, "certificate_changed")


@router.get("", response_model=Page[CertificateSummary],
            summary="Lister les certificats et attestations (chargé·e : tous ; structure : ceux de ses candidats ; paginé)")
def list_certificates(
    pager: Pager = Depends(),
    session_id: int | None = Query(default=None, ge=1, description="Filtrer par session de jury"),
    state: CertificateState | None = Query(default=None, description="Filtrer par état"),
    certification_code: CertificationCode | None = Query(default=None, description="Filtrer par certification"),
    since: date | None = since_query("Délivrés"),
    until: date | None = until_query("Délivrés"),
    principal: Principal = Depends(require(*READERS)),
):
    with session_scope() as db:
        cert_ids = certification_ids(db, certification_code)
        return pager.page(
            jury_queries.list_certificates(db, principal.actor, jury_session_id=session_id),
            lambda c: CertificateSummary(**_summary(db, c)),
            text=lambda c: (c.number, c.holder_last_name, c.holder_first_names),
            where=lambda c: (state in (None, c.state) and c.certification_id in cert_ids
                             and in_range(c.issued_on, since, until)),
        )


reads = DossierReads(router, id_param="certificate_id", get=jury_queries.get_certificate, entity_type=ENTITY,
                     reader=Depends(require(*READERS)))
reads.read(render=certificate_out, response_model=CertificateOut,
           summary="Consulter un certificat, ses documents et son historique")
reads.document(summary="Télécharger le document (PDF)")


dossier_actions = DossierActions(router, id_param="certificate_id", responder=responder, response_model=CertificateOut,
                                 principal=Officer)
dossier_actions.add("duplicate", svc.duplicate, reason=True,
                    summary="Délivrer un duplicata (même numéro, nouvelle version) (chargé·e, motif)")


@router.post("/{certificate_id}/correct", response_model=CertificateOut,
             summary="Corriger l'identité du titulaire (anciennes valeurs gardées dans l'historique) (chargé·e)")
def correct(certificate_id: int, body: CorrectionIn, call: Call, principal: Officer):
    return responder(call, principal, (certificate_id, "correct", body),
                     lambda db: svc.correct(db, principal.actor, certificate_id, reason=body.reason,
                                          last_name=body.last_name, first_names=body.first_names,
                                          birth_date=body.birth_date, sex=body.sex))


dossier_actions.add("revoke", svc.revoke, reason=True,
                    summary="Révoquer (le numéro répond « révoqué » à la vérification) (chargé·e, motif)")
