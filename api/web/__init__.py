"""The back-office of the certifier as server-rendered pages (``/app/...``, French, Jinja2).

``router`` holds every page; ``static_files()`` serves the stylesheet (mounted at ``/app/static``
before the router is included, so that the catch-all 404 page does not hide it).
"""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.staticfiles import StaticFiles

from api.web import integrity, login, operations, pages, referentiels  # noqa: F401 - register the routes, in this order
from api.reporting import pages as report_pages  # noqa: F401
from api.candidates import pages as candidate_pages  # noqa: F401 - the dossier kinds, in this order
from api.jury import pages_certificates  # noqa: F401
from api.controle import pages as controle_pages  # noqa: F401
from api.training import pages as training_pages  # noqa: F401
from api.training import pages_appuis  # noqa: F401
from api.vae import pages as vae_pages  # noqa: F401
from api.jury import pages as jury_pages  # noqa: F401
from api.appeals import pages as appeal_pages  # noqa: F401
from api.agrement import pages as agrement_pages  # noqa: F401
from api.web.render import STATIC_DIR, error_page, render
from api.web.router import router
from api.web.session import WebUser, web_user


@router.get("/logout", summary="Déconnexion")
def logout_page(request: Request, _current: WebUser = Depends(web_user)):
    return render(request, "logout.html")


@router.get("/{path:path}", summary="Page introuvable")
def not_found(request: Request, path: str, _current: WebUser = Depends(web_user)):
    return error_page(request, 404, "Cette page n'existe pas.")


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)


__all__ = ["router", "static_files"]
