"""The yearly activity report in its three published forms: HTML page context, CSV (Excel) and PDF.

The figures come from :func:`certification.reporting.queries.activity_report`; this module only
lays them out: tables as published (indicators in rows, years in columns), the split per region,
and bar charts drawn as inline SVG (vector in the PDF).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from certification.clock import now
from certification.reporting.queries import INDICATORS, PUBLISHED, ActivityReport, ActivityRow
from certification.settings import get_settings
from documents.charts import bar_chart_svg, hbar_chart_svg
from documents.render import render_pdf

ALL_REGIONS = "Toutes régions"
CSV_HEADERS = ["Année", "Région", *INDICATORS.values()]
PDF_TEMPLATE = "reporting/rapport_activite.html"


def _cell(value: Any) -> Any:
    """Neutralize spreadsheet formulas in text cells (a region typed « =HYPERLINK(...) »)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def activity_csv(report: ActivityReport) -> bytes:
    """UTF-8 with BOM, ``;`` separator, CRLF: opens as is in a French Excel. For each year the
    « Toutes régions » row, then one row per region."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_HEADERS)
    for year in report.years:
        total = report.total(year)
        writer.writerow([year, ALL_REGIONS, *total.values()])
        for row in report.regions_of(year):
            writer.writerow([year, _cell(row.region), *row.values()])
    return buffer.getvalue().encode("utf-8-sig")


def csv_filename(report: ActivityReport) -> str:
    return f"rapport-activite-{report.year}.csv" if report.year else "rapport-activite.csv"


def _row_dict(row: ActivityRow) -> dict[str, Any]:
    return {"year": row.year, "region": row.region or ALL_REGIONS, **{k: getattr(row, k) for k in INDICATORS}}


def charts(report: ActivityReport) -> dict[str, Any]:
    """The year comparison (published indicators) and, for one year, juries per region."""
    labels = {k: INDICATORS[k] for k in PUBLISHED}
    if len(report.years) > 1:
        title = "Activité du certificateur par année"
    else:
        title = f"Activité du certificateur en {report.years[0]}" if report.years else "Activité du certificateur"
    years_chart = bar_chart_svg(
        [str(y) for y in report.years],
        [(label, [getattr(report.total(y), key) for y in report.years]) for key, label in labels.items()],
        title=title,
    )
    regions_chart = None
    focus = report.year or (report.years[-1] if report.years else None)
    rows = report.regions_of(focus) if focus else []
    if rows:
        regions_chart = hbar_chart_svg(
            [r.region for r in rows],
            [r.juries for r in rows],
            title=f"Jurys tenus par région en {focus}",
        )
    return {"years_chart": years_chart, "regions_chart": regions_chart, "regions_year": focus}


def activity_context(report: ActivityReport) -> dict[str, Any]:
    """Template context shared by the HTML page (api/templates) and the PDF (documents/templates)."""
    focus = report.year or (report.years[-1] if report.years else None)
    return {
        "certifier_name": get_settings().certifier_name,
        "generated_at": now(),
        "year": report.year,
        "years": report.years,
        "indicators": [{"key": k, "label": v, "published": k in PUBLISHED} for k, v in INDICATORS.items()],
        "table": [
            {"key": k, "label": v, "figures": [getattr(report.total(y), k) for y in report.years]}
            for k, v in INDICATORS.items()
        ],
        "totals": [_row_dict(r) for r in report.totals],
        "regions": [_row_dict(r) for r in report.regions_of(focus)] if focus else [],
        "regions_total": _row_dict(report.total(focus)) if focus else None,
        "appuis_available": report.appuis_available,
        **charts(report),
    }


def activity_pdf(report: ActivityReport) -> bytes:
    return render_pdf(PDF_TEMPLATE, activity_context(report))


def pdf_filename(report: ActivityReport) -> str:
    return f"rapport-activite-{report.year}.pdf" if report.year else "rapport-activite.pdf"


def activity_json(report: ActivityReport) -> dict[str, Any]:
    return {
        "year": report.year,
        "years": report.years,
        "indicators": dict(INDICATORS),
        "appuis_available": report.appuis_available,
        "totals": [r.as_dict() for r in report.totals],
        "regions": [r.as_dict() for r in report.regions],
    }
