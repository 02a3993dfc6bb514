"""Activity report (HTML, CSV, PDF, JSON) and CPF exports through the API; officers only."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlmodel import select

from certification.db import session_scope
from certification.models import Certification
from certification.services.cpf_export import NS, paris_today
from documents.charts import PALETTE
from tests.factories import (
    ReportRows,
    auth,
    deliberated_session,
    grant_agrement,
    issue_results,
    ready_candidates,
    siret,
    structure_account,
)

PUBLISHED = {2023: (130, 22, 9, 2), 2022: (113, 24, 15, 8)}
REGIONS = ["Bretagne", "Île-de-France", "Provence-Alpes-Côte d'Azur"]
HEADERS = ["Année", "Région", "Jurys tenus", "Contrôles d'agrément", "Demandes d'agrément", "Appuis pédagogiques",
           "Certificats délivrés", "Attestations de blocs délivrées", "Demandes de VAE", "Demandes de VAE recevables",
           "Certificats obtenus par la VAE"]


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
        for ref in (xobjects.get_object().values() if xobjects else ()):
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
    from certification.models import Candidate, Certificate, User

    with session_scope() as s:
        personal = {v for c in s.exec(select(Candidate)) for v in (c.last_name, c.first_names, c.email, c.reference)}
        personal |= {v for c in s.exec(select(Certificate))
                     for v in (c.number, c.holder_last_name, c.holder_first_names)}
        personal |= {v for u in s.exec(select(User)) for v in (u.email, u.full_name)}
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

    everything = list(csv.reader(io.StringIO(get(client, people, format="csv").content.decode("utf-8-sig")),
                                 delimiter=";"))
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
        rgb = tuple(int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5))
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
        assert client.post("/exports/cpf", json={"certification_code": "CQP_SP"},
                           headers=auth(people[who])).status_code == 403
        assert client.get("/exports/cpf/overdue", headers=auth(people[who])).status_code == 403
    assert client.get("/reports/activity").status_code == 401
    assert client.get("/exports/cpf/records").status_code == 401
    assert get(client, people, year=1850).status_code == 422
    assert get(client, people, format="xlsx").status_code == 422


def test_escaping_of_region_names(client, people):
    rows = ReportRows(people)
    rows.juries(2, datetime(2023, 5, 1, tzinfo=UTC), region="<script>alert('x')</script>")
    rows.juries(1, datetime(2023, 5, 1, tzinfo=UTC), region="=HYPERLINK(\"http://x\")")
    html = get(client, people, year=2023).text
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    rows_csv = list(csv.reader(io.StringIO(get(client, people, year=2023, format="csv").content.decode("utf-8-sig")),
                               delimiter=";"))
    assert "'=HYPERLINK(\"http://x\")" in [r[1] for r in rows_csv]
    assert get(client, people, year=2023, format="pdf").status_code == 200


# --- CPF export ----------------------------------------------------------------------------------


@pytest.fixture
def certified(people):
    grant_agrement(people, 1)
    structure = structure_account(people, siret(1))
    with session_scope() as s:
        cert = s.exec(select(Certification).where(Certification.code == "CQP_SP")).one()
        cert.registry_code = "RNCP34567"
        s.add(cert)
    ids = ready_candidates(structure, 2, names=[("L'Hôpital <Zoé>", "Anaïs"), ("Ndiaye", "Moussa")])
    issue_results(deliberated_session(people, ids))


def test_cpf_export_round_trip(client, people, certified, settings):
    officer = auth(people["officer"])
    created = client.post("/exports/cpf", json={"certification_code": "CQP_SP"}, headers=officer)
    assert created.status_code == 201, created.text
    batch = created.json()["batch"]
    assert (batch["record_count"], batch["registry_type"], batch["registry_code"]) == (2, "RNCP", "RNCP34567")

    file = client.get(batch["file_url"], headers=officer)
    assert file.status_code == 200 and file.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(file.content)
    ids = [e.text for e in root.iterfind(".//{%s}idTechnique" % NS)]
    names = [e.text for e in root.iterfind(".//{%s}nomNaissance" % NS)]
    assert len(ids) == 2 and "L'Hôpital <Zoé>" in names
    assert [b["id"] for b in client.get("/exports/cpf", headers=officer).json()["items"]] == [batch["id"]]

    records = client.get("/exports/cpf/records", params={"state": "sent"}, headers=officer).json()["items"]
    assert sorted(r["technical_id"] for r in records) == sorted(ids)
    assert all(not r["overdue"] and r["last_batch_reference"] == batch["reference"] for r in records)
    assert client.get("/exports/cpf/overdue", headers=officer).json()["items"] == []

    report = f"idTechnique;statut;message\n{ids[0]};ACCEPTE;\n{ids[1]};REJETE;Prénom invalide\n".encode()
    imported = client.post(f"/exports/cpf/{batch['id']}/report", headers=officer,
                           files={"report": ("compte-rendu.csv", report, "text/csv")})
    assert imported.status_code == 200, imported.text
    body = imported.json()
    assert (body["accepted"], body["rejected"]) == ([ids[0]], [ids[1]])
    assert (body["batch"]["accepted_count"], body["batch"]["rejected_count"]) == (1, 1)
    detail = client.get(f"/exports/cpf/{batch['id']}", headers=officer).json()
    assert {i["technical_id"]: i["outcome"] for i in detail["items"]} == {ids[0]: "accepted", ids[1]: "rejected"}

    again = client.post("/exports/cpf", json={"certification_code": "CQP_SP"}, headers=officer)
    assert again.status_code == 200 and again.json()["batch"] is None  # nothing corrected: no new file

    rejected = next(r for r in client.get("/exports/cpf/records", headers=officer).json()["items"] if r["state"] == "rejected")
    assert rejected["error_message"] == "Prénom invalide"
    resend = client.post(f"/exports/cpf/records/{rejected['id']}/resend", json={"reason": "Erreur côté plateforme"},
                         headers=officer)
    assert resend.status_code == 200 and resend.json()["resend_requested"]
    second = client.post("/exports/cpf", json={"certification_code": "CQP_SP"}, headers=officer).json()["batch"]
    assert (second["record_count"], second["resent_count"]) == (1, 1)

    bad = client.post(f"/exports/cpf/{batch['id']}/report", headers=officer,
                      files={"report": ("cr.xml", b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY b 'c'>]><a/>",
                                        "application/xml")})
    assert bad.status_code == 422 and bad.json()["code"] == "report_doctype"
    assert client.get("/exports/cpf/9999", headers=officer).status_code == 404
    assert client.get("/exports/cpf/9999/file", headers=officer).status_code == 404
    epsp = client.post("/exports/cpf", json={"certification_code": "CQP_EPSP"}, headers=officer)
    assert epsp.status_code == 422 and epsp.json()["code"] == "registry_code_missing"
    assert client.post("/exports/cpf", json={"certification_code": "CQP_XX"}, headers=officer).status_code == 422


def test_cpf_deposit_is_declared_and_traced(client, people, certified):
    officer = auth(people["officer"])
    batch = client.post("/exports/cpf", json={"certification_code": "CQP_SP"}, headers=officer).json()["batch"]
    assert batch["deposited_on"] is None
    url, today = f"/exports/cpf/{batch['id']}/deposit", paris_today()

    future = client.post(url, json={"deposited_on": (today + timedelta(days=1)).isoformat()}, headers=officer)
    assert future.status_code == 422 and future.json()["code"] == "deposit_in_future"
    assert future.json()["detail"] == "La date de dépôt ne peut pas être postérieure à aujourd'hui."
    before = client.post(url, json={"deposited_on": (today - timedelta(days=1)).isoformat()}, headers=officer)
    assert before.status_code == 422 and before.json()["code"] == "deposit_before_batch"
    for body in ({"deposited_on": "31/12/2026"}, {}, {"deposited_on": today.isoformat(), "by": "x"}):
        assert client.post(url, json=body, headers=officer).status_code == 422
    assert client.post(url, json={"deposited_on": today.isoformat()},
                       headers=auth(people["mandataire"])).status_code == 403
    assert client.post("/exports/cpf/9999/deposit", json={"deposited_on": today.isoformat()},
                       headers=officer).status_code == 404

    for _ in range(2):  # the same date again changes nothing
        declared = client.post(url, json={"deposited_on": today.isoformat()}, headers=officer)
        assert declared.status_code == 200 and declared.json()["deposited_on"] == today.isoformat()
    assert client.get(f"/exports/cpf/{batch['id']}", headers=officer).json()["deposited_on"] == today.isoformat()
    trail = client.get(f"/exports/cpf/{batch['id']}/timeline", headers=officer).json()["items"]
    assert [(e["action"], e["actor_role"]) for e in trail] == [("generate", "officer"), ("declare_deposit", "officer")]
    assert trail[1]["data"] == {"deposited_on": today.isoformat(), "previous": None}
    assert client.get(f"/exports/cpf/{batch['id']}/timeline", headers=auth(people["mandataire"])).status_code == 403
