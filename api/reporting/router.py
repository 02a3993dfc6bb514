"""The certifier's yearly activity report (officers): HTML page, CSV for Excel, PDF with charts, JSON."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import Principal, require
from api.public_templates import public_templates
from certification.db import session_scope
from certification.models import Role
from certification.reporting.queries import activity_report
from documents import activity_report as layout

router = APIRouter(prefix="/reports", tags=["rapport d'activité"])

PAGE_TEMPLATE = "rapport_activite.html"
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _url(year: int | None, fmt: str) -> str:
    params = {"year": year} if year else {}
    return f"{router.prefix}/activity?{urlencode({**params, 'format': fmt})}"


def render_page(report) -> str:
    context = layout.activity_context(report)
    context |= {
        "links": {fmt: _url(report.year, fmt) for fmt in ("csv", "pdf", "json")},
        "year_links": [{"year": y, "url": _url(y, "html")} for y in report.years]
        if not report.year
        else [{"year": report.year, "url": _url(report.year, "html")}],
        "all_years_url": _url(None, "html"),
    }
    return public_templates().get_template(PAGE_TEMPLATE).render(**context)


@router.get(
    "/activity",
    summary="Rapport d'activité annuel (jurys, contrôles, demandes d'agrément, appuis, certificats) (chargé·e)",
    responses={
        200: {
            "content": {"text/html": {}, "text/csv": {}, "application/pdf": {}, "application/json": {}},
            "description": "Par année et par région ; sans `year`, toutes les années",
        }
    },
)
def activity(
    year: int | None = Query(default=None, ge=2000, le=2100, description="Année (toutes si absente)"),
    format: Literal["html", "csv", "pdf", "json"] = Query(default="html", description="Format de la réponse"),  # noqa: A002
    _principal: Principal = Depends(require(Role.officer)),
) -> Response:
    with session_scope() as db:
        report = activity_report(db, year)
    if format == "json":
        return JSONResponse(layout.activity_json(report), headers=HEADERS)
    if format == "csv":
        return Response(
            layout.activity_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={**HEADERS, "Content-Disposition": f'attachment; filename="{layout.csv_filename(report)}"'},
        )
    if format == "pdf":
        return Response(
            layout.activity_pdf(report),
            media_type="application/pdf",
            headers={**HEADERS, "Content-Disposition": f'attachment; filename="{layout.pdf_filename(report)}"'},
        )
    return HTMLResponse(render_page(report), headers=HEADERS)
