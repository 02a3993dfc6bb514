"""Actions of the back-office, each in two steps: the form posts to ``/app/<dossier>/<action>``,
which shows a confirmation page (nothing changes yet); the confirmation posts the same fields
with ``confirm=1`` and the version of the dossier that was shown, and only then the service of
``certification`` is called — the same as the API's, in one transaction with its audit row —
and the dossier's flow is triggered after the answer (``flows.dispatch``, as the API does).

Domain errors are shown on the dossier page in French, with their status (403, 404, 409, 422),
never as a 500. Every POST carries the CSRF token of the session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import BackgroundTasks, Depends, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.web.pages import controle_context, request_context
from api.web.render import SECTION_ROLES, SECURITY_HEADERS, render
from api.web.router import router
from api.web.session import CSRF_FIELD, WebUser, check_csrf, require_roles, web_user
from certification.audit import Actor
from certification.clock import today
from certification.db import session_scope
from certification.errors import Conflict, DomainError, Forbidden, ValidationFailed
from certification.models import Controle, Role
from certification.services import agrement as requests_svc
from certification.services import conflicts
from certification.services import controle as controles_svc
from documents.formatting import date_fr
from flows import dispatch

MAX_TEXT = 10000


@dataclass(frozen=True)
class Parsed:
    values: dict[str, Any]
    summary: list[tuple[str, str]]  # what the confirmation page shows
    title: str | None = None


@dataclass(frozen=True)
class FormAction:
    key: str  # URL segment
    title: str  # heading of the confirmation page
    roles: frozenset[Role]  # roles that may ever take it (others: 403)
    api_action: str  # must be among the dossier's allowed actions (the API's rules)
    fields: tuple[str, ...]  # form fields carried from the form to the confirmation
    parse: Callable[[Mapping[str, str], dict], Parsed]
    apply: Callable[[Session, Actor, int, dict], Any]
    button: str = "Confirmer"


@dataclass(frozen=True)
class DossierKind:
    section: str
    template: str
    url: Callable[[int], str]
    context: Callable[[Session, WebUser, int], dict]
    entity: str  # key of the dossier in the context
    on_change: str  # name of the flows.dispatch function (looked up when called)
    actions: dict[str, FormAction] = field(default_factory=dict)


def _text(form: Mapping[str, str], name: str, *, required: str | None = None) -> str:
    value = form.get(name, "").strip()
    if required and not value:
        raise ValidationFailed(required, code="field_required")
    if len(value) > MAX_TEXT:
        raise ValidationFailed(f"Texte trop long ({MAX_TEXT} caractères au plus).", code="text_too_long")
    return value


# --- agrément requests -----------------------------------------------------------------------


def _parse_admissible(form, _ctx) -> Parsed:
    comment = _text(form, "comment")
    return Parsed({"comment": comment}, [("Commentaire", comment or "—")])


def _parse_complements(form, ctx) -> Parsed:
    message = _text(form, "message", required="Précisez les compléments demandés.")
    raw = form.get("deadline_days", "").strip() or str(ctx["complements_days"])
    try:
        days = int(raw)
    except ValueError:
        raise ValidationFailed("Le délai de réponse doit être un nombre de jours.", code="bad_deadline") from None
    if not 1 <= days <= 180:
        raise ValidationFailed("Le délai de réponse doit être compris entre 1 et 180 jours.", code="bad_deadline")
    return Parsed({"message": message, "days": days}, [
        ("Compléments demandés", message),
        ("Délai de réponse", f"{days} jours, soit jusqu'au {date_fr(today() + timedelta(days=days))}"),
    ])


DECISIONS = {"grant": "Accorder l'agrément", "refuse": "Refuser l'agrément"}


def _parse_decision(form, _ctx) -> Parsed:
    decision = form.get("decision", "")
    if decision not in DECISIONS:
        raise ValidationFailed("Choisissez d'accorder ou de refuser l'agrément.", code="decision_required")
    reason = _text(form, "reason", required="Un refus doit être motivé." if decision == "refuse" else None)
    label = "Motif du refus" if decision == "refuse" else "Commentaire"
    return Parsed({"decision": decision, "reason": reason},
                  [("Décision", DECISIONS[decision].lower()), (label, reason or "—")], title=DECISIONS[decision])


def _apply_decision(session: Session, actor: Actor, request_id: int, v: dict):
    if v["decision"] == "grant":
        return requests_svc.grant(session, actor, request_id, comment=v["reason"])[0]
    return requests_svc.refuse(session, actor, request_id, v["reason"])


AVIS = {"favorable": "favorable", "defavorable": "défavorable"}


def _parse_avis(form, _ctx) -> Parsed:
    avis = form.get("avis", "")
    if avis not in AVIS:
        raise ValidationFailed("Choisissez un avis favorable ou défavorable.", code="avis_required")
    comment = _text(form, "comment", required="Un avis défavorable doit être motivé." if avis == "defavorable" else None)
    return Parsed({"avis": avis, "comment": comment}, [("Avis", AVIS[avis]), ("Motivation", comment or "—")])


O, M = frozenset({Role.officer}), frozenset({Role.mandataire})
REQUEST_ACTIONS = {
    a.key: a for a in (
        FormAction("recevable", "Déclarer la demande recevable", O, "admissible", ("comment",), _parse_admissible,
                   lambda s, actor, i, v: requests_svc.declare_admissible(s, actor, i, v["comment"])),
        FormAction("complements", "Demander des compléments", O, "request-complements",
                   ("message", "deadline_days"), _parse_complements,
                   lambda s, actor, i, v: requests_svc.request_complements(s, actor, i, v["message"],
                                                                           deadline_days=v["days"]),
                   button="Confirmer et envoyer la demande"),
        FormAction("decision", "Décider", O, "decision", ("decision", "reason"), _parse_decision, _apply_decision),
        FormAction("avis", "Rendre l'avis", M, "avis", ("avis", "comment"), _parse_avis,
                   lambda s, actor, i, v: requests_svc.give_avis(s, actor, i, v["avis"], v["comment"])),
    )
}


# --- contrôles -------------------------------------------------------------------------------


def _parse_assign(form, ctx) -> Parsed:
    raw = form.get("controleur_id", "").strip()
    choice = next((c for c in ctx["controleurs"] if str(c["id"]) == raw), None)
    if choice is None:
        raise ValidationFailed("Choisissez un contrôleur dans la liste.", code="controleur_required")
    summary = [("Contrôleur", choice["name"])]
    if choice["conflict"]:
        summary.append(("Attention", f"conflit d'intérêts déclaré : {choice['conflict']}"))
    return Parsed({"controleur_id": choice["id"]}, summary)


CONTROLE_ACTIONS = {
    "confier": FormAction("confier", "Confier le contrôle", O, "assign", ("controleur_id",), _parse_assign,
                          lambda s, actor, i, v: controles_svc.assign(s, actor, i, v["controleur_id"])),
}

KINDS = {
    "demandes": DossierKind("demandes", "request.html", lambda i: f"/app/demandes/{i}", request_context, "r",
                            "agrement_request_changed", REQUEST_ACTIONS),
    "controles": DossierKind("controles", "controle.html", lambda i: f"/app/controles/{i}", controle_context, "c",
                             "controle_changed", CONTROLE_ACTIONS),
}


# --- the two steps ---------------------------------------------------------------------------


def _page(request: Request, current: WebUser, kind: DossierKind, entity_id: int, *, error: str, status: int,
          values: dict):
    with session_scope() as session:
        ctx = kind.context(session, current, entity_id)
    ctx["values"] = values
    return render(request, kind.template, section=kind.section, status=status, error=error, **ctx)


def _trace_refusal(actor: Actor, exc: conflicts.ConflictOfInterest, controle_id: int) -> None:
    """Keep a trace of a refused assignment, as the API does (own transaction: the refused one rolled back)."""
    with session_scope() as session:
        conflicts.record_refusal(session, actor, exc, entity_type=Controle.__tablename__, entity_id=controle_id,
                                 action="assign")


async def handle(request: Request, background: BackgroundTasks, current: WebUser, kind_key: str, action_key: str,
                 entity_id: int):
    kind = KINDS[kind_key]
    action = kind.actions[action_key]
    form = await request.form()
    check_csrf(request, form, current.csrf)
    require_roles(current, SECTION_ROLES[kind.section], "Ces dossiers")
    if current.role not in action.roles:
        raise Forbidden(f"L'action « {action.title.lower()} » n'est pas ouverte au rôle « {current.role_label} ».",
                        code="role_not_allowed")
    raw = {name: str(form.get(name, "")) for name in action.fields}

    def load():
        with session_scope() as session:
            return kind.context(session, current, entity_id)

    ctx = await run_in_threadpool(load)  # 404 for a dossier the user may not see
    entity = ctx[kind.entity]

    def fail(exc: DomainError):
        return run_in_threadpool(_page, request, current, kind, entity_id, error=exc.message,
                                 status=exc.status_code, values=raw)

    if action.api_action not in ctx["actions"]:
        return await fail(Conflict(f"Action « {action.title.lower()} » impossible : le dossier est à l'état "
                                   f"« {ctx['state_label']} ».", code="invalid_transition"))
    try:
        parsed = action.parse(raw, ctx)
    except ValidationFailed as exc:
        return await fail(exc)

    if form.get("confirm") != "1":
        hidden = [(name, value) for name, value in raw.items()] + [("version", str(entity.version)), ("confirm", "1")]
        return render(request, "confirm.html", section=kind.section, title=parsed.title or action.title,
                      dossier=entity, subject=ctx.get("structure"), summary=parsed.summary, hidden=hidden,
                      action_url=request.url.path, cancel_url=kind.url(entity_id), button=action.button,
                      csrf_field=CSRF_FIELD)

    def apply():
        with session_scope() as session:
            ctx_now = kind.context(session, current, entity_id)
            if str(ctx_now[kind.entity].version) != str(form.get("version", "")):
                raise Conflict("Le dossier a été modifié entre-temps par une autre action ; vérifiez-le puis "
                               "recommencez.", code="concurrent_update")
            action.apply(session, current.actor, entity_id, parsed.values)

    try:
        await run_in_threadpool(apply)
    except conflicts.ConflictOfInterest as exc:
        await run_in_threadpool(_trace_refusal, current.actor, exc, entity_id)
        return await fail(exc)
    except DomainError as exc:
        return await fail(exc)
    background.add_task(getattr(dispatch, kind.on_change), entity_id)
    return RedirectResponse(f"{kind.url(entity_id)}?fait={action.key}", status_code=303, headers=SECURITY_HEADERS)


@router.post("/demandes/{request_id}/recevable", summary="Déclarer recevable")
async def request_admissible(request: Request, request_id: int, background: BackgroundTasks,
                             current: WebUser = Depends(web_user)):
    return await handle(request, background, current, "demandes", "recevable", request_id)


@router.post("/demandes/{request_id}/complements", summary="Demander des compléments")
async def request_complements(request: Request, request_id: int, background: BackgroundTasks,
                              current: WebUser = Depends(web_user)):
    return await handle(request, background, current, "demandes", "complements", request_id)


@router.post("/demandes/{request_id}/decision", summary="Décider")
async def request_decision(request: Request, request_id: int, background: BackgroundTasks,
                           current: WebUser = Depends(web_user)):
    return await handle(request, background, current, "demandes", "decision", request_id)


@router.post("/demandes/{request_id}/avis", summary="Rendre l'avis")
async def request_avis(request: Request, request_id: int, background: BackgroundTasks,
                       current: WebUser = Depends(web_user)):
    return await handle(request, background, current, "demandes", "avis", request_id)


@router.post("/controles/{controle_id}/confier", summary="Confier le contrôle")
async def controle_assign(request: Request, controle_id: int, background: BackgroundTasks,
                          current: WebUser = Depends(web_user)):
    return await handle(request, background, current, "controles", "confier", controle_id)
