"""Dossiers and actions of the back-office, table-driven.

A :class:`DossierKind` describes one kind of dossier (a section of the back-office): how to build
the context of its page with the same services as the API (``context``), its list, the documents
and files that may be downloaded from it, and its actions. :func:`register` adds the routes of a
kind: ``GET /app/<section>`` (list, with the forms that create a dossier), ``GET
/app/<section>/<id>`` (the dossier, its timeline, the forms of the actions the user may take),
``POST /app/<section>/<id>/<action>``, ``POST /app/<section>/<action>`` (creations) and the
downloads.

Every action (:class:`FormAction`) takes two steps. The form posts to the action's URL, which
shows a confirmation page (nothing changes yet; files are checked and stored, content-addressed,
and carried to the confirmation by a signed token). The confirmation posts the same fields with
``confirm=1``, the version of the dossier that was shown and the number of events of its
timeline (a change by anyone in between is refused with 409), and a one-time key: the service of
``certification`` is then called — the same as the API's, in one transaction with its audit row
and the idempotency record of that key, so that a repeated confirmation (a double click) answers
the first result without applying anything twice — and the dossier's flow is triggered after
the answer (``flows.dispatch``, as the API does).

The forms offered are those of the dossier's allowed actions for the user (``api_action``, as
:mod:`certification.actions` answers them, for the API too), and the services check the roles
again. Domain errors are shown on the page in French with their status (403, 404, 409, 413, 415,
422), never as a 500; a refused conflict of interest is traced in the audit trail as the API does. Every POST carries the CSRF token of the session.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import inspect
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from fastapi import BackgroundTasks, Depends, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.idempotency import fingerprint, run_idempotent
from api.uploads import file_response, read_form, store_pieces, stored_path, uploaded_file
from api.web.forms import DossierKind, FormAction, Input
from api.web.render import SECTION_ROLES, SECURITY_HEADERS, render
from api.web.router import router
from api.web.session import CSRF_FIELD, WebUser, check_csrf, require_roles, web_user
from certification.audit import Actor
from certification.db import session_scope
from certification.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from certification.services import conflicts
from certification.services.files import PieceIn
from certification.settings import get_settings
from documents.formatting import filesize
from documents.models import GeneratedDocument
from flows import dispatch

FORM_LIMIT = 2_000_000  # bytes of a form without files
MAX_FIELDS = 1000  # an attendance sheet or a list of candidates has a field per row
NONCE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


# --- forms of a page -----------------------------------------------------------------------------


def _resolve(value, ctx: dict, item) -> Any:
    return value(ctx, item) if callable(value) else value


def _input_view(action: FormAction, i: Input, ctx: dict, item, values: Mapping[str, str]) -> dict[str, Any]:
    suffix = f"-{item[0]}" if item else ""
    default = _resolve(i.default, ctx, item)
    rows = []
    for row in (i.rows(ctx, item) if i.rows else ()):
        name = f"{i.prefix}{row[0]}"
        if i.widget == "grid":  # (id, label[, {column: default}])
            defaults = row[2] if len(row) > 2 else {}
            rows.append((row[1], [{
                "name": f"{name}_{c.name}", "label": f"{c.label} ({row[1]})", "widget": c.widget,
                "choices": list(_resolve(c.choices, ctx, item)),
                "value": values.get(f"{name}_{c.name}", defaults.get(c.name, "")),
            } for c in i.columns]))
        else:
            rows.append((name, row[1], values.get(name, row[2] if len(row) > 2 else default)))
    return {
        "id": (i.id or f"{action.key}-{i.name}".replace("_", "-")) + suffix, "name": i.name, "label": i.label,
        "widget": i.widget, "required": i.required, "value": values.get(i.name, default),
        "choices": list(_resolve(i.choices, ctx, item)), "rows": rows, "help": i.help, "attrs": i.attrs,
        "empty": i.empty, "columns": [c.label for c in i.columns],
    }


def forms_for(kind: DossierKind, actions: Mapping[str, FormAction], ctx: dict, current: WebUser,
              base_url: str) -> list[dict[str, Any]]:
    """The forms of the actions ``current`` may take here (its allowed actions), each with the
    values sent when it failed."""
    allowed = ctx.get("actions", ())
    failed = ctx.get("failed")
    out = []
    for action in actions.values():
        if current.role not in action.roles or (action.api_action is not None and action.api_action not in allowed):
            continue
        for item in (action.per(ctx) if action.per else [None]):
            this = (action.key, item[0] if item else "")
            values = ctx.get("values", {}) if failed == this else {}
            suffix = f"-{item[0]}" if item else ""
            out.append({
                "id": f"form-{action.key}{suffix}", "url": f"{base_url}/{action.key}",
                "title": action.title + (f" — {item[1]}" if item else ""),
                "submit": action.submit or action.title, "multipart": bool(action.files),
                "hidden": [(action.per_field, item[0])] if item else [],
                "inputs": [_input_view(action, i, ctx, item, values) for i in action.inputs],
            })
    return out


def dossier_page(request: Request, current: WebUser, kind: DossierKind, entity_id: int, *, flash: str | None = None,
                 error: str | None = None, status: int = 200, values: dict | None = None, failed=None):
    with session_scope() as db:
        ctx = kind.context(db, current, entity_id)
        ctx |= {"values": values or {}, "failed": failed}
        forms = forms_for(kind, kind.actions, ctx, current, kind.url(entity_id))
    return render(request, kind.template, section=kind.section, status=status, error=error, flash=flash,
                  forms=forms, dossier_url=kind.url(entity_id), **ctx)


def list_page(request: Request, current: WebUser, kind: DossierKind, *, flash: str | None = None,
              error: str | None = None, status: int = 200, values: dict | None = None, failed=None):
    with session_scope() as db:
        ctx = kind.listing(db, current)
        ctx |= {"values": values or {}, "failed": failed}
        forms = forms_for(kind, kind.creations, ctx, current, kind.url())
    return render(request, "list.html", section=kind.section, status=status, error=error, flash=flash,
                  forms=forms, **ctx)


# --- files carried from the form to the confirmation ----------------------------------------------


def _mac(current: WebUser, payload: str) -> str:
    key = get_settings().verification_secret.get_secret_value().encode()
    return hmac.new(key, f"cqp-back-office-upload:{current.user.id}:{payload}".encode(), hashlib.sha256).hexdigest()


def sign_pieces(current: WebUser, pieces: Sequence[PieceIn]) -> str:
    payload = base64.urlsafe_b64encode(json.dumps([asdict(p) for p in pieces]).encode()).decode()
    return f"{payload}.{_mac(current, payload)}"


def pieces_of(current: WebUser, token: str) -> list[PieceIn]:
    """The files stored at the first step, from the token of the confirmation (signed: a user
    cannot point to a file he did not upload)."""
    payload, _, mac = token.rpartition(".")
    if not payload or not hmac.compare_digest(mac, _mac(current, payload)):
        raise ValidationFailed("Fichiers joints invalides : recommencez depuis le formulaire.", code="bad_upload_token")
    try:
        pieces = [PieceIn(**row) for row in json.loads(base64.urlsafe_b64decode(payload))]
    except (ValueError, TypeError, binascii.Error):
        raise ValidationFailed("Fichiers joints invalides : recommencez depuis le formulaire.",
                               code="bad_upload_token") from None
    # A confirmation left open past the grace period of the orphan collector (the files are not
    # referenced until it is confirmed) would record pieces whose files are gone.
    data_dir = get_settings().data_dir
    for piece in pieces:
        path = data_dir / piece.relative_path
        if not path.is_file() or path.stat().st_size != piece.size:
            raise ValidationFailed("Les fichiers joints ne sont plus disponibles (confirmation trop tardive) : "
                                   "recommencez depuis le formulaire.", code="upload_expired")
    return pieces


def _files_summary(action: FormAction, pieces: Sequence[PieceIn]) -> str:
    """The files of the confirmation page, each under the label of its input when there are several."""
    if len(action.files) == 1:
        return ", ".join(f"{p.original_name} ({filesize(p.size)})" for p in pieces) or "aucun"
    return "\n".join(f"{action.files[p.kind].label} : {p.original_name} ({filesize(p.size)})"
                     for p in pieces) or "aucun"


def _store_files(action: FormAction, files: list[tuple[str, str, bytes]]) -> list[PieceIn]:
    for name, spec in action.files.items():
        if spec.required and not any(kind == name for kind, _, _ in files):
            raise ValidationFailed(f"Joignez le fichier demandé : {spec.label.lower()}.", code="pieces_required")
    return store_pieces(files) if files else []


# --- the two steps -------------------------------------------------------------------------------


def _stamp(kind: DossierKind, ctx: dict) -> dict[str, str]:
    """What the confirmation carries to detect a change in between: the dossier's version and the
    length of its timeline (every audited action adds a row)."""
    return {"version": str(getattr(ctx[kind.entity], "version", "")), "events": str(len(ctx.get("timeline", ())))}


def _label(entity) -> str:
    return getattr(entity, "reference", None) or getattr(entity, "number", "")


def _check_allowed(action: FormAction, ctx: dict) -> None:
    if action.api_action is not None and action.api_action not in ctx["actions"]:
        if ctx.get("role_refusal"):  # the user may see the dossier, not act on it (e.g. a jury member)
            raise Forbidden(ctx["role_refusal"], code="role_not_allowed")
        state = f" : le dossier est à l'état « {ctx['state_label']} »" if ctx.get("state_label") else ""
        raise Conflict(f"Action « {action.title.lower()} » impossible{state}.", code="invalid_transition")
    if action.per is not None:
        chosen = ctx.get("values", {}).get(action.per_field, "")
        if chosen not in {value for value, _ in action.per(ctx)}:
            raise Conflict(f"Action « {action.title.lower()} » impossible pour cet élément.", code="invalid_transition")


def _trace_refusal(kind: DossierKind, action: FormAction, actor: Actor, exc: conflicts.ConflictOfInterest,
                   entity_id: int) -> None:
    """Keep a trace of a refused assignment, as the API does (own transaction: the refused one rolled back)."""
    with session_scope() as db:
        conflicts.record_refusal(db, actor, exc, entity_type=kind.entity_type, entity_id=entity_id,
                                 action=action.refusal)


async def _confirmation(request: Request, current: WebUser, kind: DossierKind, action: FormAction,
                       entity_id: int | None, ctx: dict, raw: dict, files: list, fail: Any):
    """The confirmation page of an action: what will be done, the form's values carried in hidden
    fields with the dossier's stamp (version, events) and a nonce, the files stored and signed."""
    creation = entity_id is None
    try:
        _check_allowed(action, ctx)
        ctx["uploads"] = [(kind, name) for kind, name, _ in files]
        parsed = action.parse(raw, ctx)
        pieces = await run_in_threadpool(_store_files, action, files)
    except DomainError as exc:
        return await fail(exc)
    hidden = list(raw.items())
    if not creation:
        hidden += list(_stamp(kind, ctx).items())
    if action.files:
        hidden.append(("pieces", sign_pieces(current, pieces)))
    hidden += [("nonce", secrets.token_urlsafe(24)), ("confirm", "1")]
    summary = parsed.summary + ([("Fichiers joints", _files_summary(action, pieces))] if action.files else [])
    return render(request, "confirm.html", section=kind.section, title=parsed.title or action.title,
                  dossier_label=None if creation else _label(ctx[kind.entity]), subject=ctx.get("structure"),
                  summary=summary,
                  hidden=hidden, action_url=request.url.path, cancel_url=kind.url(entity_id),
                  button=action.button, csrf_field=CSRF_FIELD)


def _dispatch(background: BackgroundTasks, kind: DossierKind, action: FormAction, entity_id: int | None,
              values: dict, result: Any) -> None:
    """The flow runs an applied action triggers, after the response."""
    if action.dispatch is not None:
        runs = action.dispatch(entity_id, values, result)
    else:
        runs = [(kind.on_change, entity_id if entity_id is not None else result.id)] if kind.on_change else []
    for name, run_id in runs:
        background.add_task(getattr(dispatch, name), run_id)


async def handle(request: Request, background: BackgroundTasks, current: WebUser, kind: DossierKind,
                 action: FormAction, entity_id: int | None):
    """One POST of an action: the confirmation page, or (``confirm=1``) the action applied once."""
    form, files = {}, []
    if request.headers.get("content-type"):  # no body at all: an empty form (refused below, no CSRF token)
        form, files = await read_form(request, {name: i.label for name, i in action.files.items()},
                                      max_fields=MAX_FIELDS, limit=None if action.files else FORM_LIMIT,
                                      skip_empty=True)
    check_csrf(request, form, current.csrf)
    require_roles(current, SECTION_ROLES[kind.section], kind.title)
    if current.role not in action.roles:
        raise Forbidden(f"L'action « {action.title.lower()} » n'est pas ouverte au rôle « {current.role_label} ».",
                        code="role_not_allowed")
    raw = action.collect(form)
    creation = entity_id is None

    def load(db: Session) -> dict:
        ctx = kind.listing(db, current) if creation else kind.context(db, current, entity_id)
        ctx["values"] = raw
        return ctx

    def load_alone() -> dict:
        with session_scope() as db:
            return load(db)

    ctx = await run_in_threadpool(load_alone)  # 404 for a dossier the user may not see

    def fail(exc: DomainError):
        page = list_page if creation else dossier_page
        args = (request, current, kind) if creation else (request, current, kind, entity_id)
        return run_in_threadpool(page, *args, error=exc.message, status=exc.status_code, values=raw,
                                 failed=(action.key, raw.get(action.per_field, "") if action.per_field else ""))

    if form.get("confirm") != "1":
        return await _confirmation(request, current, kind, action, entity_id, ctx, raw, files, fail)

    nonce = str(form.get("nonce", ""))
    applied: list[tuple[Any, dict]] = []
    try:
        if not NONCE.match(nonce):
            raise ValidationFailed("Confirmation incomplète : recommencez depuis le formulaire.", code="bad_nonce")
        pieces = pieces_of(current, str(form.get("pieces", ""))) if action.files else []

        def work(db: Session):
            ctx_now = load(db)
            ctx_now["uploads"] = [(p.kind, p.original_name) for p in pieces]
            _check_allowed(action, ctx_now)
            parsed = action.parse(raw, ctx_now)
            if not creation and _stamp(kind, ctx_now) != {k: str(form.get(k, "")) for k in ("version", "events")}:
                raise Conflict("Le dossier a été modifié entre-temps par une autre action ; vérifiez-le puis "
                               "recommencez.", code="concurrent_update")
            values = {**parsed.values, "pieces": pieces} if action.files else parsed.values
            result = action.apply(db, current.actor, entity_id, values)
            location = action.redirect(result) if action.redirect else f"{kind.url(entity_id)}?fait={action.key}"
            applied.append((result, values))
            return 303, {"location": location}

        response = await run_in_threadpool(
            lambda: run_idempotent(user_id=current.user.id, key=f"web:{nonce}", method="POST", path=request.url.path,
                                   digest=fingerprint(kind.section, action.key, entity_id, raw), work=work))
    except conflicts.ConflictOfInterest as exc:
        if action.refusal and not creation:
            await run_in_threadpool(_trace_refusal, kind, action, current.actor, exc, entity_id)
        return await fail(exc)
    except DomainError as exc:
        return await fail(exc)
    for result, values in applied:  # nothing when the confirmation is a repeat
        _dispatch(background, kind, action, entity_id, values, result)
    location = json.loads(response.body)["location"]
    return RedirectResponse(location, status_code=303, headers=SECURITY_HEADERS)


# --- routes --------------------------------------------------------------------------------------


def _named(func, *params: str):
    """Give ``func(**ids)`` a signature naming its path parameters (integers), for FastAPI."""
    signature = inspect.signature(func)
    kept = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=int) for name in params]
    func.__signature__ = signature.replace(parameters=kept + extra)
    return func


def done_message(kind: DossierKind, fait: str) -> str | None:
    """The message of ``?fait=<key>``, shown once an action is applied."""
    action = kind.actions.get(fait) or kind.creations.get(fait)
    return action.done if action else kind.messages.get(fait)


def stored_file(files: Sequence[Any], file_id: int) -> tuple[Any, str, str]:
    """Path, name and type of the uploaded file ``file_id`` among ``files`` (rows with ``relative_path``)."""
    return stored_path(uploaded_file(files, file_id))


def _document(db: Session, kind: DossierKind, ctx: dict, document_id: int) -> GeneratedDocument:
    doc = db.get(GeneratedDocument, document_id)
    if doc is None or (doc.entity_type, doc.entity_id) not in kind.documents(db, ctx):
        raise NotFound("Document introuvable.")
    return doc


def register(kind: DossierKind) -> DossierKind:
    """Add the routes of ``kind`` to the back-office."""
    section, param = kind.section, kind.param

    def check(current: WebUser) -> None:
        require_roles(current, SECTION_ROLES[section], kind.title)

    if kind.listing is not None:
        def listing(request: Request, fait: str = "", current: WebUser = Depends(web_user)):
            check(current)
            return list_page(request, current, kind, flash=done_message(kind, fait))

        router.add_api_route(f"/{section}", listing, methods=["GET"], summary=kind.title)

    def page(request: Request, fait: str = "", current: WebUser = Depends(web_user), **ids):
        check(current)
        return dossier_page(request, current, kind, ids[param], flash=done_message(kind, fait))

    router.add_api_route(f"/{section}/{{{param}}}", _named(page, param), methods=["GET"], summary=kind.title)

    for action in kind.creations.values():
        async def create(request: Request, background: BackgroundTasks, current: WebUser = Depends(web_user),
                         action: FormAction = action):  # noqa: B008 - bound per route, not a dependency
            return await handle(request, background, current, kind, action, None)

        create.__signature__ = inspect.signature(create).replace(
            parameters=[p for p in inspect.signature(create).parameters.values() if p.name != "action"])
        router.add_api_route(f"/{section}/{action.key}", create, methods=["POST"], summary=action.title)

    for action in kind.actions.values():
        async def act(request: Request, background: BackgroundTasks, current: WebUser = Depends(web_user),
                      action: FormAction = action, **ids):  # noqa: B008
            return await handle(request, background, current, kind, action, ids[param])

        signature = inspect.signature(act)
        act.__signature__ = signature.replace(parameters=[p for p in signature.parameters.values()
                                                          if p.name != "action"])
        router.add_api_route(f"/{section}/{{{param}}}/{action.key}", _named(act, param), methods=["POST"],
                             summary=action.title)

    if kind.documents is not None:
        def document(current: WebUser = Depends(web_user), **ids):
            check(current)
            with session_scope() as db:
                ctx = kind.context(db, current, ids[param])
                doc = _document(db, kind, ctx, ids["document_id"])
            return file_response(get_settings().data_dir / doc.relative_path, doc.filename, doc.content_type)

        router.add_api_route(f"/{section}/{{{param}}}/documents/{{document_id}}",
                             _named(document, param, "document_id"), methods=["GET"], summary="Document")

    if kind.files is not None:
        def uploaded(current: WebUser = Depends(web_user), **ids):
            check(current)
            with session_scope() as db:
                ctx = kind.context(db, current, ids[param])
                path, name, content_type = kind.files(db, ctx, ids["file_id"])
            return file_response(path, name, content_type)

        router.add_api_route(f"/{section}/{{{param}}}/fichiers/{{file_id}}", _named(uploaded, param, "file_id"),
                             methods=["GET"], summary="Fichier déposé")
    return kind
