"""Activity report (HTML, CSV, PDF, JSON) and CPF exports through the API; officers only."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader
from sqlmodel import select

from certification.db import session_scope
from documents.charts import PALETTE
from tests.factories import (
    ReportRows,
    auth,
)

PUBLISHED = {2023: (130, 22, 9, 2), 2022: (113, 24, 15, 8)}
REGIONS = ["Bretagne", "Île-de-France", "Provence-Alpes-Côte d'Azur"]
HEADERS = [
    "Année",
    "Région",
    "Jurys tenus",
    "Contrôles d'agrément",
    "Demandes d'agrément",
    "Appuis pédagogiques",
    "Certificats délivrés",
    "Attestations de blocs délivrées",
    "Demandes de VAE",
    "Demandes de VAE recevables",
    "Certificats obtenus par la VAE",
]


@pytest.fixture
def published(people):
    """The published 2022 and 2023 figures, spread over three regions."""
    rows = ReportRows(people)
    appuis = True
    for year, (juries, controles, requests, n_appuis) in PUBLISHED.items():
        for r, region in enumerate(REGIONS):
            at = datetime(year, 3 + r, 12, 10, tzinfo=UTC)
            share = lambda n: n // 3 + (1 if r < n % 3 else 0)  # noqa: E731, B023 (called in the same iteration)
            rows.juries(share(juries), at, region=region)
            rows.controles(share(controles), at, region=region, state=["compliant", "action_plan", "closed"][r])
            rows.agrement_requests(share(requests), at, region=region)
            appuis = rows.appuis(share(n_appuis), at, region=region)
        rows.juries(4, datetime(year, 6, 1, tzinfo=UTC), state="planned")
    rows.certificates(3, datetime(2023, 7, 1).date(), region="Bretagne")
    return appuis


def get(client, people, who="officer", **params):
    return client.get("/reports/activity", params=params, headers=auth(people[who]))


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


def pdf_drawing(data: bytes) -> tuple[str, int]:
    """All content streams of the PDF (pages and their form XObjects), and the count of images."""
    reader = PdfReader(io.BytesIO(data))
    streams, images = [], 0

    def walk(resources):
        nonlocal images
        xobjects = (resources or {}).get("/XObject")
        for ref in xobjects.get_object().values() if xobjects else ():
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Image":
                images += 1
            elif obj.get("/Subtype") == "/Form":
                streams.append(obj.get_data().decode("latin-1"))
                walk(obj.get("/Resources"))

    for page in reader.pages:
        streams.append(page.get_contents().get_data().decode("latin-1"))
        walk(page.get("/Resources"))
    return "\n".join(streams), images


def fill_colors(content: str) -> list[tuple[float, float, float]]:
    return [tuple(float(x) for x in m) for m in re.findall(r"([\d.]+) ([\d.]+) ([\d.]+) rg", content)]


def test_json_and_html_page(client, people, published):
    body = get(client, people, year=2023, format="json").json()
    total = body["totals"][0]
    assert (total["juries"], total["controles"], total["agrement_requests"]) == PUBLISHED[2023][:3]
    if published:
        assert total["appuis"] == 2
    assert sorted(r["region"] for r in body["regions"]) == sorted(REGIONS)
    assert sum(r["juries"] for r in body["regions"]) == 130

    page = get(client, people, year=2023)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<table id="chiffres-cles">' in html and '<table id="regions">' in html
    row = re.search(r"Jurys tenus</th>\s*<td class=\"num\">(\d+)</td>", html)
    assert row and row.group(1) == "130"
    assert re.search(r"Contrôles d&#39;agrément</th>\s*<td class=\"num\">22</td>", html)
    assert "Provence-Alpes-Côte d&#39;Azur" in html and "<svg" in html
    assert "/reports/activity?year=2023&amp;format=csv" in html

    several = get(client, people, format="json").json()
    assert several["years"] == [2022, 2023]
    assert [t["juries"] for t in several["totals"]] == [113, 130]
    html = get(client, people).text
    assert re.search(r"Jurys tenus</th>\s*<td class=\"num\">113</td>\s*<td class=\"num\">130</td>", html)


def test_the_activity_report_holds_no_personal_data(client, people, published):
    """Counts only: no holder, candidate or account is named in any format of the report."""
    from certification.candidates.models import Candidate
    from certification.models import User
    from certification.jury.models import Certificate

    with session_scope() as db:
        personal = {v for c in db.exec(select(Candidate)) for v in (c.last_name, c.first_names, c.email, c.reference)}
        personal |= {
            v for c in db.exec(select(Certificate)) for v in (c.number, c.holder_last_name, c.holder_first_names)
        }
        personal |= {v for u in db.exec(select(User)) for v in (u.email, u.full_name)}
    personal = {v for v in personal if v and len(v) > 3}
    assert any("@" in v for v in personal) and len(personal) > 10
    outputs = [get(client, people, year=2023, format=f).text for f in ("json", "csv")] + [get(client, people).text]
    outputs.append(pdf_text(get(client, people, year=2023, format="pdf").content))
    for text in outputs:
        assert not [v for v in personal if v.casefold() in text.casefold()]


def test_csv_for_excel(client, people, published):
    response = get(client, people, year=2023, format="csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="rapport-activite-2023.csv"' in response.headers["content-disposition"]
    data = response.content
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0] == HEADERS
    assert rows[1][:5] == ["2023", "Toutes régions", "130", "22", "9"]
    if published:
        assert rows[1][5] == "2"
    assert rows[1][6] == "3"  # the certificates
    by_region = {r[1]: r for r in rows[2:]}
    assert set(by_region) == set(REGIONS)
    assert by_region["Provence-Alpes-Côte d'Azur"][2] == "43"  # 130 = 44 + 43 + 43
    assert sum(int(r[2]) for r in rows[2:]) == 130

    everything = list(
        csv.reader(io.StringIO(get(client, people, format="csv").content.decode("utf-8-sig")), delimiter=";")
    )
    totals = {r[0]: r for r in everything[1:] if r[1] == "Toutes régions"}
    assert totals["2022"][2:5] == ["113", "24", "15"]
    if published:
        assert totals["2022"][5] == "8"


def test_pdf_with_figures_and_vector_chart(client, people, published):
    response = get(client, people, year=2023, format="pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Rapport d'activité 2023" in text
    assert "Jurys tenus 130" in text and "Contrôles d'agrément 22" in text and "Demandes d'agrément 9" in text
    if published:
        assert "Appuis pédagogiques 2" in text
    assert "Activité du certificateur en 2023" in text  # the chart's title, drawn as text
    assert "Jurys tenus par région en 2023" in text
    content, images = pdf_drawing(response.content)
    assert images == 0  # no raster image: the chart is vector
    colors = fill_colors(content)
    for hex_color in PALETTE[:4]:  # one bar colour per published indicator
        rgb = tuple(int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5))
        assert any(all(abs(a - b) < 0.002 for a, b in zip(c, rgb, strict=True)) for c in colors), hex_color
    assert len(re.findall(r" re\b", content)) >= 8  # the bars (and cells)

    several = pdf_text(get(client, people, format="pdf").content)
    assert "Jurys tenus 113 130" in several and "Activité du certificateur par année" in several


def test_only_officers(client, people):
    from tests.factories import add_user

    people["jury"] = add_user("jury@jury.example.org", "Jury", "jury_member")
    for who in ("mandataire", "controleur", "formateur", "jury"):
        for fmt in ("html", "csv", "pdf", "json"):
            assert get(client, people, who, format=fmt).status_code == 403
        assert client.get("/exports/cpf", headers=auth(people[who])).status_code == 403
        assert (
            client.post("/exports/cpf", json={"certification_code": "CQP_SP"}, headers=auth(people[who])).status_code
            == 403
        )
        assert client.get("/exports/cpf/overdue", headers=auth(people[who])).status_code == 403
    assert client.get("/reports/activity").status_code == 401
    assert client.get("/exports/cpf/records").status_code == 401
    assert get(client, people, year=1850).status_code == 422
    assert get(client, people, format="xlsx").status_code == 422


def test_escaping_of_region_names(client, people):
    rows = ReportRows(people)
    rows.juries(2, datetime(2023, 5, 1, tzinfo=UTC), region="<script>alert('x')</script>")
    rows.juries(1, datetime(2023, 5, 1, tzinfo=UTC), region='=HYPERLINK("http://x")')
    html = get(client, people, year=2023).text
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    rows_csv = list(
        csv.reader(io.StringIO(get(client, people, year=2023, format="csv").content.decode("utf-8-sig")), delimiter=";")
    )
    assert '\'=HYPERLINK("http://x")' in [r[1] for r in rows_csv]
    assert get(client, people, year=2023, format="pdf").status_code == 200
