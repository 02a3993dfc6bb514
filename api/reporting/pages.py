"""The certifier's yearly activity report in the back-office (officers): the figures of
``certification.reporting.queries`` laid out by ``documents.activity_report`` (the same as
``GET /reports/activity``), with a year selector and the CSV and PDF downloads."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.web.render import SECTION_ROLES, SECURITY_HEADERS, render
from api.web.router import router
from api.web.session import WebUser, require_roles, web_user
from certification.db import session_scope
from certification.errors import ValidationFailed
from certification.reporting.queries import ActivityReport, activity_report
from documents import activity_report as layout

BASE = "/app/rapport"


def _year(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
        raise ValidationFailed("Année invalide : choisissez une année dans la liste.", code="bad_year")
    return int(raw)


def _report(current: WebUser, annee: str) -> tuple[ActivityReport, list[int]]:
    require_roles(current, SECTION_ROLES["rapport"], "Le rapport d'activité et ses téléchargements")
    year = _year(annee)
    with session_scope() as db:
        every = activity_report(db, None)
        return (activity_report(db, year) if year else every), every.years


def _url(path: str, year: int | None) -> str:
    return f"{path}?{urlencode({'annee': year})}" if year else path


@router.get("/rapport", summary="Rapport d'activité")
def report_page(request: Request, annee: str = "", current: WebUser = Depends(web_user)):
    report, years = _report(current, annee)
    if report.year and report.year not in years:
        years = sorted({*years, report.year})
    return render(
        request,
        "reporting/report.html",
        section="rapport",
        year_choices=years,
        csv_url=_url(f"{BASE}/activite.csv", report.year),
        pdf_url=_url(f"{BASE}/activite.pdf", report.year),
        **layout.activity_context(report),
    )


@router.get("/rapport/activite.csv", summary="Rapport d'activité (CSV)")
def report_csv(annee: str = "", current: WebUser = Depends(web_user)):
    report, _ = _report(current, annee)
    return Response(
        layout.activity_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{layout.csv_filename(report)}"'},
    )


@router.get("/rapport/activite.pdf", summary="Rapport d'activité (PDF)")
async def report_pdf(annee: str = "", current: WebUser = Depends(web_user)):
    report, _ = await run_in_threadpool(_report, current, annee)
    pdf = await run_in_threadpool(layout.activity_pdf, report)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{layout.pdf_filename(report)}"'},
    )
