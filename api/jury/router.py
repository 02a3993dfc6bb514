"""Jury sessions: planning, members (jury paritaire, independence), candidates, convocation,
attendance, composition check, deliberation per bloc, PV signature, and the documents of the
session. Officers see every session; a jury member only the sessions he sits on, and only the
president among the members records results, closes the deliberation and signs the PV."""

from __future__ import annotations

from datetime import date

import logging
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, StreamingResponse
from sqlmodel import Session, select

from api.certification_schemas import CertificationCode
from api.jury.schemas import (
    AttendanceIn, JuryCandidateOut, JuryCandidatesIn, JuryMemberOut, JuryOut, JuryPlanIn, JurySummary, MemberIn,
    ResultsIn,
)
from api.pagination import Page, Pager, certification_ids, in_range, since_query, until_query
from api.contract import binary
from api.dossier import progress_of
from api.deps import Officer, OfficerOrJuryMember, Principal, require
from api.idempotency import Call, Responder
from api.reads import DossierReads
from api.routes import DossierActions
from api.uploads import documents_out
from certification.jury import actions
from certification.jury.read_model import CandidateView, JuryView, MemberView, jury_view
from certification.db import session_scope
from certification.errors import Conflict, InvalidTransition
from certification.appeals.models import Appeal
from certification.models import Certification, Role
from certification.jury.models import Certificate, JurySession
from certification.jury.states import COLLEGES, JURY_STATE_LABELS, OUTCOME_LABELS, JuryState
from certification.services import conflicts
from certification.jury import queries as jury_queries
from certification.jury import service as svc
from certification.settings import get_settings
from documents.models import GeneratedDocument
from documents.service import list_documents

log = logging.getLogger(__name__)
router = APIRouter(prefix="/jury-sessions", tags=["sessions de jury"])

ENTITY = JurySession.__tablename__


def _summary_of(jury: JurySession, cert: Certification, members_count: int, candidates_count: int) -> dict:
    return {
        "id": jury.id, "reference": jury.reference, "state": jury.state, "state_label": JURY_STATE_LABELS[jury.state],
        "certification_code": cert.code, "scheduled_at": jury.scheduled_at, "duration_minutes": jury.duration_minutes,
        "place": jury.place, "video_link": jury.video_link, "quorum": jury.quorum,
        "members_count": members_count, "candidates_count": candidates_count, "flag_reason": jury.flag_reason,
    }


def _summary(db: Session, jury: JurySession) -> dict:
    """A session in the listing (its counts only, not its read model)."""
    return _summary_of(jury, db.get(Certification, jury.certification_id), len(jury_queries.members_of(db, jury.id)),
                       len(jury_queries.candidates_of(db, jury.id)))


def _member_out(m: MemberView) -> JuryMemberOut:
    return JuryMemberOut(user_id=m.member.user_id, full_name=m.user.full_name, college=m.member.college,
                         college_label=COLLEGES.get(m.member.college, m.member.college),
                         is_president=m.member.is_president, present=m.member.present)


def _candidate_out(c: CandidateView) -> JuryCandidateOut:
    outcome = c.row.outcome
    return JuryCandidateOut(
        candidate_id=c.candidate.id, reference=c.candidate.reference, last_name=c.candidate.last_name,
        first_names=c.candidate.first_names, structure_id=c.structure.id, structure_name=c.structure.name,
        blocs=list(c.row.blocs), results=dict(c.results), outcome=outcome,
        outcome_label=OUTCOME_LABELS.get(outcome) if outcome else None,
        certification_version=c.version.label if c.version else None, bloc_titles=c.bloc_titles,
    )


def jury_out_of(db: Session, principal: Principal, view: JuryView) -> JuryOut:
    """The API's view of the session, mapped from its read model (with its progress, documents and
    the actions this principal may take)."""
    jury = view.jury
    return JuryOut(
        progress=progress_of(db, JurySession.__tablename__, jury.id),
        **_summary_of(jury, view.certification, len(view.members), len(view.candidates)),
        certification_title=view.certification.title, pv_version=jury.pv_version, pv_signed_at=jury.pv_signed_at,
        results_notified_at=jury.results_notified_at, members=[_member_out(m) for m in view.members],
        candidates=[_candidate_out(c) for c in view.candidates],
        composition_problems=list(view.composition_problems), missing_results=list(view.missing_results),
        documents=documents_out(db, f"/jury-sessions/{jury.id}", ENTITY, jury.id),
        allowed_actions=actions.jury_actions(db, principal.actor, jury),
    )


def jury_out(db: Session, principal: Principal, jury: JurySession) -> JuryOut:
    return jury_out_of(db, principal, jury_view(db, jury))


responder = Responder(jury_out, "jury_changed")  # then the jury flow
dossier_actions = DossierActions(router, id_param="session_id", responder=responder, response_model=JuryOut,
                                 principal=Officer)


def _traced_conflict(principal: Principal, session_id: int, action: str, exc: conflicts.ConflictOfInterest) -> None:
    log.warning("%s refused for jury session %s: %s", action, session_id, exc.message)
    with session_scope() as db:
        conflicts.record_refusal(db, principal.actor, exc, entity_type=ENTITY, entity_id=session_id,
                                 action=action)


def _composing(call: Call, principal: Principal, session_id: int, key: tuple, action: str,
               change: Callable[[Session], object]) -> JSONResponse:
    """Add members or candidates to the session (``change``), then answer the session; a conflict of
    interest refused is traced (``action``) before it answers 409."""
    def apply(db: Session) -> JurySession:
        change(db)
        return jury_queries.get_jury_session(db, principal.actor, session_id)

    try:
        return responder(call, principal, (session_id, *key), apply)
    except conflicts.ConflictOfInterest as exc:
        _traced_conflict(principal, session_id, action, exc)
        raise


# --- planning and reading --------------------------------------------------------------------


@router.post("", status_code=201, response_model=JuryOut, summary="Planifier une session de jury (chargé·e)")
def plan(body: JuryPlanIn, call: Call, principal: Officer):
    return responder(call, principal, (body,), lambda db: svc.plan_session(
        db, principal.actor, certification_code=body.certification_code, scheduled_at=body.scheduled_at,
        place=body.place, video_link=body.video_link, quorum=body.quorum, duration_minutes=body.duration_minutes,
    ), status=201)


@router.get("", response_model=Page[JurySummary],
            summary="Lister les sessions (chargé·e : toutes ; membre de jury : les siennes ; paginé)")
def list_sessions(
    pager: Pager = Depends(),
    state: JuryState | None = Query(default=None, description="Filtrer par état"),
    certification_code: CertificationCode | None = Query(default=None, description="Filtrer par certification"),
    since: date | None = since_query("Sessions"),
    until: date | None = until_query("Sessions"),
    principal: Principal = Depends(require(Role.officer, Role.jury_member)),
):
    with session_scope() as db:
        cert_ids = certification_ids(db, certification_code)
        return pager.page(
            jury_queries.list_sessions(db, principal.actor), lambda j: JurySummary(**_summary(db, j)),
            text=lambda j: (j.reference, j.place),
            where=lambda j: (state in (None, j.state) and j.certification_id in cert_ids
                             and in_range(j.scheduled_at, since, until)),
        )


reads = DossierReads(router, id_param="session_id", get=jury_queries.get_jury_session, entity_type=ENTITY)
reads.read(render=jury_out, response_model=JuryOut, summary="Consulter une session de jury")
reads.timeline(summary="Historique de la session (paginé, plus anciens d'abord)")


# --- composition -----------------------------------------------------------------------------


@router.post("/{session_id}/members", response_model=JuryOut,
             summary="Désigner un membre (collège, président) (chargé·e)",
             responses={409: {"description": "Conflit d'intérêts, membre déjà désigné ou président déjà désigné"}})
def add_member(session_id: int, body: MemberIn, call: Call, principal: Officer):
    return _composing(call, principal, session_id, ("members", body), "add_member", lambda db: svc.add_member(
        db, principal.actor, session_id, user_id=body.user_id, college=body.college, is_president=body.is_president))


@router.post("/{session_id}/candidates", response_model=JuryOut,
             summary="Inscrire des candidats prêts (évalués sur les seuls blocs non encore acquis) (chargé·e)",
             responses={409: {"description": "Candidat non prêt, déjà inscrit, structure sans agrément, "
                                             "ou conflit d'intérêts d'un membre"}})
def add_candidates(session_id: int, body: JuryCandidatesIn, call: Call, principal: Officer):
    return _composing(call, principal, session_id, ("candidates", body), "add_candidates",
                      lambda db: svc.add_candidates(db, principal.actor, session_id, body.candidate_ids))


dossier_actions.add("convene", svc.convene, summary="Convoquer les membres (convocations avec invitation .ics) (chargé·e)")


@router.post("/{session_id}/attendance", response_model=JuryOut,
             summary="Saisir la présence des membres : {\"present\": {user_id: true|false}} (chargé·e)")
def attendance(session_id: int, body: AttendanceIn, call: Call, principal: Officer):
    return responder(call, principal, (session_id, "attendance", body),
                     lambda db: svc.record_attendance(db, principal.actor, session_id, body.present))


@router.post("/{session_id}/check-composition", response_model=JuryOut,
             summary="Vérifier la composition : président, deux collèges paritaires, quorum, indépendance (chargé·e)",
             responses={409: {"description": "Composition irrégulière ; details.problems en donne la liste"}})
def check_composition(session_id: int, call: Call, principal: Officer):
    def action(db: Session) -> JurySession:
        try:
            return svc.check_composition(db, principal.actor, session_id)
        except InvalidTransition as exc:
            if exc.code != "guard_failed":
                raise
            problems = svc.composition_problems(db, jury_queries.get_jury_session(db, principal.actor, session_id))
            raise Conflict(exc.message, code="composition_irregular", details={"problems": problems}) from None

    return responder(call, principal, (session_id, "check-composition"), action)


# --- deliberation ----------------------------------------------------------------------------


@router.post("/{session_id}/results", response_model=JuryOut,
             summary="Enregistrer les résultats d'un candidat par bloc (chargé·e ou président du jury)")
def record_results(session_id: int, body: ResultsIn, call: Call, principal: OfficerOrJuryMember):
    def action(db: Session) -> JurySession:
        svc.record_results(db, principal.actor, session_id, body.candidate_id, body.results, body.comment)
        return jury_queries.get_jury_session(db, principal.actor, session_id)

    return responder(call, principal, (session_id, "results", body), action)


dossier_actions.add("close-deliberation", svc.close_deliberation, principal=OfficerOrJuryMember,
                    summary="Clore la délibération (chargé·e ou président du jury)")
dossier_actions.add("sign-pv", svc.sign_pv, principal=OfficerOrJuryMember,
                    summary="Signer le procès-verbal (président du jury ou chargé·e)")
dossier_actions.add("cancel", svc.cancel, reason=True, summary="Annuler la session (chargé·e, motif)")


# --- documents -------------------------------------------------------------------------------


def _folder(doc: GeneratedDocument) -> str:
    if doc.entity_type == Certificate.__tablename__:
        return "certificats"
    if doc.entity_type == Appeal.__tablename__:
        return "recours"
    kind = doc.kind.lower()
    if kind.startswith("pv"):
        return "PV"
    if "convoc" in kind:
        return "convocations"
    return "session"


def session_documents(db: Session, jury: JurySession) -> list[GeneratedDocument]:
    """Every generated document of the session: its own (PV, convocations…), those of its
    certificates and attestations, and those of the appeals against it."""
    docs = list_documents(db, ENTITY, jury.id)
    certificate_ids = list(db.exec(select(Certificate.id).where(Certificate.session_id == jury.id)))
    appeal_ids = list(db.exec(select(Appeal.id).where(Appeal.session_id == jury.id)))
    for entity_type, ids in ((Certificate.__tablename__, certificate_ids), (Appeal.__tablename__, appeal_ids)):
        if ids:
            docs += db.exec(
                select(GeneratedDocument).where(GeneratedDocument.entity_type == entity_type,
                                                GeneratedDocument.entity_id.in_(ids))
                .order_by(GeneratedDocument.entity_id, GeneratedDocument.kind, GeneratedDocument.version)
            ).all()
    return docs


def _unique(name: str, doc: GeneratedDocument, taken: set[str]) -> str:
    if name not in taken:
        return name
    path = PurePosixPath(name)
    for candidate in (f"{path.stem}-v{doc.version}{path.suffix}", f"{path.stem}-{doc.id}{path.suffix}"):
        full = str(path.with_name(candidate))
        if full not in taken:
            return full
    raise AssertionError("unreachable: document ids are unique")


def _chunks(spool, size: int = 64 * 1024) -> Iterator[bytes]:
    try:
        spool.seek(0)
        while chunk := spool.read(size):
            yield chunk
    finally:
        spool.close()


@router.get("/{session_id}/documents.zip", summary="Archive ZIP de tous les documents de la session (chargé·e)",
            response_class=StreamingResponse,
            responses=binary("application/zip", description="PV/…, certificats/…, recours/…"))
def download_zip(session_id: int, principal: Principal = Depends(require(Role.officer))):
    root = get_settings().data_dir
    with session_scope() as db:
        jury = jury_queries.get_jury_session(db, principal.actor, session_id)
        reference = jury.reference
        docs = session_documents(db, jury)
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    taken: set[str] = set()
    missing: list[str] = []
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for doc in docs:
            name = _unique(f"{_folder(doc)}/{PurePosixPath(doc.filename).name}", doc, taken)
            path = root / doc.relative_path
            if not path.is_file():
                log.warning("document %s of jury session %s missing on storage: %s", doc.id, session_id, path)
                missing.append(name)
                continue
            taken.add(name)
            archive.write(path, name)
        if missing:
            archive.writestr("fichiers-manquants.txt", "Documents introuvables sur le stockage :\n"
                             + "\n".join(missing) + "\n")
    return StreamingResponse(
        _chunks(spool), media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{reference}-documents.zip"'},
    )


reads.document(summary="Télécharger un document de la session (PV, convocation)",
               reader=Depends(require(Role.officer, Role.jury_member)))
