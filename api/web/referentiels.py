"""The référentiels page of the officers (``/app/referentiels``): the versions of each
certification's référentiel, and a new version in three steps, each form with its CSRF token:
upload a file (checked, nothing written) → its preview (what changes against the version in force)
→ load it as a draft; then activate a draft on a date, today or later (audited on the
certification, like ``cqp referentiels`` and the API). Officers only: other roles get 403."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.web.render import SECTION_ROLES, SECURITY_HEADERS, render
from api.web.router import router
from api.web.session import CSRF_FIELD, WebUser, check_csrf, require_roles, web_user
from certification.db import session_scope
from certification.errors import ValidationFailed
from certification.models import Certification
from certification.referentiel import service
from certification.referentiel.schema import MAX_BYTES, ReferentielFile, ReferentielInvalid, parse

SECTION = "referentiels"
WHAT = "Les référentiels"
DONE = {"charge": "Version chargée (brouillon) : activez-la à sa date d'entrée en vigueur.",
        "deja": "Ce contenu était déjà chargé : rien n'a changé.",
        "active": "Version activée : elle entre en vigueur à la date indiquée."}


def _page_context() -> dict:
    from sqlmodel import select

    with session_scope() as db:
        rows = []
        for cert in db.exec(select(Certification).order_by(Certification.code)):
            assert cert.id is not None
            rows.append({"code": cert.code, "title": cert.title, "versions": [
                {"label": v.label, "title": v.title, "registry": f"{v.registry_kind or '—'} "
                 f"{v.registry_code or '(sans numéro)'}", "state": service.state_of(db, v),
                 "valid_from": v.valid_from, "valid_until": v.valid_until, "source": v.source,
                 "draft": v.status == "draft"} for v in service.versions_of(db, cert.id)]})
        return {"certifications": rows}


async def _page(request: Request, *, flash: str | None = None, errors: list[str] | None = None, status: int = 200) -> Response:
    ctx = await run_in_threadpool(_page_context)
    return render(request, "referentiels.html", status=status, section=SECTION, flash=flash,
                  upload_errors=errors or [], csrf_field=CSRF_FIELD, max_kib=MAX_BYTES // 1024, **ctx)


@router.get("/referentiels", summary="Référentiels")
async def referentiels_page(request: Request, fait: str = "", current: WebUser = Depends(web_user)) -> Response:
    require_roles(current, SECTION_ROLES[SECTION], WHAT)
    return await _page(request, flash=DONE.get(fait))


def _done(what: str) -> RedirectResponse:
    return RedirectResponse(f"/app/referentiels?{urlencode({'fait': what})}", status_code=303,
                            headers=SECURITY_HEADERS)


def _day(raw: object, label: str) -> date | None:
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"{label} invalide : une date au format AAAA-MM-JJ.", code="bad_date") from None


def _preview(current: WebUser, model: ReferentielFile, name: str) -> list[str]:
    with session_scope() as db:
        return service.describe(service.preview(db, current.actor, model, name))


@router.post("/referentiels/apercu", summary="Aperçu d'une nouvelle version")
async def preview_upload(request: Request, current: WebUser = Depends(web_user)) -> Response:
    """Step 2: the uploaded file checked and compared; nothing is written."""
    require_roles(current, SECTION_ROLES[SECTION], WHAT)
    form = await request.form()
    check_csrf(request, form, current.csrf)
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return await _page(request, errors=["Choisissez le fichier YAML de la version."], status=422)
    data = await upload.read(MAX_BYTES + 1)
    name = upload.filename.rsplit("/", 1)[-1][:200]
    try:
        model = parse(data, name)
        lines = await run_in_threadpool(_preview, current, model, name)
    except ReferentielInvalid as exc:
        return await _page(request, errors=exc.errors, status=422)
    activate_on = _day(form.get("activate_on"), "Date d'entrée en vigueur")
    summary = [("Fichier", name), ("Ce qui change", "\n".join(lines))]
    if activate_on:
        summary.append(("Entrée en vigueur", activate_on.strftime("%d/%m/%Y")))
    return render(request, "confirm.html", section=SECTION, title="Charger la version du référentiel",
                  dossier_label=None, subject=None, summary=summary, action_url="/app/referentiels/charger",
                  csrf_field=CSRF_FIELD, hidden=[("filename", name), ("content", data.decode("utf-8")),
                                                 ("activate_on", activate_on.isoformat() if activate_on else "")],
                  button="Charger la version", cancel_url="/app/referentiels")


def _load(current: WebUser, model: ReferentielFile, name: str, activate_on: date | None, reason: str) -> bool:
    with session_scope() as db:
        _, created = service.load_version(db, current.actor, model, source=name, activate_on=activate_on,
                                          reason=reason or None)
        return created


@router.post("/referentiels/charger", summary="Charger une nouvelle version")
async def load(request: Request, current: WebUser = Depends(web_user)) -> Response:
    """Step 3: the previewed content loaded as a draft (activated too when a date was given)."""
    require_roles(current, SECTION_ROLES[SECTION], WHAT)
    form = await request.form()
    check_csrf(request, form, current.csrf)
    name = str(form.get("filename") or "fichier.yaml")[:200]
    try:
        model = parse(str(form.get("content") or "").encode("utf-8"), name)
    except ReferentielInvalid as exc:
        return await _page(request, errors=exc.errors, status=422)
    activate_on = _day(form.get("activate_on"), "Date d'entrée en vigueur")
    created = await run_in_threadpool(_load, current, model, name, activate_on, "Chargée depuis le back-office")
    return _done(("active" if activate_on else "charge") if created else "deja")


def _activate(current: WebUser, code: str, label: str, on: date | None, reason: str) -> None:
    with session_scope() as db:
        service.activate_version(db, current.actor, code, label, on=on, reason=reason or None)


@router.post("/referentiels/{code}/{label}/activer", summary="Activer une version")
async def activate(request: Request, code: str, label: str, current: WebUser = Depends(web_user)) -> Response:
    require_roles(current, SECTION_ROLES[SECTION], WHAT)
    form = await request.form()
    check_csrf(request, form, current.csrf)
    on = _day(form.get("on"), "Date d'entrée en vigueur")
    await run_in_threadpool(_activate, current, code[:20], label[:20], on, str(form.get("reason") or "").strip())
    return _done("active")
