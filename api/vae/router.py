"""Dossiers de VAE: the request of a candidate registered on the VAE pathway, the officer's
recevabilité decision (with its letter), the accompaniment, the livret 2 (PDF) and the jury's
interview. Structures see only their candidates' dossiers, jury members only those of the
candidates of their own sessions (404 otherwise); the deliberation is the jury's (``/juries``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlmodel import Session

from api.contract import PDF, binary, multipart_body
from api.dossier import progress_of
from api.deps import Officer, OfficerOrJuryMember, Principal, StructureOrOfficer, current_principal
from api.idempotency import Call, Responder
from api.pagination import Page
from api.listing import STRUCTURE, list_route, period, state_filter, summary_of
from api.reads import DossierReads
from api.schemas import ReasonIn
from api.uploads import documents_out, file_response, read_multipart, store_pieces
from api.vae.schemas import (
    AccompanimentIn, BlocOut, InterviewIn, Livret2Out, RecevabiliteIn, VaeOut, VaeRequestIn, VaeSummary,
)
from certification.db import session_scope
from certification.errors import NotFound, ValidationFailed
from certification.models import Structure
from certification.candidates.models import Candidate
from certification.settings import get_settings
from certification.vae import queries as vae_queries
from certification.vae import service as svc
from certification.vae.actions import vae_actions, vae_waiting_for
from certification.vae.models import VaeDossier
from certification.vae.read_model import vae_view
from certification.vae.states import VAE_STATE_LABELS, VaeState

router = APIRouter(prefix="/vae-dossiers", tags=["VAE"])

LIVRET2_FILES = {"livret2": "livret 2 : dossier de validation (PDF)"}
LIVRET2_DOC = multipart_body({"livret2": {"type": "string", "format": "binary",
                                          "description": "PDF : le livret 2 (dossier de validation) du candidat"}},
                             required=["livret2"])


def _summary_of(d: VaeDossier, candidate: Candidate, structure: Structure) -> dict:
    return {
        "id": d.id, "reference": d.reference, "state": d.state, "state_label": VAE_STATE_LABELS[d.state],
        "candidate_id": d.candidate_id, "candidate_reference": candidate.reference,
        "candidate_name": f"{candidate.first_names} {candidate.last_name}", "structure_id": d.structure_id,
        "structure_name": structure.name, "recevabilite_due_on": d.recevabilite_due_on, "waiting_for": vae_waiting_for(d),
    }


def _summary(db: Session, d: VaeDossier) -> dict:
    """A dossier in the listing (its candidate and structure only, not its read model)."""
    return _summary_of(d, db.get(Candidate, d.candidate_id), db.get(Structure, d.structure_id))


def vae_out(db: Session, principal: Principal, d: VaeDossier) -> VaeOut:
    """The API's view of the dossier, mapped from its read model (with its progress, documents and
    the actions this principal may take)."""
    view = vae_view(db, d)
    livret2 = Livret2Out(original_name=d.livret2_name, size=d.livret2_size, sha256=d.livret2_sha256,
                         deposited_at=d.livret2_deposited_at, url=f"/vae-dossiers/{d.id}/livret2") \
        if d.livret2_path else None
    return VaeOut(
        progress=progress_of(db, VaeDossier.__tablename__, d.id),
        **_summary_of(d, view.candidate, view.structure),
        requested_blocs=[BlocOut(code=code, title=title) for code, title in view.requested_blocs],
        experience=d.experience, filed_at=d.filed_at, decision_reason=d.decision_reason, decided_at=d.decided_at,
        livret2_due_on=d.livret2_due_on, accompanist_name=d.accompanist_name,
        accompanist_organisation=d.accompanist_organisation, accompaniment_hours=d.accompaniment_hours,
        livret2=livret2, interview_at=d.interview_at, interview_session_id=d.interview_session_id,
        interview_notes=d.interview_notes,
        documents=documents_out(db, f"/vae-dossiers/{d.id}", VaeDossier.__tablename__, d.id),
        allowed_actions=vae_actions(db, principal.actor, d),
    )


responder = Responder(vae_out, "vae_changed")


@router.post("", status_code=201, response_model=VaeOut,
             summary="Déposer la demande de VAE d'un candidat inscrit en VAE (structure, ou chargé·e)",
             responses={409: {"description": "Candidat non inscrit en VAE, ou demande déjà déposée"}})
def file_request(body: VaeRequestIn, call: Call, principal: StructureOrOfficer):
    return responder(call, principal, (body,), lambda db: svc.file_request(
        db, principal.actor, body.candidate_id, requested_blocs=body.requested_blocs, experience=body.experience),
        status=201)


list_route(
    router, name="list_dossiers", response_model=Page[VaeSummary], rows=vae_queries.list_dossiers,
    summary="Lister les dossiers de VAE visibles (paginé)", render=summary_of(VaeSummary, _summary),
    text=lambda db, d: (d.reference, db.get(Candidate, d.candidate_id).last_name),
    filters=[state_filter(VaeState), STRUCTURE, period("Déposés", "filed_at")],
)


reads = DossierReads(router, id_param="dossier_id", get=vae_queries.get_dossier, entity_type=VaeDossier.__tablename__)
reads.read(render=vae_out, response_model=VaeOut, summary="Consulter un dossier de VAE")
reads.timeline(summary="Historique du dossier de VAE (paginé, plus anciens d'abord)")
reads.document(summary="Télécharger une lettre du dossier (PDF)")


@router.get("/{dossier_id}/livret2", summary="Télécharger le livret 2 (jury : candidats de ses sessions seulement)",
            responses=binary(PDF))
def download_livret2(dossier_id: int, principal: Principal = Depends(current_principal)):
    with session_scope() as db:
        d = vae_queries.get_dossier(db, principal.actor, dossier_id)
        if not d.livret2_path:
            raise NotFound("Le livret 2 n'a pas encore été déposé.", code="livret2_not_found")
        path, name, media_type = d.livret2_path, d.livret2_name, d.livret2_content_type
    return file_response(get_settings().data_dir / path, name, media_type)


@router.post("/{dossier_id}/recevabilite", response_model=VaeOut,
             summary="Décider de la recevabilité de la demande (chargé·e) : lettre de décision")
def decide_recevabilite(dossier_id: int, body: RecevabiliteIn, call: Call, principal: Officer):
    return responder(call, principal, (dossier_id, body), lambda db: svc.decide_recevabilite(
        db, principal.actor, dossier_id, decision=body.decision, reason=body.reason))


@router.post("/{dossier_id}/accompaniment", response_model=VaeOut,
             summary="Renseigner l'accompagnement du candidat (facultatif ; structure ou chargé·e)")
def record_accompaniment(dossier_id: int, body: AccompanimentIn, call: Call, principal: StructureOrOfficer):
    return responder(call, principal, (dossier_id, body), lambda db: svc.record_accompaniment(
        db, principal.actor, dossier_id, accompanist_name=body.accompanist_name, organisation=body.organisation,
        hours=body.hours))


@router.post("/{dossier_id}/livret2", response_model=VaeOut, openapi_extra=LIVRET2_DOC,
             summary="Déposer le livret 2 (structure ou chargé·e) : PDF « livret2 »")
async def deposit_livret2(dossier_id: int, call: Call, principal: StructureOrOfficer):
    with session_scope() as db:  # 404 before storing anything
        vae_queries.get_dossier(db, principal.actor, dossier_id)
    _raw, files = await read_multipart(call.http, LIVRET2_FILES)
    if len(files) != 1:
        raise ValidationFailed("Joignez le livret 2 : un seul fichier PDF, champ « livret2 ».", code="livret2_required")
    (stored,) = store_pieces(files)
    return responder(call, principal, (dossier_id, stored.sha256),
                     lambda db: svc.deposit_livret2(db, principal.actor, dossier_id, stored))


@router.post("/{dossier_id}/interview", response_model=VaeOut,
             summary="Enregistrer l'entretien avec le jury (président du jury du candidat, ou chargé·e)")
def record_interview(dossier_id: int, body: InterviewIn, call: Call, principal: OfficerOrJuryMember):
    return responder(call, principal, (dossier_id, body), lambda db: svc.record_interview(
        db, principal.actor, dossier_id, interview_at=body.interview_at, notes=body.notes))


@router.post("/{dossier_id}/abandon", response_model=VaeOut, summary="Abandonner la démarche de VAE (structure ou chargé·e)")
def abandon(dossier_id: int, body: ReasonIn, call: Call, principal: StructureOrOfficer):
    return responder(call, principal, (dossier_id, body), lambda db: svc.abandon(db, principal.actor, dossier_id, body.reason))
