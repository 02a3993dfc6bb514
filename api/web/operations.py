"""The operations page of the officers (``/app/operations``): the automatic work and its failures.

What waits for an automatic step and since when, the open incidents (alerts), the last failed
runs with their error, the e-mails pending, in flight or failed, and the last sweep; two actions,
each in two steps (form, then confirmation) and audited: « Relancer le traitement » (run the
dossier's flow now, ``flows.dispatch.changed``) and « Renvoyer » (a failed e-mail gets a fresh
set of attempts). Officers only: other roles get 403.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from fastapi import BackgroundTasks, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from api.web.prefect_links import links as prefect_links
from api.web.render import SECTION_ROLES, SECURITY_HEADERS, render
from api.web.router import router
from api.web.session import CSRF_FIELD, WebUser, check_csrf, require_roles, web_user
from certification.audit import record_event
from certification.db import get_engine, session_scope
from certification.errors import Conflict, NotFound, ValidationFailed
from certification.settings import get_settings
from flows import dispatch, monitoring
from notifications.models import STATUS_FAILED, STATUS_PENDING, OutboxMessage
from notifications.outbox import deliver_pending, requeue
from notifications.transport import build_transport

log = logging.getLogger(__name__)

SECTION = "operations"
WHAT = "Les opérations"
# Process -> (table of the dossier, back-office section of its page).
DOSSIERS = {
    "agrement_request": ("agrement_requests", "demandes"),
    "agrement": ("agrements", "agrements"),
    "controle": ("controles", "controles"),
    "vae": ("vae_dossiers", "vae"),
    "jury": ("jury_sessions", "jurys"),
    "certificate": ("certificates", "certificats"),
    "training_session": ("training_sessions", "formations"),
    "appui": ("appuis", "appuis"),
}
MAIL_STATUS_LABELS = {"pending": "en attente", "sending": "en cours d'envoi", "failed": "en échec", "sent": "envoyé"}
RUN_STATE_LABELS = {"running": "en cours", "completed": "terminé", "failed": "en échec",
                    "crashed": "interrompu (processus arrêté)"}
DONE = {"relance": "Traitement relancé.", "renvoi": "Courriel remis en file d'envoi.",
        "relance-echec": "Le traitement relancé a de nouveau échoué : voir les traitements en échec."}


def dossier_url(process: str, entity_id: int | None) -> str | None:
    if process not in DOSSIERS or entity_id is None:
        return None
    return f"/app/{DOSSIERS[process][1]}/{entity_id}"


def dossier_label(process: str, entity_id: int | None) -> str:
    label = monitoring.PROCESS_LABELS.get(process, process)
    return label if entity_id is None else f"{label} n° {entity_id}"


def _page_context() -> dict:
    with session_scope() as db:
        return {
            "incidents": monitoring.open_flow_incidents(db),
            "undeliverable": monitoring.undeliverable(db),
            "waiting": monitoring.waiting_dossiers(db),
            "failed_runs": monitoring.failed_runs(db),
            "mails": monitoring.mail_queue(db),
            "last_sweep": monitoring.last_sweep(db),
        }


@router.get("/operations", summary="Opérations")
async def operations_page(request: Request, fait: str = "", current: WebUser = Depends(web_user)):
    require_roles(current, SECTION_ROLES[SECTION], WHAT)
    ctx = await run_in_threadpool(_page_context)
    return render(request, "operations.html", section=SECTION, flash=DONE.get(fait), dossier_url=dossier_url,
                  dossier_label=dossier_label, prefect=prefect_links, mail_status=MAIL_STATUS_LABELS,
                  run_state=RUN_STATE_LABELS, alert_flow_failures=get_settings().alert_flow_failures, **ctx)


def _done(what: str) -> RedirectResponse:
    return RedirectResponse(f"/app/operations?{urlencode({'fait': what})}", status_code=303, headers=SECURITY_HEADERS)


def _confirm(request: Request, title: str, summary: list, action_url: str, hidden: list, button: str):
    return render(request, "confirm.html", section=SECTION, title=title, dossier_label=None, subject=None,
                  summary=summary, action_url=action_url, csrf_field=CSRF_FIELD,
                  hidden=[*hidden, ("confirm", "1")], button=button, cancel_url="/app/operations")


def _dossier_of(form) -> tuple[str, int]:
    process = str(form.get("process", ""))
    raw = str(form.get("entity_id", ""))
    if process not in DOSSIERS or not raw.isdigit():
        raise ValidationFailed("Dossier à relancer inconnu.", code="unknown_dossier")
    return process, int(raw)


def _audit_relaunch(current: WebUser, process: str, entity_id: int) -> None:
    table = DOSSIERS[process][0]
    with session_scope() as db:
        record_event(db, entity_type=table, entity_id=entity_id, action="relaunch_flow", actor=current.actor,
                     reason="Traitement automatique relancé depuis la page des opérations",
                     data={"process": process})


@router.post("/operations/relancer", summary="Relancer le traitement d'un dossier")
async def relaunch(request: Request, current: WebUser = Depends(web_user)):
    require_roles(current, SECTION_ROLES[SECTION], WHAT)
    form = await request.form()
    check_csrf(request, form, current.csrf)
    process, entity_id = _dossier_of(form)
    if form.get("confirm") != "1":
        return _confirm(request, "Relancer le traitement", [
            ("Dossier", dossier_label(process, entity_id)),
            ("Effet", "Le traitement automatique du dossier est exécuté maintenant ; les documents et courriels "
                      "déjà produits ne le sont pas une seconde fois."),
        ], "/app/operations/relancer", [("process", process), ("entity_id", str(entity_id))], "Relancer")
    await run_in_threadpool(_audit_relaunch, current, process, entity_id)
    try:
        await dispatch.changed(process, entity_id)
    except Exception:  # noqa: BLE001 - inline mode: the failure is recorded as a failed run
        log.exception("relaunched flow %s:%s failed", process, entity_id)
        return _done("relance-echec")
    return _done("relance")


def _resend(current: WebUser, message_id: int) -> None:
    with session_scope() as db:
        message = db.get(OutboxMessage, message_id)
        if message is None:
            raise NotFound("Ce courriel n'existe pas.", code="message_not_found")
        if message.status != STATUS_FAILED:
            raise Conflict("Ce courriel n'est pas en échec : il n'y a rien à renvoyer.", code="message_not_failed")
        # The audit row first: it also names the new incident, should this message fail again.
        record_event(db, entity_type=monitoring.OUTBOX_ENTITY, entity_id=message_id,
                     action=monitoring.RESEND_ACTION, actor=current.actor, from_state=STATUS_FAILED,
                     to_state=STATUS_PENDING, reason="Courriel renvoyé depuis la page des opérations",
                     data={"attempts": message.attempts, "last_error": (message.last_error or "")[:500]})
        requeue(db, message_id)


def _message_summary(message_id: int) -> list[tuple[str, str]]:
    with session_scope() as db:
        message = db.get(OutboxMessage, message_id)
        if message is None:
            raise NotFound("Ce courriel n'existe pas.", code="message_not_found")
        return [("Courriel", message.subject), ("Destinataires", ", ".join(message.to_addrs)),
                ("Tentatives", str(message.attempts)), ("Dernière erreur", message.last_error or "—")]


async def _deliver_now() -> None:
    try:
        await deliver_pending(get_engine(), build_transport(get_settings()))
    except Exception:  # noqa: BLE001 - the sweep delivers it later
        log.exception("delivery after a resend failed")


@router.post("/operations/courriels/{message_id}/renvoyer", summary="Renvoyer un courriel en échec")
async def resend(request: Request, message_id: int, background: BackgroundTasks,
                 current: WebUser = Depends(web_user)):
    require_roles(current, SECTION_ROLES[SECTION], WHAT)
    form = await request.form()
    check_csrf(request, form, current.csrf)
    if form.get("confirm") != "1":
        summary = await run_in_threadpool(_message_summary, message_id)
        return _confirm(request, "Renvoyer le courriel", summary,
                        f"/app/operations/courriels/{message_id}/renvoyer", [], "Renvoyer")
    await run_in_threadpool(_resend, current, message_id)
    if get_settings().flow_dispatch in ("inline", "background"):
        background.add_task(_deliver_now)
    return _done("renvoi")
