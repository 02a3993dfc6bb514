"""Candidates: registration by a structure holding a valid agrément, evaluations per bloc with
evidence, training steps. A structure sees only its own candidates; a jury member only those of
his sessions (read only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlmodel import Session

from api.candidates.schemas import (
    CandidateIn, CandidateJuryOut, CandidateOut, CandidateSummary, EvaluationIn, EvaluationOut, EvidenceFileOut,
    HeldBlocOut,
)
from api.pagination import Page
from api.contract import PDF, binary, multipart_body, pdf_files
from api.dossier import progress_of
from api.deps import Principal, StructureOrOfficer, require
from api.idempotency import Call, Responder
from api.listing import CERTIFICATION, STRUCTURE, list_route, period, state_filter
from api.reads import DossierReads
from api.routes import DossierActions
from api.uploads import dossier_upload, file_response, store_pieces
from certification.candidates.actions import candidate_actions
from certification.audit import record_event
from certification.db import session_scope
from certification.errors import Forbidden, NotFound, ValidationFailed
from certification.models import Certification, Role, Structure
from certification.candidates.models import Candidate
from certification.candidates.states import CANDIDATE_STATE_LABELS, EVALUATION_RESULTS, CandidateState
from certification.jury.states import OUTCOME_LABELS
from certification.candidates import service as svc
from certification.candidates import queries as candidate_queries
from certification.candidates.read_model import candidate_view
from certification.services.referential import version_title
from certification.settings import get_settings

router = APIRouter(prefix="/candidates", tags=["candidats"])

EVIDENCE_FILES = {"evidence": "preuve d'évaluation (PDF)"}
EVALUATION_DOC = multipart_body({
    "metadata": {"type": "string", "description": "JSON (voir EvaluationIn)"},
    "evidence": pdf_files("PDF : preuves de l'évaluation (facultatif)"),
}, required=["metadata"])


def _summary(c: Candidate, structure: Structure, cert: Certification) -> CandidateSummary:
    return CandidateSummary(
        id=c.id, reference=c.reference, state=c.state, state_label=CANDIDATE_STATE_LABELS[c.state],
        last_name=c.last_name, first_names=c.first_names, birth_date=c.birth_date, structure_id=c.structure_id,
        structure_name=structure.name, certification_code=cert.code, registered_at=c.registered_at,
        pathway=c.pathway,
    )


def summary(db: Session, c: Candidate) -> CandidateSummary:
    return _summary(c, db.get(Structure, c.structure_id), db.get(Certification, c.certification_id))


def _evaluation_out(candidate_id: int, e) -> EvaluationOut:
    return EvaluationOut(
        id=e.id, bloc_code=e.bloc_code, evaluated_on=e.evaluated_on, result=e.result,
        result_label=EVALUATION_RESULTS.get(e.result, e.result), evaluator_name=e.evaluator_name, comment=e.comment,
        files=[
            EvidenceFileOut(index=i, original_name=f["original_name"], content_type=f.get("content_type", "application/pdf"),
                            size=f["size"], sha256=f["sha256"],
                            url=f"/candidates/{candidate_id}/evaluations/{e.id}/files/{i}")
            for i, f in enumerate(e.files)
        ],
        created_at=e.created_at,
    )


def candidate_out(db: Session, principal: Principal, c: Candidate) -> CandidateOut:
    view = candidate_view(db, c)
    version, titles = view.version, view.bloc_titles
    return CandidateOut(
        progress=progress_of(db, Candidate.__tablename__, c.id),
        **_summary(c, view.structure, view.certification).model_dump(),
        birth_place=c.birth_place, sex=c.sex, email=c.email, contract_type=c.contract_type,
        contract_start=c.contract_start,
        contract_end=c.contract_end, certification_title=version_title(view.certification, version),
        certification_version=version.label if version else None, agrement_id=c.agrement_id,
        agrement_number=view.agrement.number, blocs=list(c.blocs),
        evaluations=[_evaluation_out(c.id, e) for e in view.evaluations],
        held_blocs=[
            HeldBlocOut(bloc_code=code, title=titles.get(code, code), acquired_on=a.acquired_on,
                        valid_until=a.valid_until, session_id=a.session_id)
            for code, a in view.held.items()
        ],
        missing_blocs=view.missing,
        juries=[
            CandidateJuryOut(session_id=j.id, session_reference=j.reference, scheduled_at=j.scheduled_at,
                             blocs=list(row.blocs), outcome=row.outcome,
                             outcome_label=OUTCOME_LABELS.get(row.outcome) if row.outcome else None)
            for row, j in view.juries
        ],
        timeline_url=f"/candidates/{c.id}/timeline",
        vae_dossier_id=view.vae_dossier_id,
        allowed_actions=candidate_actions(db, principal.actor, c),
    )


responder = Responder(candidate_out, None)  # candidates have no flow: the jury flow picks them up


# --- registration and reading ----------------------------------------------------------------


@router.post("", status_code=201, response_model=CandidateOut,
             summary="Inscrire un candidat (structure agréée, ou chargé·e avec structure_id)",
             responses={409: {"description": "La structure ne détient pas d'agrément en vigueur (no_valid_agrement)"}})
def register(body: CandidateIn, call: Call, principal: StructureOrOfficer):
    if principal.actor.role is Role.officer and body.structure_id is None:
        raise ValidationFailed("Indiquez la structure (structure_id) du candidat.", code="structure_required")
    if principal.actor.role is Role.structure and body.structure_id not in (None, principal.user.structure_id):
        raise Forbidden("Une structure n'inscrit que ses propres salariés.", code="other_structure")

    def action(db: Session) -> Candidate:
        return svc.register_candidate(
            db, principal.actor, certification_code=body.certification_code, last_name=body.last_name,
            first_names=body.first_names, birth_date=body.birth_date, contract_type=body.contract_type,
            contract_start=body.contract_start, birth_place=body.birth_place, sex=body.sex, email=str(body.email),
            contract_end=body.contract_end, blocs=body.blocs, structure_id=body.structure_id,
            pathway=body.pathway,
        )

    return responder(call, principal, (body,), action, status=201)


list_route(
    router, name="list_candidates", response_model=Page[CandidateSummary],
    summary="Lister les candidats visibles (paginé)",
    rows=candidate_queries.list_candidates, render=lambda db, principal, c: summary(db, c),
    text=lambda db, c: (c.reference, c.last_name, c.first_names),
    filters=[state_filter(CandidateState), STRUCTURE, CERTIFICATION, period("Inscrits", "registered_at")],
    reader=Depends(require(Role.officer, Role.structure, Role.jury_member)),
)


reads = DossierReads(router, id_param="candidate_id", get=candidate_queries.get_candidate,
                     entity_type=Candidate.__tablename__)
reads.read(render=candidate_out, response_model=CandidateOut, summary="Consulter un candidat")


@router.get("/{candidate_id}/personal-data", summary="Droit d'accès : toutes les données d'un candidat (ZIP)",
            response_class=Response, responses={200: {"content": {"application/zip": {}}}})
def personal_data_export(candidate_id: int, principal: Principal = Depends(require(Role.officer))):
    from api.personal_data import personal_data_zip

    with session_scope() as db:
        candidate_queries.get_candidate(db, principal.actor, candidate_id)
        data = personal_data_zip(db, candidate_id, get_settings().data_dir)
        record_event(db, entity_type=Candidate.__tablename__, entity_id=candidate_id,
                     action="personal_data_export", actor=principal.actor)
    return Response(data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="donnees-candidat-{candidate_id}.zip"',
        "Cache-Control": "no-store"})


reads.timeline(summary="Historique du candidat (paginé, plus anciens d'abord)")


@router.get("/{candidate_id}/evaluations/{evaluation_id}/files/{index}",
            summary="Télécharger une preuve d'évaluation (PDF)", responses=binary(PDF))
def download_evidence(candidate_id: int, evaluation_id: int, index: int,
                      principal: Principal = Depends(require(Role.officer, Role.structure))):
    with session_scope() as db:
        c = candidate_queries.get_candidate(db, principal.actor, candidate_id)
        e = next((e for e in candidate_queries.evaluations_of(db, c.id) if e.id == evaluation_id), None)
        if e is None or not 0 <= index < len(e.files):
            raise NotFound("Fichier introuvable.", code="file_not_found")
        f = e.files[index]
    return file_response(get_settings().data_dir / f["relative_path"], f["original_name"],
                         f.get("content_type", "application/pdf"))


# --- training --------------------------------------------------------------------------------


@router.post("/{candidate_id}/evaluations", status_code=201, response_model=CandidateOut, openapi_extra=EVALUATION_DOC,
             summary="Saisir l'évaluation d'un bloc : métadonnées JSON + PDF « evidence » (facultatifs)")
async def add_evaluation(candidate_id: int, call: Call, principal: StructureOrOfficer):
    body, files = await dossier_upload(call.http, candidate_queries.get_candidate, principal.actor, candidate_id,
                                       EvaluationIn, EVIDENCE_FILES)
    stored = store_pieces(files)

    def action(db: Session) -> Candidate:
        svc.add_evaluation(db, principal.actor, candidate_id, bloc_code=body.bloc_code,
                           evaluated_on=body.evaluated_on, result=body.result, evaluator_name=body.evaluator_name,
                           comment=body.comment, files=stored)
        return candidate_queries.get_candidate(db, principal.actor, candidate_id)

    return responder(call, principal, (candidate_id, body, [f.sha256 for f in stored]), action,
                     status=201)


dossier_actions = DossierActions(router, id_param="candidate_id", responder=responder, response_model=CandidateOut,
                                 principal=StructureOrOfficer)
dossier_actions.add("start-training", svc.start_training, summary="Commencer la formation")
dossier_actions.add("ready", svc.mark_ready, name="mark_ready",
                    summary="Présenter au jury (toutes les évaluations des blocs manquants sont « acquis »)")
dossier_actions.add("postpone", svc.postpone, reason=True, summary="Ajourner le candidat (motif)")
dossier_actions.add("resume", svc.resume, summary="Reprendre la formation")
dossier_actions.add("withdraw", svc.withdraw, reason=True, summary="Retirer le candidat (motif)")
