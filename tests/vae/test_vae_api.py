"""The VAE pathway through the API and the back-office, and who may see what: a structure its own
candidates' dossiers, a jury member the livret 2 of his sessions' candidates only (404 otherwise)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import UTC, datetime, timedelta

from tests.factories import auth, jury_members
from tests.web.conftest import app, browser, csrf_of  # noqa: F401  (fixtures)

CANDIDATE = {"last_name": "N'Diaye", "first_names": "Aïssatou", "birth_date": "1985-04-02", "sex": "F",
             "email": "aissatou@example.org", "contract_type": "CDDI", "contract_start": "2026-01-05",
             "certification_code": "CQP_SP", "pathway": "vae"}


def register(client, structure: dict, **overrides) -> dict:
    r = client.post("/candidates", headers=auth(structure), json={**CANDIDATE, **overrides})
    assert r.status_code == 201, r.text
    return r.json()


def test_roles_on_vae_dossiers(client, world, pdf_bytes):
    people = world
    structure, other, officer = auth(people["structure"]), auth(people["other_structure"]), auth(people["officer"])
    candidate = register(client, people["structure"])
    assert candidate["pathway"] == "vae" and candidate["vae_dossier_id"] is None
    trained = register(client, people["structure"], pathway="formation", last_name="Martin")

    r = client.post("/vae-dossiers", headers=structure, json={"candidate_id": trained["id"]})
    assert r.status_code == 409 and r.json()["code"] == "not_a_vae_candidate"
    r = client.post("/vae-dossiers", headers=other, json={"candidate_id": candidate["id"]})
    assert r.status_code == 404
    r = client.post("/vae-dossiers", headers=structure,
                    json={"candidate_id": candidate["id"], "requested_blocs": ["SP-B1", "SP-B2"],
                          "experience": "Six ans en ressourcerie."})
    assert r.status_code == 201, r.text
    dossier = r.json()
    did = dossier["id"]
    assert dossier["state"] == "demande_deposee" and [b["code"] for b in dossier["requested_blocs"]] == ["SP-B1", "SP-B2"]
    assert dossier["allowed_actions"] == ["abandon"]
    assert client.get(f"/candidates/{candidate['id']}", headers=structure).json()["vae_dossier_id"] == did

    assert client.get(f"/vae-dossiers/{did}", headers=other).status_code == 404
    assert client.get("/vae-dossiers", headers=other).json()["items"] == []
    assert client.get("/vae-dossiers", headers=auth(people["mandataire"])).status_code == 403
    assert client.get(f"/vae-dossiers/{did}", headers=officer).json()["allowed_actions"] == ["recevabilite", "abandon"]
    r = client.post(f"/vae-dossiers/{did}/recevabilite", headers=structure, json={"decision": "recevable"})
    assert r.status_code == 403
    r = client.post(f"/vae-dossiers/{did}/recevabilite", headers=officer, json={"decision": "non_recevable"})
    assert r.status_code in (409, 422)
    r = client.post(f"/vae-dossiers/{did}/recevabilite", headers=officer, json={"decision": "recevable"})
    assert r.status_code == 200 and r.json()["state"] == "recevable"

    r = client.post(f"/vae-dossiers/{did}/livret2", headers=structure,
                    files=[("livret2", ("livret2.txt", b"pas un PDF", "text/plain"))])
    assert r.status_code in (415, 422)
    r = client.post(f"/vae-dossiers/{did}/livret2", headers=other,
                    files=[("livret2", ("livret 2.pdf", pdf_bytes, "application/pdf"))])
    assert r.status_code == 404
    r = client.post(f"/vae-dossiers/{did}/livret2", headers=structure,
                    files=[("livret2", ("livret 2.pdf", pdf_bytes, "application/pdf"))])
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "livret2_depose" and r.json()["livret2"]["original_name"] == "livret 2.pdf"
    assert client.get(f"/candidates/{candidate['id']}", headers=structure).json()["state"] == "ready_for_jury"
    r = client.get(f"/candidates/{candidate['id']}/personal-data", headers=officer)  # right of access
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        assert archive.read("vae/livret2-livret 2.pdf") == pdf_bytes
        exported = json.loads(archive.read(next(n for n in archive.namelist() if n.endswith(".json"))))
    assert exported["vae_dossier"]["reference"] == dossier["reference"]
    assert exported["vae_dossier"]["experience"] == "Six ans en ressourcerie."

    # the jury: its members read the livret 2 of its candidates, no one else's
    seats = jury_members(people)
    at = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    r = client.post("/jury-sessions", headers=officer, json={"certification_code": "CQP_SP", "scheduled_at": at,
                                                               "place": "Lyon", "quorum": 3})
    sid = r.json()["id"]
    r = client.post(f"/jury-sessions/{sid}/candidates", headers=officer, json={"candidate_ids": [candidate["id"]]})
    assert r.status_code == 200 and r.json()["candidates"][0]["blocs"] == ["SP-B1", "SP-B2"]
    for seat in seats:
        client.post(f"/jury-sessions/{sid}/members", headers=officer,
                    json={"user_id": seat["user"]["id"], "college": seat["college"], "is_president": seat["is_president"]})
    member, outsider = auth(people["salarie1"]), auth(people["outsider"])
    r = client.get(f"/vae-dossiers/{did}/livret2", headers=member)
    assert r.status_code == 200 and r.content == pdf_bytes
    assert client.get(f"/vae-dossiers/{did}/livret2", headers=outsider).status_code == 404
    assert client.get(f"/vae-dossiers/{did}", headers=outsider).status_code == 404
    assert client.get("/vae-dossiers", headers=outsider).json()["items"] == []
    assert client.get(f"/vae-dossiers/{did}/livret2", headers=other).status_code == 404
    assert client.get(f"/vae-dossiers/{did}/livret2", headers=structure).status_code == 200
    r = client.post(f"/vae-dossiers/{did}/interview", headers=member,
                    json={"interview_at": datetime.now(UTC).isoformat()})
    assert r.status_code == 403 and r.json()["code"] == "not_president"
    r = client.post(f"/vae-dossiers/{did}/interview", headers=auth(people["presidente"]),
                    json={"interview_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()})
    assert r.status_code == 409  # not held yet
    timeline = client.get(f"/vae-dossiers/{did}/timeline", headers=officer).json()["items"]
    assert [e["action"] for e in timeline] == ["file", "declare_recevable", "deposit_livret2"]


def test_the_back_office_page_and_the_request_form(client, world, browser):  # noqa: F811
    people = world
    first = register(client, people["structure"])
    second = register(client, people["structure"], last_name="Da Silva", first_names="João")
    r = client.post("/vae-dossiers", headers=auth(people["structure"]), json={"candidate_id": first["id"]})
    did = r.json()["id"]

    officer = browser(people["officer"])
    page = officer.get(f"/app/vae/{did}")
    assert page.status_code == 200
    assert "Dossier de VAE VAE-" in page.text and "demande déposée" in page.text
    assert 'id="form-recevabilite"' in page.text and 'id="form-abandonner"' in page.text
    assert 'id="form-livret2"' not in page.text and "N&#39;Diaye" in page.text
    assert f'href="/app/vae/{did}"' in officer.get(f"/app/candidats/{first['id']}").text
    assert "VAE" in officer.get("/app/vae").text

    structure = browser(people["structure"])
    listing = structure.get("/app/vae")
    assert listing.status_code == 200 and 'id="form-deposer"' in listing.text and "Da Silva" in listing.text
    assert 'id="form-recevabilite"' not in structure.get(f"/app/vae/{did}").text
    r = structure.post("/app/vae/deposer", data={"csrf_token": csrf_of(listing.text),
                                                 "candidate_id": str(second["id"]), "bloc_SP-B3": "1",
                                                 "experience": "Agent de tri depuis 2019."})
    assert r.status_code == 200 and 'name="confirm" value="1"' in r.text
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', r.text))
    r = structure.post("/app/vae/deposer", data=hidden)
    assert r.status_code == 303 and r.headers["location"].endswith("?fait=deposer")
    created = structure.get(r.headers["location"]).text
    assert "SP-B3" in created and "Agent de tri depuis 2019." in created
    assert browser(people["other_structure"]).get(r.headers["location"].split("?")[0]).status_code == 404


def test_the_officer_inbox_shows_the_recevabilite_to_decide(client, world, browser):  # noqa: F811
    people = world
    candidate = register(client, people["structure"])
    assert "start-training" not in candidate["allowed_actions"] and "evaluations" not in candidate["allowed_actions"]
    did = client.post("/vae-dossiers", headers=auth(people["structure"]), json={"candidate_id": candidate["id"]}).json()["id"]
    inbox = browser(people["officer"]).get("/app/").text
    assert f'href="/app/vae/{did}"' in inbox and "Décider de la recevabilité de la demande de VAE" in inbox
    assert f'href="/app/vae/{did}"' not in browser(people["structure"]).get("/app/").text


def test_jury_members_reach_the_livret2_from_their_session_page_only(client, world, browser, pdf_bytes):  # noqa: F811
    people = world
    structure, officer = auth(people["structure"]), auth(people["officer"])
    candidate = register(client, people["structure"])
    did = client.post("/vae-dossiers", headers=structure, json={"candidate_id": candidate["id"]}).json()["id"]
    client.post(f"/vae-dossiers/{did}/recevabilite", headers=officer, json={"decision": "recevable"})
    client.post(f"/vae-dossiers/{did}/livret2", headers=structure,
                files=[("livret2", ("livret 2.pdf", pdf_bytes, "application/pdf"))])
    seats = jury_members(people)
    sid = client.post("/jury-sessions", headers=officer, json={
        "certification_code": "CQP_SP", "scheduled_at": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
        "place": "Lyon", "quorum": 3}).json()["id"]
    client.post(f"/jury-sessions/{sid}/candidates", headers=officer, json={"candidate_ids": [candidate["id"]]})
    for seat in seats:
        client.post(f"/jury-sessions/{sid}/members", headers=officer, json={
            "user_id": seat["user"]["id"], "college": seat["college"], "is_president": seat["is_president"]})

    member = browser(people["salarie1"])
    assert f'href="/app/vae/{did}"' in member.get(f"/app/jurys/{sid}").text
    page = member.get(f"/app/vae/{did}").text
    assert "livret 2.pdf" in page and 'id="form-recevabilite"' not in page and 'id="form-entretien"' not in page
    r = member.get(f"/app/vae/{did}/fichiers/1")
    assert r.status_code == 200 and r.content == pdf_bytes
    outsider = browser(people["outsider"])
    assert outsider.get(f"/app/vae/{did}").status_code == 404
    assert outsider.get(f"/app/vae/{did}/fichiers/1").status_code == 404
    president = browser(people["presidente"]).get(f"/app/vae/{did}").text
    assert 'id="form-entretien"' in president
