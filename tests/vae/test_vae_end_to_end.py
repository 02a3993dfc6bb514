"""A VAE candidate from the request to the certificate, through the API, with a real Prefect server
running each dossier's flow inline, a real SMTP server and real PDFs read back."""

from __future__ import annotations

import html
import io
import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from certification.db import session_scope
from certification.reporting.queries import activity_report
from certification.settings import reset_settings_cache
from tests.factories import auth, jury_members
from tests.flows.conftest import pdf_text
from tests.web.conftest import app, browser, csrf_of  # noqa: F401  (fixtures)

pytestmark = pytest.mark.integration
CANDIDATE = {"last_name": "N'Diaye", "first_names": "Aïssatou", "birth_date": "1985-04-02", "sex": "F",
             "email": "aissatou@example.org", "contract_type": "CDDI", "contract_start": "2026-01-05",
             "certification_code": "CQP_SP", "pathway": "vae"}
BLOCS = ["SP-B1", "SP-B2", "SP-B3"]


def attached_pdf(message) -> bytes:
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    return part.get_payload(decode=True)


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def test_a_vae_candidate_from_request_to_certificate(prefect_server, smtp, world, pdf_bytes, monkeypatch, settings):
    people = world
    seats = jury_members(people)
    structure, officer, president = auth(people["structure"]), auth(people["officer"]), auth(people["presidente"])
    monkeypatch.setenv("CQP_FLOW_DISPATCH", "inline")
    reset_settings_cache()
    with TestClient(__import__("api.app", fromlist=["create_app"]).create_app()) as client:
        # the structure registers the candidate on the VAE pathway and files the request
        candidate = ok(client.post("/candidates", headers=structure, json=CANDIDATE), 201)
        dossier = ok(client.post("/vae-dossiers", headers=structure,
                                 json={"candidate_id": candidate["id"], "experience": "Six ans en ressourcerie."}), 201)
        did = dossier["id"]
        (receipt,) = smtp.by_subject("Accusé de réception de la demande de VAE")
        assert set(smtp.recipients(-1)) == {"aci1@example.org", "aissatou@example.org", settings.officers_mailbox}
        assert "fera connaître sa décision au plus tard le" in receipt.get_body(("plain",)).get_content()

        # the officer declares it recevable: the letter, attached to the e-mail and downloadable
        dossier = ok(client.post(f"/vae-dossiers/{did}/recevabilite", headers=officer,
                                 json={"decision": "recevable", "reason": "Expérience en rapport avec les trois blocs."}))
        assert dossier["state"] == "recevable"
        (decision,) = smtp.by_subject("Demande de VAE recevable")
        letter = pdf_text(attached_pdf(decision))
        assert "Décision de recevabilité de votre demande de VAE" in letter and "Madame Aïssatou N'Diaye" in letter
        assert all(b in letter for b in BLOCS) and "Expérience en rapport avec les trois blocs." in letter
        (document,) = ok(client.get(f"/vae-dossiers/{did}", headers=structure))["documents"]
        assert document["kind"] == "decision_recevabilite"
        r = client.get(f"/vae-dossiers/{did}/documents/{document['id']}", headers=structure)
        assert r.status_code == 200 and pdf_text(r.content) == letter

        # the accompaniment, then the livret 2: the candidate is ready for the jury
        ok(client.post(f"/vae-dossiers/{did}/accompaniment", headers=structure,
                       json={"accompanist_name": "Hélène Dubois", "organisation": "Centre de bilan", "hours": 24}))
        dossier = ok(client.post(f"/vae-dossiers/{did}/livret2", headers=structure,
                                 files=[("livret2", ("livret 2.pdf", pdf_bytes, "application/pdf"))]))
        assert dossier["state"] == "livret2_depose" and dossier["accompaniment_hours"] == 24
        assert smtp.by_subject("Livret 2 déposé") and settings.officers_mailbox in smtp.recipients(-1)
        assert ok(client.get(f"/candidates/{candidate['id']}", headers=structure))["state"] == "ready_for_jury"

        # a jury session with this candidate (a few seconds ahead: its acts come after its time)
        sid, scheduled_at = convened_session_with(client, people, seats, (candidate["id"], did), pdf_bytes)

        # the interview, then the same deliberation per bloc as any candidate
        results = {"candidate_id": candidate["id"], "results": {b: "validated" for b in BLOCS}}
        r = client.post(f"/jury-sessions/{sid}/results", headers=president, json=results)
        assert r.status_code == 409 and r.json()["code"] == "vae_interview_missing"
        dossier = ok(client.post(f"/vae-dossiers/{did}/interview", headers=president, json={
            "interview_at": scheduled_at.isoformat(), "notes": "Entretien de 45 minutes sur les trois blocs."}))
        assert dossier["state"] == "entretien_realise" and dossier["interview_session_id"] == sid
        ok(client.post(f"/jury-sessions/{sid}/results", headers=president, json=results))
        ok(client.post(f"/jury-sessions/{sid}/close-deliberation", headers=president))
        ok(client.post(f"/jury-sessions/{sid}/sign-pv", headers=president))

        # issuance by the jury flow: the certificate, read back
        check_the_certificate(client, people, candidate["id"])
        assert smtp.by_subject("sultats")  # the results, as for any candidate

    with session_scope() as db:
        row = activity_report(db, datetime.now(UTC).year).totals[0]
    assert (row.vae_requests, row.vae_recevables, row.vae_certified) == (1, 1, 1)


def convened_session_with(client, people, seats, vae, pdf_bytes: bytes) -> tuple[int, datetime]:
    """A jury session of the candidate, a few seconds ahead, convened (its jury reads the livret 2 of
    the VAE dossier), then its composition checked once its time has come."""
    candidate_id, did = vae
    officer = auth(people["officer"])
    scheduled_at = datetime.now(UTC) + timedelta(seconds=4)
    sid = ok(client.post("/jury-sessions", headers=officer, json={
        "certification_code": "CQP_SP", "scheduled_at": scheduled_at.isoformat(), "place": "Lyon, salle Gerland",
        "quorum": 3}), 201)["id"]
    jury = ok(client.post(f"/jury-sessions/{sid}/candidates", headers=officer,
                          json={"candidate_ids": [candidate_id]}))
    assert jury["candidates"][0]["blocs"] == BLOCS
    for seat in seats:
        ok(client.post(f"/jury-sessions/{sid}/members", headers=officer, json={
            "user_id": seat["user"]["id"], "college": seat["college"], "is_president": seat["is_president"]}))
    ok(client.post(f"/jury-sessions/{sid}/convene", headers=officer))
    r = client.get(f"/vae-dossiers/{did}/livret2", headers=auth(people["salarie2"]))
    assert r.status_code == 200 and r.content == pdf_bytes  # the jury reads the livret 2
    assert client.get(f"/vae-dossiers/{did}/livret2", headers=auth(people["outsider"])).status_code == 404
    time.sleep(max(0.0, (scheduled_at - datetime.now(UTC)).total_seconds()) + 0.5)
    ok(client.post(f"/jury-sessions/{sid}/check-composition", headers=officer))
    return sid, scheduled_at


def check_the_certificate(client, people, candidate_id: int) -> None:
    """The certificate issued by the jury flow, its parchment read back by the structure."""
    officer, structure = auth(people["officer"]), auth(people["structure"])
    (certificate,) = ok(client.get("/certificates", headers=officer))["items"]
    assert certificate["kind"] == "certificate" and certificate["candidate_id"] == candidate_id
    detail = ok(client.get(f"/certificates/{certificate['id']}", headers=structure))
    (parchment,) = [d for d in detail["documents"] if d["filename"].endswith(".pdf")][:1]
    r = client.get(f"/certificates/{certificate['id']}/documents/{parchment['id']}", headers=structure)
    assert r.status_code == 200 and PdfReader(io.BytesIO(r.content)).pages
    text = pdf_text(r.content)
    assert "Aïssatou" in text and "N'Diaye" in text and certificate["number"] in text
    assert ok(client.get(f"/candidates/{candidate_id}", headers=structure))["state"] == "certified"


def web_act(who, page_url: str, action: str, fields: dict, files: dict | None = None) -> str:
    """A back-office action as a user takes it: the form posted, then its confirmation page
    confirmed; returns where the answer redirects."""
    page = who.get(page_url)
    assert page.status_code == 200, page.text
    r = who.post(f"{page_url}/{action}", data={"csrf_token": csrf_of(page.text), **fields}, files=files)
    assert r.status_code == 200 and 'name="confirm" value="1"' in r.text, r.text
    hidden = {k: html.unescape(v) for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', r.text)}
    r = who.post(f"{page_url}/{action}", data=hidden)
    assert r.status_code == 303, r.text
    return r.headers["location"]


def test_a_vae_candidate_through_the_back_office(prefect_server, smtp, world, pdf_bytes, monkeypatch, settings,
                                                 browser):  # noqa: F811
    """The same path, the steps of the VAE taken on the back-office pages by the structure, the
    officer and the jury's president (the jury's own steps through the API, as above)."""
    people = world
    seats = jury_members(people)
    officer, president = auth(people["officer"]), auth(people["presidente"])
    monkeypatch.setenv("CQP_FLOW_DISPATCH", "inline")
    reset_settings_cache()
    structure_web, officer_web = browser(people["structure"]), browser(people["officer"])
    with TestClient(__import__("api.app", fromlist=["create_app"]).create_app()) as client:
        candidate = ok(client.post("/candidates", headers=auth(people["structure"]), json=CANDIDATE), 201)
        where = web_act(structure_web, "/app/vae", "deposer", {
            "candidate_id": str(candidate["id"]), **{f"bloc_{b}": "1" for b in BLOCS},
            "experience": "Six ans d'expérience en ressourcerie."})
        did = int(re.match(r"/app/vae/(\d+)", where).group(1))
        assert smtp.by_subject("Accusé de réception de la demande de VAE")
        page = f"/app/vae/{did}"

        web_act(officer_web, page, "recevabilite", {"decision": "recevable",
                                                    "reason": "Expérience en rapport avec les trois blocs."})
        (decision,) = smtp.by_subject("Demande de VAE recevable")
        letter = pdf_text(attached_pdf(decision))
        assert "Madame Aïssatou N'Diaye" in letter and "Expérience en rapport avec les trois blocs." in letter
        web_act(structure_web, page, "accompagnement", {"accompanist_name": "Hélène Dubois",
                                                         "organisation": "Centre de bilan d'Annecy", "hours": "24"})
        web_act(structure_web, page, "livret2", {}, files={"livret2": ("livret 2.pdf", pdf_bytes, "application/pdf")})
        assert smtp.by_subject("Livret 2 déposé")
        shown = structure_web.get(page).text
        assert "livret 2.pdf" in shown and "Hélène Dubois" in shown and "Centre de bilan d&#39;Annecy" in shown

        scheduled_at = datetime.now(UTC) + timedelta(seconds=4)
        sid = ok(client.post("/jury-sessions", headers=officer, json={
            "certification_code": "CQP_SP", "scheduled_at": scheduled_at.isoformat(), "place": "Lyon, salle Gerland",
            "quorum": 3}), 201)["id"]
        ok(client.post(f"/jury-sessions/{sid}/candidates", headers=officer, json={"candidate_ids": [candidate["id"]]}))
        for seat in seats:
            ok(client.post(f"/jury-sessions/{sid}/members", headers=officer, json={
                "user_id": seat["user"]["id"], "college": seat["college"], "is_president": seat["is_president"]}))
        ok(client.post(f"/jury-sessions/{sid}/convene", headers=officer))
        time.sleep(max(0.0, (scheduled_at - datetime.now(UTC)).total_seconds()) + 0.5)
        ok(client.post(f"/jury-sessions/{sid}/check-composition", headers=officer))

        # the interview recorded by the president on the dossier's page (Paris time, to the minute: past)
        interview = datetime.now(UTC).astimezone(ZoneInfo("Europe/Paris"))
        web_act(browser(people["presidente"]), page, "entretien", {
            "interview_at": interview.strftime("%Y-%m-%dT%H:%M"), "notes": "Entretien de 45 minutes."})
        assert ok(client.get(f"/vae-dossiers/{did}", headers=officer))["state"] == "entretien_realise"
        results = {"candidate_id": candidate["id"], "results": {b: "validated" for b in BLOCS}}
        ok(client.post(f"/jury-sessions/{sid}/results", headers=president, json=results))
        ok(client.post(f"/jury-sessions/{sid}/close-deliberation", headers=president))
        ok(client.post(f"/jury-sessions/{sid}/sign-pv", headers=president))

        (certificate,) = ok(client.get("/certificates", headers=officer))["items"]
        detail = ok(client.get(f"/certificates/{certificate['id']}", headers=auth(people["structure"])))
        (parchment,) = [d for d in detail["documents"] if d["filename"].endswith(".pdf")][:1]
        r = client.get(f"/certificates/{certificate['id']}/documents/{parchment['id']}", headers=officer)
        text = pdf_text(r.content)
        assert "Aïssatou" in text and "N'Diaye" in text and certificate["number"] in text
        assert smtp.by_subject("sultats")
        timeline = ok(client.get(f"/vae-dossiers/{did}/timeline", headers=officer))["items"]
        steps = ["file", "declare_recevable", "accompaniment", "deposit_livret2", "record_interview"]
        acted = [e for e in timeline if e["action"] in steps]
        assert [e["action"] for e in acted] == steps
        assert [e["actor_role"] for e in acted] == ["structure", "officer", "structure", "structure", "jury_member"]
