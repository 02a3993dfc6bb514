"""Sessions of the back-office pages: login cookie, CSRF tokens, role checks.

The session is an API token (``certification.services.users.login``) kept in an HttpOnly,
SameSite=Strict cookie scoped to ``/app``: pages authenticate exactly like the API, and the
token is never readable by scripts. Every POST form carries a CSRF token derived from the
session token (HMAC), checked in constant time; the login form, which has no session yet, uses
a double-submit cookie. A POST whose ``Origin`` header names another site is refused as well.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request
from sqlmodel import select

from certification.audit import Actor
from certification.clock import now
from certification.db import session_scope
from certification.errors import DomainError, Forbidden
from certification.models import ROLE_LABELS_FR, ApiToken, Role, User
from certification.services.users import user_for_token

SESSION_COOKIE = "cqp_session"
LOGIN_CSRF_COOKIE = "cqp_login_csrf"
COOKIE_PATH = "/app"
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """No valid session: the page answers with a redirection to the login form."""


class CsrfFailure(DomainError):
    status_code = 403
    code = "csrf_failed"


@dataclass(frozen=True)
class WebUser:
    user: User
    actor: Actor
    token: str

    @property
    def role(self) -> Role:
        return self.actor.role

    @property
    def role_label(self) -> str:
        return ROLE_LABELS_FR[self.actor.role]

    @property
    def csrf(self) -> str:
        return csrf_for(self.token)


def csrf_for(session_token: str) -> str:
    """The CSRF token of a session: unforgeable without the (HttpOnly) session token."""
    return hmac.new(session_token.encode(), b"cqp-back-office-csrf", hashlib.sha256).hexdigest()


def new_login_nonce() -> str:
    return secrets.token_urlsafe(32)


def web_user(request: Request) -> WebUser:
    """Dependency of every page: the signed-in user, or :class:`LoginRequired`."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        raise LoginRequired()
    with session_scope() as db:
        user = user_for_token(db, token)
    if user is None:
        raise LoginRequired()
    current = WebUser(user, Actor.of(user), token)
    request.state.web_user = current
    return current


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin:  # old browsers and non-browser clients; the token still protects the form
        return True
    if origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", request.url.netloc)


def check_csrf(request: Request, form, expected: str) -> None:
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected) \
            or not _same_origin(request):
        raise CsrfFailure(
            "Le formulaire a expiré ou ne provient pas de cette application (jeton de sécurité invalide). "
            "Rechargez la page et recommencez.",
        )


def require_roles(current: WebUser, roles: frozenset[Role] | set[Role] | tuple[Role, ...], what: str) -> None:
    if current.role not in roles:
        raise Forbidden(f"{what} ne sont pas accessibles au rôle « {current.role_label} ».", code="role_not_allowed")


def revoke(token: str) -> None:
    """End a session: its token is revoked (the same token table as the API's)."""
    digest = hashlib.sha256(token.encode()).hexdigest()  # as certification.services.users stores it
    with session_scope() as db:
        row = db.exec(select(ApiToken).where(ApiToken.token_hash == digest)).first()
        if row is not None and row.revoked_at is None:
            row.revoked_at = now()
            db.add(row)


def safe_next(target: str | None) -> str:
    """Only a path of the back-office may follow the login (no open redirection)."""
    if target and target.startswith("/app/") and not target.startswith("//") and "\\" not in target \
            and not target.startswith("/app/login") and not target.startswith("/app/logout"):
        return target
    return "/app/"
