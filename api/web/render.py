"""HTML rendering of the back-office: the Jinja2 environment (autoescaped, strict), the common
page context, security headers, and the route class that turns errors into French pages."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from api.errors import database_unavailable
from certification.clock import today
from certification.errors import DomainError
from certification.models import Role
from certification.settings import get_settings
from documents.render import make_environment
from api.web.session import LoginRequired

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

env = make_environment(TEMPLATES_DIR, autoescape_extensions=("html",))

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

# Sections of the back-office and the roles whose services give access to them (see the
# ``_query`` functions of certification.services.*): the navigation shows only these.
SECTIONS: list[tuple[str, str, frozenset[Role]]] = [
    ("demandes", "Demandes d'agrément", frozenset({Role.officer, Role.mandataire, Role.structure})),
    ("agrements", "Agréments", frozenset({Role.officer, Role.mandataire, Role.structure})),
    ("controles", "Contrôles", frozenset({Role.officer, Role.controleur, Role.structure})),
    ("jurys", "Jurys", frozenset({Role.officer, Role.jury_member})),
    ("candidats", "Candidats", frozenset({Role.officer, Role.structure, Role.jury_member})),
    ("vae", "VAE", frozenset({Role.officer, Role.structure, Role.jury_member})),
    ("certificats", "Certificats", frozenset({Role.officer, Role.structure})),
    ("recours", "Recours", frozenset({Role.officer, Role.structure})),
    ("formations", "Formations EPSP", frozenset({Role.officer, Role.formateur, Role.structure})),
    ("appuis", "Appuis pédagogiques", frozenset({Role.officer, Role.formateur, Role.structure})),
    ("rapport", "Rapport d'activité", frozenset({Role.officer})),
    ("referentiels", "Référentiels", frozenset({Role.officer})),
    ("integrite", "Intégrité", frozenset({Role.officer})),
    ("operations", "Opérations", frozenset({Role.officer})),
]
SECTION_ROLES = {key: roles for key, _, roles in SECTIONS}


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    current = getattr(request.state, "web_user", None)
    base = {
        "current": current,
        "csrf": current.csrf if current else "",
        "nav": [(key, label) for key, label, roles in SECTIONS if current and current.role in roles],
        "section": context.pop("section", ""),
        "today": today(),
        "error": None,
        "flash": None,
        "path": request.url.path,
    }
    html = env.get_template(template).render(**{**base, **context})
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def error_page(request: Request, status: int, message: str, title: str | None = None) -> HTMLResponse:
    titles = {400: "Requête invalide", 401: "Connexion requise", 403: "Accès refusé", 404: "Page introuvable",
              409: "Action impossible", 413: "Envoi trop volumineux", 422: "Données invalides",
              500: "Erreur interne", 503: "Service indisponible"}
    return render(request, "error.html", status=status, title=title or titles.get(status, "Erreur"),
                  message=message, status_code=status)


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = "/app/login" if request.method != "GET" or target in ("/app/", "/app") \
        else f"/app/login?next={quote(target, safe='/')}"
    return RedirectResponse(location, status_code=303, headers=SECURITY_HEADERS)


class WebRoute(APIRoute):
    """A page: errors become French HTML pages (never JSON, never a 500 with a traceback), an
    anonymous visitor is sent to the login form, and every answer carries the security headers."""

    def get_route_handler(self) -> Callable:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except LoginRequired:
                return login_redirect(request)
            except DomainError as exc:
                return error_page(request, exc.status_code, exc.message)
            except RequestValidationError:
                return error_page(request, 404, "Cette page n'existe pas.")
            except HTTPException as exc:
                detail = exc.detail if isinstance(exc.detail, str) else "Erreur."
                return error_page(request, exc.status_code, detail)
            except Exception as exc:
                if database_unavailable(exc):
                    log.warning("back-office page %s: database unavailable", request.url.path)
                    page = error_page(request, 503, "Le service est momentanément indisponible (base de données "
                                                    "injoignable). Réessayez dans quelques instants.")
                    page.headers["Retry-After"] = str(get_settings().db_retry_after_seconds)
                    return page
                log.exception("back-office page %s failed", request.url.path)
                return error_page(request, 500, "Une erreur interne est survenue ; l'incident est journalisé.")
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return handler
