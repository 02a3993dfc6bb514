"""Login and logout of the back-office: the session token lives in an HttpOnly, SameSite=Strict
cookie; the login form itself is protected by a double-submit token (no session yet)."""

from __future__ import annotations

import hmac

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from api.security import client_address
from api.throttle import TooManyAttempts, throttle
from api.web.render import SECURITY_HEADERS, render
from api.web.router import router
from api.web.session import (
    COOKIE_PATH,
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    WebUser,
    check_csrf,
    new_login_nonce,
    revoke,
    safe_next,
    web_user,
)
from certification.db import session_scope
from certification.services.users import login, user_for_token
from certification.settings import get_settings

LOGIN_PATH = "/app/login"


def _login_form(request: Request, *, next_url: str, email: str = "", error: str | None = None, status: int = 200):
    nonce = new_login_nonce()
    response = render(request, "login.html", status=status, next_url=next_url, email=email, login_csrf=nonce,
                      error=error)
    response.set_cookie(LOGIN_CSRF_COOKIE, nonce, path=LOGIN_PATH, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=3600)
    return response


def _signed_in(request: Request) -> bool:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        return False
    with session_scope() as db:
        return user_for_token(db, token) is not None


@router.get("/login", summary="Connexion")
def login_page(request: Request, next: str = ""):  # noqa: A002 - the query parameter is called next
    target = safe_next(next)
    if _signed_in(request):
        return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
    return _login_form(request, next_url=target)


@router.post("/login", summary="Connexion")
async def login_submit(request: Request):
    form = await request.form()
    email, password = str(form.get("email", ""))[:254], str(form.get("password", ""))[:200]
    target = safe_next(str(form.get("next", "")))
    sent, expected = str(form.get(CSRF_FIELD, "")), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(sent, expected):
        return _login_form(request, next_url=target, email=email, status=403,
                           error="Le formulaire de connexion a expiré. Saisissez de nouveau vos identifiants.")
    if not email.strip() or not password:
        return _login_form(request, next_url=target, email=email, status=422,
                           error="Saisissez votre adresse e-mail et votre mot de passe.")
    ttl = get_settings().token_ttl_hours
    client = client_address(request)
    try:
        throttle.check(email, client)
    except TooManyAttempts as exc:
        response = _login_form(request, next_url=target, email=email, status=429, error=exc.message)
        response.headers["Retry-After"] = str(exc.details["retry_after_seconds"])
        return response

    def attempt():
        with session_scope() as db:
            result = login(db, email, password, ttl_hours=ttl)
            return None if result is None else result[1]

    token = await run_in_threadpool(attempt)
    if token is None:
        throttle.failed(email, client)
        return _login_form(request, next_url=target, email=email, status=401,
                           error="Adresse e-mail ou mot de passe incorrect.")
    throttle.succeeded(email)
    response = RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
    response.set_cookie(SESSION_COOKIE, token, path=COOKIE_PATH, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=ttl * 3600)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=LOGIN_PATH)
    return response


@router.post("/logout", summary="Déconnexion")
async def logout(request: Request, current: WebUser = Depends(web_user)):
    form = await request.form()
    check_csrf(request, form, current.csrf)
    await run_in_threadpool(revoke, current.token)
    response = RedirectResponse(LOGIN_PATH, status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response
