"""Pages of the back-office (read side): login, inbox, lists and dossier pages with their timeline.

Every page reads through the services of ``certification`` with the signed-in user as actor,
exactly like the API: a mandataire only sees his requests, a contrôleur his contrôles, and a
dossier of someone else answers 404 (its existence does not leak); a section that a role has no
access to at all answers 403.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session, select

from api.deps import Principal
from api.routers.agrement_requests import _allowed_actions as request_api_actions
from api.routers.controles import _allowed_actions as controle_api_actions
from api.uploads import file_response
from api.web.inbox import build_inbox
from api.web.prefect_links import links as prefect_links
from api.web.render import SECTION_ROLES, render
from api.web.session import WebUser, require_roles, web_user
from api.web.timeline import rows as timeline_rows
from certification.clock import today
from certification.db import session_scope
from certification.errors import NotFound
from certification.models import (
    Agrement,
    AgrementRequest,
    Appeal,
    Candidate,
    Certification,
    Controle,
    JurySession,
    Role,
    Structure,
    User,
)
from certification.processes.agrement import AGREMENT_REQUEST, AGREMENT_STATE_LABELS, PIECE_KINDS, REQUEST_STATE_LABELS
from certification.processes.certification import (
    APPEAL_STATE_LABELS,
    CANDIDATE_STATE_LABELS,
    COLLEGES,
    EVALUATION_RESULTS,
    JURY_STATE_LABELS,
    OUTCOME_LABELS,
)
from certification.processes.controle import CONTROLE, CONTROLE_STATE_LABELS, KIND_LABELS
from certification.services import agrement as requests_svc
from certification.services import appeals as appeals_svc
from certification.services import candidates as candidates_svc
from certification.services import conflicts
from certification.services import controle as controles_svc
from certification.services import jury as jury_svc
from certification.settings import get_settings
from documents.formatting import date_fr, datetime_fr
from documents.models import GeneratedDocument
from documents.service import list_documents
from flows.agrement import waiting_for as request_waiting_for
from flows.controle import waiting_for as controle_waiting_for

from api.web.router import router

SECTION_TITLES = {
    "demandes": "Demandes d'agrément",
    "agrements": "Agréments",
    "controles": "Contrôles",
    "jurys": "Jurys",
    "candidats": "Candidats",
    "recours": "Recours",
}


def _section(current: WebUser, key: str) -> None:
    require_roles(current, SECTION_ROLES[key], SECTION_TITLES[key])


def _structure_name(session: Session, structure_id: int) -> str:
    row = session.get(Structure, structure_id)
    return row.name if row else "?"


def _cert(session: Session, certification_id: int) -> Certification:
    return session.get(Certification, certification_id)


# --- inbox -----------------------------------------------------------------------------------


@router.get("", summary="Back-office")
def root(_current: WebUser = Depends(web_user)):
    return RedirectResponse("/app/", status_code=303)


@router.get("/", summary="Actions en attente")
def inbox(request: Request, vue: str = "", current: WebUser = Depends(web_user)):
    mine = current.role is not Role.officer or vue == "moi"
    with session_scope() as session:
        items = build_inbox(session, current.user, current.actor, mine_only=mine)
    on = today()
    return render(request, "inbox.html", section="inbox", items=items, on=on, mine=mine,
                  overdue=sum(1 for i in items if i.overdue(on)))


# --- agrément requests -----------------------------------------------------------------------


@router.get("/demandes", summary="Demandes d'agrément")
def request_list(request: Request, current: WebUser = Depends(web_user)):
    _section(current, "demandes")
    with session_scope() as session:
        rows = []
        for r in requests_svc.list_requests(session, current.actor):
            rows.append((f"/app/demandes/{r.id}", [
                r.reference, _structure_name(session, r.structure_id), _cert(session, r.certification_id).code,
                date_fr(r.submitted_at), REQUEST_STATE_LABELS[r.state], request_waiting_for(r) or "—",
            ]))
    return render(request, "list.html", section="demandes", title="Demandes d'agrément",
                  columns=["Référence", "Structure", "Certification", "Déposée le", "État", "En attente de"],
                  rows=rows, empty="Aucune demande d'agrément.")


def request_context(session: Session, current: WebUser, request_id: int) -> dict[str, Any]:
    r = requests_svc.get_request(session, current.actor, request_id)
    agrement = requests_svc.agrement_of(session, r.id)
    entities = [(AgrementRequest.__tablename__, r.id, "demande")]
    if agrement:
        entities.append((Agrement.__tablename__, agrement.id, "agrément"))
    structure = session.get(Structure, r.structure_id)
    return {
        "r": r,
        "structure": structure,
        "certification": _cert(session, r.certification_id),
        "mandataire": session.get(User, r.mandataire_id),
        "state_label": REQUEST_STATE_LABELS[r.state],
        "waiting_for": request_waiting_for(r),
        "final": AGREMENT_REQUEST.is_final(r.state),
        "pieces": requests_svc.pieces_of(session, r.id),
        "piece_kinds": PIECE_KINDS,
        "documents": list_documents(session, AgrementRequest.__tablename__, r.id),
        "agrement": agrement,
        "agrement_state_label": AGREMENT_STATE_LABELS[agrement.state] if agrement else "",
        "timeline": timeline_rows(session, *entities),
        "actions": request_api_actions(Principal(current.user, current.actor), r),
        "prefect": prefect_links("agrement_request", r.id),
        "complements_days": get_settings().complements_deadline_days,
        "values": {},
    }


REQUEST_DONE = {
    "recevable": "La demande a été déclarée recevable.",
    "complements": "La demande de compléments a été envoyée.",
    "decision": "La décision a été enregistrée.",
    "avis": "Votre avis a été enregistré.",
}


@router.get("/demandes/{request_id}", summary="Demande d'agrément")
def request_page(request: Request, request_id: int, fait: str = "", current: WebUser = Depends(web_user)):
    _section(current, "demandes")
    with session_scope() as session:
        ctx = request_context(session, current, request_id)
    return render(request, "request.html", section="demandes", flash=REQUEST_DONE.get(fait), **ctx)


@router.get("/demandes/{request_id}/pieces/{piece_id}", summary="Pièce d'une demande")
def request_piece(request_id: int, piece_id: int, current: WebUser = Depends(web_user)):
    _section(current, "demandes")
    with session_scope() as session:
        r = requests_svc.get_request(session, current.actor, request_id)
        piece = next((p for p in requests_svc.pieces_of(session, r.id) if p.id == piece_id), None)
        if piece is None:
            raise NotFound("Pièce introuvable.")
    return file_response(get_settings().data_dir / piece.relative_path, piece.original_name, piece.content_type)


def _document(session: Session, entity_type: str, entity_id: int, document_id: int) -> GeneratedDocument:
    doc = session.get(GeneratedDocument, document_id)
    if doc is None or doc.entity_type != entity_type or doc.entity_id != entity_id:
        raise NotFound("Document introuvable.")
    return doc


@router.get("/demandes/{request_id}/documents/{document_id}", summary="Document d'une demande")
def request_document(request_id: int, document_id: int, current: WebUser = Depends(web_user)):
    _section(current, "demandes")
    with session_scope() as session:
        r = requests_svc.get_request(session, current.actor, request_id)
        doc = _document(session, AgrementRequest.__tablename__, r.id, document_id)
    return file_response(get_settings().data_dir / doc.relative_path, doc.filename, doc.content_type)


# --- agréments -------------------------------------------------------------------------------


@router.get("/agrements", summary="Agréments")
def agrement_list(request: Request, current: WebUser = Depends(web_user)):
    _section(current, "agrements")
    with session_scope() as session:
        rows = [(f"/app/agrements/{a.id}", [
            a.number, _structure_name(session, a.structure_id), date_fr(a.start_date), date_fr(a.end_date),
            AGREMENT_STATE_LABELS[a.state],
        ]) for a in requests_svc.list_agrements(session, current.actor)]
    return render(request, "list.html", section="agrements", title="Agréments",
                  columns=["Numéro", "Structure", "Début", "Fin", "État"], rows=rows, empty="Aucun agrément.")


@router.get("/agrements/{agrement_id}", summary="Agrément")
def agrement_page(request: Request, agrement_id: int, current: WebUser = Depends(web_user)):
    _section(current, "agrements")
    with session_scope() as session:
        a = requests_svc.get_agrement(session, current.actor, agrement_id)
        controles = []
        if current.role in SECTION_ROLES["controles"]:
            controles = [c for c in controles_svc.list_controles(session, current.actor) if c.agrement_id == a.id]
        ctx = {
            "a": a, "structure": session.get(Structure, a.structure_id),
            "certification": _cert(session, a.certification_id), "state_label": AGREMENT_STATE_LABELS[a.state],
            "request_row": session.get(AgrementRequest, a.request_id) if a.request_id else None,
            "controles": [(c, CONTROLE_STATE_LABELS[c.state]) for c in controles],
            "timeline": timeline_rows(session, (Agrement.__tablename__, a.id, "agrément")),
            "prefect": prefect_links("agrement", a.id),
        }
    return render(request, "agrement.html", section="agrements", **ctx)


# --- contrôles -------------------------------------------------------------------------------


@router.get("/controles", summary="Contrôles")
def controle_list(request: Request, current: WebUser = Depends(web_user)):
    _section(current, "controles")
    with session_scope() as session:
        rows = []
        for c in controles_svc.list_controles(session, current.actor):
            controleur = session.get(User, c.controleur_id) if c.controleur_id else None
            rows.append((f"/app/controles/{c.id}", [
                c.reference, _structure_name(session, c.structure_id), KIND_LABELS.get(c.kind, c.kind),
                controleur.full_name if controleur else "—", CONTROLE_STATE_LABELS[c.state],
                controle_waiting_for(c) or "—",
            ]))
    return render(request, "list.html", section="controles", title="Contrôles d'agrément",
                  columns=["Référence", "Structure", "Type", "Contrôleur", "État", "En attente de"],
                  rows=rows, empty="Aucun contrôle.")


def controleur_choices(session: Session, c: Controle) -> list[dict[str, Any]]:
    """Active contrôleurs, each with the conflict of interest that forbids him this structure."""
    out = []
    users = session.exec(select(User).where(User.role == Role.controleur.value, User.active.is_(True))
                         .order_by(User.full_name)).all()
    for u in users:
        links = conflicts.conflicting_links(session, u.id, c.structure_id)
        out.append({"id": u.id, "name": u.full_name, "current": u.id == c.controleur_id,
                    "conflict": ", ".join(conflicts.LINK_LABELS[conflicts.LinkKind(link.kind)] for link in links)})
    return out


def controle_context(session: Session, current: WebUser, controle_id: int) -> dict[str, Any]:
    c = controles_svc.get_controle(session, current.actor, controle_id)
    controleur = session.get(User, c.controleur_id) if c.controleur_id else None
    actions = controle_api_actions(Principal(current.user, current.actor), c)
    return {
        "c": c,
        "structure": session.get(Structure, c.structure_id),
        "agrement": session.get(Agrement, c.agrement_id),
        "controleur": controleur,
        "kind_label": KIND_LABELS.get(c.kind, c.kind),
        "state_label": CONTROLE_STATE_LABELS[c.state],
        "waiting_for": controle_waiting_for(c),
        "final": CONTROLE.is_final(c.state),
        "files": controles_svc.files_of(session, c.id),
        "documents": list_documents(session, Controle.__tablename__, c.id),
        "timeline": timeline_rows(session, (Controle.__tablename__, c.id, "contrôle")),
        "actions": actions,
        "controleurs": controleur_choices(session, c) if "assign" in actions else [],
        "prefect": prefect_links("controle", c.id),
        "values": {},
    }


CONTROLE_DONE = {"confier": "Le contrôle a été confié."}


@router.get("/controles/{controle_id}", summary="Contrôle")
def controle_page(request: Request, controle_id: int, fait: str = "", current: WebUser = Depends(web_user)):
    _section(current, "controles")
    with session_scope() as session:
        ctx = controle_context(session, current, controle_id)
    return render(request, "controle.html", section="controles", flash=CONTROLE_DONE.get(fait), **ctx)


@router.get("/controles/{controle_id}/documents/{document_id}", summary="Document d'un contrôle")
def controle_document(controle_id: int, document_id: int, current: WebUser = Depends(web_user)):
    _section(current, "controles")
    with session_scope() as session:
        c = controles_svc.get_controle(session, current.actor, controle_id)
        doc = _document(session, Controle.__tablename__, c.id, document_id)
    return file_response(get_settings().data_dir / doc.relative_path, doc.filename, doc.content_type)


# --- jury sessions ---------------------------------------------------------------------------


@router.get("/jurys", summary="Sessions de jury")
def jury_list(request: Request, current: WebUser = Depends(web_user)):
    _section(current, "jurys")
    with session_scope() as session:
        rows = [(f"/app/jurys/{j.id}", [
            j.reference, _cert(session, j.certification_id).code, datetime_fr(j.scheduled_at),
            j.place or "visioconférence", str(len(jury_svc.candidates_of(session, j.id))), JURY_STATE_LABELS[j.state],
        ]) for j in jury_svc.list_sessions(session, current.actor)]
    return render(request, "list.html", section="jurys", title="Sessions de jury",
                  columns=["Référence", "Certification", "Date", "Lieu", "Candidats", "État"], rows=rows,
                  empty="Aucune session de jury.")


@router.get("/jurys/{session_id}", summary="Session de jury")
def jury_page(request: Request, session_id: int, current: WebUser = Depends(web_user)):
    _section(current, "jurys")
    with session_scope() as session:
        j = jury_svc.get_session(session, current.actor, session_id)
        members = []
        for m in jury_svc.members_of(session, j.id):
            user = session.get(User, m.user_id)
            members.append({"name": user.full_name, "college": COLLEGES.get(m.college, m.college),
                            "president": m.is_president, "present": m.present})
        candidates = []
        for row in jury_svc.candidates_of(session, j.id):
            cand = session.get(Candidate, row.candidate_id)
            candidates.append({"id": cand.id, "reference": cand.reference,
                               "name": f"{cand.first_names} {cand.last_name}",
                               "structure": _structure_name(session, cand.structure_id), "blocs": ", ".join(row.blocs),
                               "outcome": OUTCOME_LABELS.get(row.outcome, "—") if row.outcome else "—"})
        ctx = {
            "j": j, "certification": _cert(session, j.certification_id), "state_label": JURY_STATE_LABELS[j.state],
            "members": members, "candidates": candidates,
            "timeline": timeline_rows(session, (JurySession.__tablename__, j.id, "session")),
            "prefect": prefect_links("jury", j.id),
        }
    return render(request, "jury.html", section="jurys", **ctx)


# --- candidates ------------------------------------------------------------------------------


@router.get("/candidats", summary="Candidats")
def candidate_list(request: Request, current: WebUser = Depends(web_user)):
    _section(current, "candidats")
    with session_scope() as session:
        rows = [(f"/app/candidats/{c.id}", [
            c.reference, f"{c.first_names} {c.last_name}", _structure_name(session, c.structure_id),
            _cert(session, c.certification_id).code, CANDIDATE_STATE_LABELS[c.state],
        ]) for c in candidates_svc.list_candidates(session, current.actor)]
    return render(request, "list.html", section="candidats", title="Candidats",
                  columns=["Référence", "Nom", "Structure", "Certification", "État"], rows=rows,
                  empty="Aucun candidat.")


@router.get("/candidats/{candidate_id}", summary="Candidat")
def candidate_page(request: Request, candidate_id: int, current: WebUser = Depends(web_user)):
    _section(current, "candidats")
    with session_scope() as session:
        c = candidates_svc.get_candidate(session, current.actor, candidate_id)
        held = candidates_svc.held_blocs(session, c)
        ctx = {
            "c": c, "structure": session.get(Structure, c.structure_id),
            "certification": _cert(session, c.certification_id), "state_label": CANDIDATE_STATE_LABELS[c.state],
            "evaluations": [(e, EVALUATION_RESULTS.get(e.result, e.result))
                            for e in candidates_svc.evaluations_of(session, c.id)],
            "held": sorted(held.items()),
            "timeline": timeline_rows(session, (Candidate.__tablename__, c.id, "candidat")),
        }
    return render(request, "candidate.html", section="candidats", **ctx)


# --- appeals ---------------------------------------------------------------------------------


@router.get("/recours", summary="Recours")
def appeal_list(request: Request, current: WebUser = Depends(web_user)):
    _section(current, "recours")
    with session_scope() as session:
        rows = []
        for a in appeals_svc.list_appeals(session, current.actor):
            cand = session.get(Candidate, a.candidate_id)
            rows.append((f"/app/recours/{a.id}", [
                a.reference, f"{cand.first_names} {cand.last_name}", date_fr(a.filed_at), APPEAL_STATE_LABELS[a.state],
            ]))
    return render(request, "list.html", section="recours", title="Recours", rows=rows, empty="Aucun recours.",
                  columns=["Référence", "Candidat", "Déposé le", "État"])


@router.get("/recours/{appeal_id}", summary="Recours")
def appeal_page(request: Request, appeal_id: int, current: WebUser = Depends(web_user)):
    _section(current, "recours")
    with session_scope() as session:
        a = appeals_svc.get_appeal(session, current.actor, appeal_id)
        jury = session.get(JurySession, a.session_id)
        cand = session.get(Candidate, a.candidate_id)
        ctx = {
            "a": a, "candidate": cand, "jury": jury, "state_label": APPEAL_STATE_LABELS[a.state],
            "deadline": appeals_svc.deadline_of(jury),
            "timeline": timeline_rows(session, (Appeal.__tablename__, a.id, "recours")),
            "prefect": prefect_links("jury", jury.id),
        }
    return render(request, "appeal.html", section="recours", **ctx)
