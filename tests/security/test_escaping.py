"""HTML and script in every text a user types (structure name, candidate names, motivation, comments,
reasons, grounds, places, findings…) are shown literally — never interpreted — in the PDF letters
(pypdf reads the tags back as text), in the e-mails (HTML part escaped, text part literal) and in
the HTML pages (the public verification page, and every other HTML page of the application,
discovered from its routes: activity report, back-office pages when present)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlmodel import select

from api.app import create_app
from certification.controle import service as ctl
from certification.db import session_scope
from certification.jury.models import Certificate
from certification.models import Role
from certification.agrement import service as agr
from certification.jury import issuance
from certification.appeals import service as appeals
from documents.models import GeneratedDocument
from flows.agrement import advance_request
from flows.controle import advance_controle
from flows.certificates import advance_certificate
from flows.jury import advance_jury
from notifications.models import OutboxMessage
from tests.factories import (
    PARTIAL,
    add_user,
    deliberated_session,
    make_users,
    ready_candidates,
    siret,
    structure_account,
    submit_request,
)
from tests.security.conftest import Builder, World, api_routes

pytestmark = pytest.mark.integration
MARK = "XSSMARK"


def hostile(field: str) -> str:
    """A text with a script, a tag and an event handler; ``MARK<field>`` tells where it went."""
    return f"<script>alert('{field}')</script><b>{MARK}{field}</b><img src=x onerror=alert(1)> & Cie"


def folded(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def check_literal(text: str, where: str) -> set[str]:
    """Every MARK in ``text`` comes with its tags, as typed; returns the fields found."""
    flat = folded(text)
    found = set(re.findall(MARK + r"(\w+)", flat))
    for field in found:
        bare = len(re.findall(f"{MARK}{field}(?!\\w)", flat))
        assert bare == flat.count(f"<b>{MARK}{field}</b>"), f"{where}: {field} interpreted"
    if found:
        assert "<script>alert(" in flat, f"{where}: script tag dropped (interpreted?)"
    return found


def check_escaped_html(html: str, where: str) -> set[str]:
    """In HTML, a MARK only ever appears escaped, and no hostile tag made it through."""
    found = set(re.findall(MARK + r"(\w+)", html))
    assert "<script>alert(" not in html, f"{where}: raw script"
    assert "onerror=alert" not in html.replace("onerror=alert(1)&gt;", ""), f"{where}: raw event handler"
    for field in found:
        assert not re.search(f"<b>{MARK}{field}(?!\\w)", html), f"{where}: raw tag around {field}"
        assert f"&lt;b&gt;{MARK}{field}&lt;/b&gt;" in html, f"{where}: {field} not escaped"
    return found


@pytest.fixture
def hostile_world(settings):
    """Every process driven through the real services with hostile texts, and its flows run."""
    people = make_users()
    officer, mandataire = people["officer"]["actor"], people["mandataire"]["actor"]

    # Agrément 1: complements, admissible, avis, granted (the structure's name is hostile).
    rid = submit_request(mandataire, 1, name=hostile("structure"), motivation=hostile("motivation"))
    advance_request(rid)
    with session_scope() as db:
        agr.request_complements(db, officer, rid, hostile("complements"))
    advance_request(rid)
    with session_scope() as db:
        agr.provide_complements(db, mandataire, rid, comment=hostile("answer"))
        agr.declare_admissible(db, officer, rid, hostile("admissible"))
        agr.give_avis(db, mandataire, rid, "favorable", hostile("avis"))
    advance_request(rid)
    with session_scope() as db:
        _, agrement = agr.grant(db, officer, rid, comment=hostile("grant"))
    advance_request(rid)

    # Agrément 2: refused with a hostile reason.
    refused = submit_request(mandataire, 2, name=hostile("structure2"))
    with session_scope() as db:
        agr.declare_admissible(db, officer, refused)
        agr.give_avis(db, mandataire, refused, "defavorable", hostile("avis2"))
        agr.refuse(db, officer, refused, hostile("refusal"))
    advance_request(refused)

    # Candidates with hostile names, a jury at a hostile place with hostile comments, an appeal.
    structure = structure_account(people, siret(1))
    (c1, c2) = ready_candidates(
        structure, 2, names=[(hostile("lastname"), hostile("firstname")), ("Dupont", hostile("firstname2"))]
    )
    sid = deliberated_session(people, [c1, c2], {c2: PARTIAL})
    advance_jury(sid)
    with session_scope() as db:
        appeal = appeals.file_appeal(
            db, structure["actor"], candidate_id=c2, jury_session_id=sid, grounds=hostile("grounds")
        )
        appeals.declare_admissible(db, officer, appeal.id)
        appeals.reject(db, officer, appeal.id, hostile("appealreason"))
        certificate = db.exec(select(Certificate).where(Certificate.candidate_id == c1)).one()
        issuance.correct(db, officer, certificate.id, reason=hostile("correction"), first_names=hostile("corrected"))
    advance_jury(sid)
    advance_certificate(certificate.id)

    # A contrôle: hostile reason, place, findings, summary and decision.
    people["controleur_x"] = add_user("controleur.x@cqp.test", "Contrôleur X", Role.controleur)
    ctrl = people["controleur_x"]["actor"]
    visit_at = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0)
    with session_scope() as db:
        cid = ctl.plan_controle(db, officer, agrement.id, reason=hostile("controlereason")).id
        ctl.assign(db, officer, cid, ctrl.user_id)
        ctl.schedule_visit(db, ctrl, cid, visit_at=visit_at, place=hostile("place"), notes=hostile("notes"))
    advance_controle(cid)
    with time_machine.travel(visit_at + timedelta(days=2), tick=False):
        with session_scope() as db:
            ctl.submit_report(
                db,
                ctrl,
                cid,
                summary=hostile("summary"),
                findings=[{"criterion": hostile("criterion"), "status": "non_conforme", "comment": hostile("finding")}],
            )
        advance_controle(cid)
        with session_scope() as db:
            ctl.decide(
                db,
                officer,
                cid,
                decision="action_plan",
                reason=hostile("decision"),
                action_plan_items=hostile("plan"),
                action_plan_deadline=(visit_at + timedelta(days=60)).date(),
            )
        advance_controle(cid)

    ids = {
        "request_id": rid,
        "agrement_id": agrement.id,
        "candidate_id": c1,
        "session_id": sid,
        "appeal_id": appeal.id,
        "certificate_id": certificate.id,
        "controle_id": cid,
        "number": certificate.number,
        "structure_id": agrement.structure_id,
        "document_id": 1,
    }
    return people, certificate.number, ids


def test_hostile_texts_are_literal_in_pdfs_and_escaped_in_emails(hostile_world, settings):
    with session_scope() as db:
        documents = list(db.exec(select(GeneratedDocument)))
        mails = list(db.exec(select(OutboxMessage)))
    assert len(documents) >= 8 and len(mails) >= 8

    in_pdfs: set[str] = set()
    for doc in documents:
        in_pdfs |= check_literal(pdf_text((settings.data_dir / doc.relative_path).read_bytes()), doc.filename)
    in_mails: set[str] = set()
    for m in mails:
        in_mails |= check_escaped_html(m.body_html, f"{m.dedupe_key} (HTML)")
        in_mails |= check_literal(m.body_text, f"{m.dedupe_key} (text)")
        check_literal(m.subject, f"{m.dedupe_key} (subject)")
    print(f"\nhostile fields shown literally in PDFs: {sorted(in_pdfs)}\nescaped in e-mails: {sorted(in_mails)}")
    # The texts that reach the letters and e-mails were all seen (and checked).
    assert {
        "structure",
        "lastname",
        "firstname",
        "refusal",
        "complements",
        "grounds",
        "appealreason",
        "correction",
        "summary",
        "finding",
        "decision",
        "place",
    } <= in_pdfs | in_mails
    assert {"structure", "lastname", "refusal", "complements"} <= in_pdfs


def test_hostile_texts_are_escaped_in_html_pages(hostile_world):
    people, number, ids = hostile_world
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        key = issuance.checksum(number)
        page = client.get(f"/verify/{number}?c={key}", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert (
            "<script>" not in page.text.split("</head>")[-1] and "&lt;. " in page.text
        )  # the initials of « <script… »
        check_escaped_html(page.text, "verify page")

        # Every other HTML page (found from the routes: the activity report, the back-office pages
        # when present, signed in with the officer's session), on the hostile dossiers.
        builder = Builder(client.get("/openapi.json").json(), World(people, ids=ids, documents={}))
        pages = []
        for route in api_routes(client.app):
            if (
                "GET" not in route.methods
                or route.path.startswith(("/verify", "/docs", "/redoc"))
                or route.path.endswith("/logout")
            ):
                continue
            req = builder.request_as(route, "GET", people["officer"])
            r = client.get(req["url"], headers=req["headers"], params=req["params"], follow_redirects=False)
            assert r.status_code < 500, f"{route.path}: {r.status_code}"
            if r.headers.get("content-type", "").startswith("text/html"):
                pages.append((route.path, sorted(check_escaped_html(r.text, route.path))))
        shown = {field for _, fields in pages for field in fields}
        print(f"\n{len(pages)} HTML page(s) checked besides /verify; hostile fields seen escaped: {sorted(shown)}")
        if any(path.startswith("/app/") for path, _ in pages):  # the back-office shows the dossiers
            assert {"structure", "lastname", "firstname"} <= shown, pages
