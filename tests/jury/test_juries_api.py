"""Jury sessions through the API: a full jury (plan, members, candidates, convocation, attendance,
composition refused then accepted, results, closing, PV), roles (a jury member sees only his
sessions, only the president records and signs), conflicts of interest (409 + trace), the ZIP
of the session's documents and certificates (the appeals in tests/appeals)."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlmodel import select

from certification.db import session_scope
from certification.models import AuditEvent
from certification.jury.models import Certificate, JurySession
from certification.settings import get_settings
from documents.models import GeneratedDocument
from documents.storage import write_generated
from tests.factories import (
    ALL_VALIDATED,
    PARTIAL,
    auth,
    deliberated_session,
    issue_results,
    jury_members,
    two_structures_with_a_candidate,
)


@pytest.fixture
def world(people):
    return two_structures_with_a_candidate(people)


def scheduled(days: int = 14) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def plan(client, people, **overrides) -> dict:
    body = {
        "certification_code": "CQP_SP",
        "scheduled_at": scheduled(),
        "place": "Maison de la branche, Lyon",
        "quorum": 3,
        **overrides,
    }
    r = client.post("/jury-sessions", headers=auth(people["officer"]), json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_full_jury_through_the_api(client, world, request):
    """One session from planning to the signed PV and the issued certificates, step by step."""
    people = world
    seats = jury_members(people)  # presidente (employeur), employeur2, salarie1, salarie2
    sid = plan_refusing_bad_input(client, people)
    add_candidates_and_members(client, people, sid, seats)
    convene_and_check_visibility(client, people, sid)
    attendance_and_composition(client, people, sid, seats, request)
    deliberate_and_sign(client, people, sid)
    check_timeline_and_issuance(client, people, sid)


def plan_refusing_bad_input(client, people) -> int:
    """Planning: naive datetime, past date, no place are refused; the session is planned in two hours."""
    officer = auth(people["officer"])
    r = client.post(
        "/jury-sessions",
        headers=officer,
        json={"certification_code": "CQP_SP", "scheduled_at": "2027-03-02T09:00:00", "place": "x"},
    )
    assert r.status_code == 422 and r.json()["code"] == "naive_datetime"
    r = client.post(
        "/jury-sessions",
        headers=officer,
        json={"certification_code": "CQP_SP", "scheduled_at": scheduled(-1), "place": "x"},
    )
    assert r.status_code == 422 and r.json()["code"] == "session_in_past"
    r = client.post(
        "/jury-sessions", headers=officer, json={"certification_code": "CQP_SP", "scheduled_at": scheduled()}
    )
    assert r.status_code == 422 and r.json()["code"] == "place_required"
    jury = plan(client, people, scheduled_at=(datetime.now(UTC) + timedelta(hours=2)).isoformat())
    sid = jury["id"]
    assert jury["state"] == "planned" and jury["reference"].startswith("JURY-")
    assert jury["allowed_actions"] == ["members", "candidates", "convene", "cancel"]
    return sid


def add_candidates_and_members(client, people, sid: int, seats: list[dict]) -> None:
    officer = auth(people["officer"])
    # candidates, then members of both colleges with a president
    r = client.post(
        f"/jury-sessions/{sid}/candidates",
        headers=officer,
        json={"candidate_ids": [people["cand_a"], people["cand_b"]]},
    )
    assert r.status_code == 200, r.text
    assert [c["blocs"] for c in r.json()["candidates"]] == [["SP-B1", "SP-B2", "SP-B3"]] * 2
    r = client.post(f"/jury-sessions/{sid}/convene", headers=officer)
    assert r.status_code == 409 and "Au moins 3 membres" in r.json()["detail"]
    for seat in seats:
        r = client.post(
            f"/jury-sessions/{sid}/members",
            headers=officer,
            json={"user_id": seat["user"]["id"], "college": seat["college"], "is_president": seat["is_president"]},
        )
        assert r.status_code == 200, r.text
    detail = r.json()
    assert {(m["full_name"], m["college"], m["is_president"]) for m in detail["members"]} == {
        ("Anne-Sophie Président", "employeur", True),
        ("Marc D'Alembert", "employeur", False),
        ("Fatou N'Diaye", "salarie", False),
        ("Élodie Rémy", "salarie", False),
    }
    r = client.post(
        f"/jury-sessions/{sid}/members",
        headers=officer,
        json={"user_id": people["outsider"]["id"], "college": "salarie", "is_president": True},
    )
    assert r.status_code == 409 and r.json()["code"] == "president_exists"
    r = client.post(
        f"/jury-sessions/{sid}/members",
        headers=officer,
        json={"user_id": people["controleur"]["id"], "college": "salarie"},
    )
    assert r.status_code == 422 and r.json()["code"] == "not_a_jury_member"


def convene_and_check_visibility(client, people, sid: int) -> None:
    officer = auth(people["officer"])
    president, member = auth(people["presidente"]), auth(people["salarie1"])
    # convocation; a jury member sees only his sessions
    r = client.post(f"/jury-sessions/{sid}/convene", headers=officer)
    assert r.status_code == 200 and r.json()["state"] == "convened"
    assert [j["id"] for j in client.get("/jury-sessions", headers=member).json()["items"]] == [sid]
    assert client.get("/jury-sessions", headers=auth(people["outsider"])).json()["items"] == []
    assert client.get(f"/jury-sessions/{sid}", headers=auth(people["outsider"])).status_code == 404
    seen = client.get(f"/jury-sessions/{sid}", headers=member).json()
    assert seen["allowed_actions"] == [] and len(seen["candidates"]) == 2
    assert client.get(f"/jury-sessions/{sid}", headers=president).json()["allowed_actions"] == []  # not yet


def attendance_and_composition(client, people, sid: int, seats: list[dict], request) -> None:
    """Before its date nothing of the session itself; then the clock moves to the session."""
    officer = auth(people["officer"])
    president = auth(people["presidente"])
    # chronology: nothing of the session itself before its date and time
    r = client.post(
        f"/jury-sessions/{sid}/attendance",
        headers=officer,
        json={"present": {str(seat["user"]["id"]): True for seat in seats}},
    )
    assert r.status_code == 409 and r.json()["code"] == "before_jury_date"
    assert "ne peut pas avoir lieu avant la séance du jury, fixée au" in r.json()["detail"]
    traveller = time_machine.travel(datetime.now(UTC) + timedelta(hours=2, minutes=5), tick=True)
    traveller.start()
    request.addfinalizer(traveller.stop)

    # attendance: the president is absent -> composition refused with the list of problems
    r = client.post(
        f"/jury-sessions/{sid}/attendance", headers=officer, json={"present": {str(people["presidente"]["id"]): False}}
    )
    assert r.status_code == 200
    r = client.post(f"/jury-sessions/{sid}/check-composition", headers=officer)
    assert r.status_code == 409 and r.json()["code"] == "composition_irregular"
    problems = r.json()["details"]["problems"]
    assert problems == ["un président présent est requis"]
    assert client.get(f"/jury-sessions/{sid}", headers=officer).json()["state"] == "convened"
    r = client.post(
        f"/jury-sessions/{sid}/attendance",
        headers=officer,
        json={"present": {str(seat["user"]["id"]): True for seat in seats}},
    )
    assert r.status_code == 200 and all(m["present"] for m in r.json()["members"])
    r = client.post(
        f"/jury-sessions/{sid}/attendance", headers=officer, json={"present": {str(people["outsider"]["id"]): True}}
    )
    assert r.status_code == 422 and r.json()["code"] == "unknown_member"
    r = client.post(f"/jury-sessions/{sid}/check-composition", headers=officer)
    assert r.status_code == 200 and r.json()["state"] == "composition_checked"
    assert r.json()["composition_problems"] == []
    assert client.get(f"/jury-sessions/{sid}", headers=president).json()["allowed_actions"] == [
        "results",
        "close-deliberation",
    ]


def deliberate_and_sign(client, people, sid: int) -> None:
    officer = auth(people["officer"])
    president, member = auth(people["presidente"]), auth(people["salarie1"])
    # deliberation: only the president among the members records the results
    results_a = {"candidate_id": people["cand_a"], "results": ALL_VALIDATED}
    r = client.post(f"/jury-sessions/{sid}/results", headers=member, json=results_a)
    assert r.status_code == 403 and r.json()["code"] == "not_president"
    r = client.post(f"/jury-sessions/{sid}/results", headers=auth(people["outsider"]), json=results_a)
    assert r.status_code == 404
    r = client.post(f"/jury-sessions/{sid}/results", headers=auth(people["structure"]), json=results_a)
    assert r.status_code == 403
    r = client.post(
        f"/jury-sessions/{sid}/results",
        headers=president,
        json={"candidate_id": people["cand_a"], "results": {"SP-B1": "validated"}},
    )
    assert r.status_code == 422 and r.json()["code"] == "bad_blocs"
    r = client.post(
        f"/jury-sessions/{sid}/results",
        headers=president,
        json={"candidate_id": people["cand_a"], "results": {**ALL_VALIDATED, "SP-B2": "maybe"}},
    )
    assert r.status_code == 422
    assert client.post(f"/jury-sessions/{sid}/results", headers=president, json=results_a).status_code == 200
    r = client.post(f"/jury-sessions/{sid}/close-deliberation", headers=president)
    assert r.status_code == 409 and r.json()["code"] == "guard_failed"
    r = client.post(
        f"/jury-sessions/{sid}/results",
        headers=officer,
        json={"candidate_id": people["cand_b"], "results": PARTIAL, "comment": "Bloc 2 à retravailler"},
    )
    assert r.status_code == 200
    by_id = {c["candidate_id"]: c for c in r.json()["candidates"]}
    assert by_id[people["cand_b"]]["results"] == PARTIAL and r.json()["missing_results"] == []
    assert client.post(f"/jury-sessions/{sid}/close-deliberation", headers=member).status_code == 403
    r = client.post(f"/jury-sessions/{sid}/close-deliberation", headers=president)
    assert r.status_code == 200 and r.json()["state"] == "deliberated"
    outcomes = {c["candidate_id"]: c["outcome"] for c in r.json()["candidates"]}
    assert outcomes == {people["cand_a"]: "certified", people["cand_b"]: "partial"}
    assert client.post(f"/jury-sessions/{sid}/sign-pv", headers=member).status_code == 403
    assert client.post(f"/jury-sessions/{sid}/cancel", headers=president, json={"reason": "x"}).status_code == 403
    r = client.post(f"/jury-sessions/{sid}/sign-pv", headers=president)
    assert r.status_code == 200 and r.json()["state"] == "pv_signed" and r.json()["pv_signed_at"]
    assert r.json()["allowed_actions"] == []


def check_timeline_and_issuance(client, people, sid: int) -> None:
    officer = auth(people["officer"])
    timeline = client.get(f"/jury-sessions/{sid}/timeline", headers=officer).json()["items"]
    actions = [e["action"] for e in timeline]
    assert actions[:2] == ["plan", "add_candidates"] and actions[-2:] == ["close_deliberation", "sign_pv"]
    assert actions.count("record_results") == 2 and "check_composition" in actions
    assert client.get(f"/jury-sessions/{sid}/timeline", headers=auth(people["outsider"])).status_code == 404

    # the system's part (the jury flow): blocs acquired, certificate and attestation issued
    issue_results(sid, notify=False)
    certificates = client.get("/certificates", headers=officer).json()["items"]
    assert {(c["candidate_id"], c["kind"]) for c in certificates} == {
        (people["cand_a"], "certificate"),
        (people["cand_b"], "attestation"),
    }
    attestation = next(c for c in certificates if c["kind"] == "attestation")
    assert attestation["blocs"] == ["SP-B1", "SP-B3"]
    candidate = client.get(f"/candidates/{people['cand_a']}", headers=auth(people["structure"])).json()
    assert candidate["state"] == "certified" and candidate["missing_blocs"] == []


def test_roles_on_jury_sessions(client, world):
    people = world
    jury_members(people)
    body = {"certification_code": "CQP_SP", "scheduled_at": scheduled(), "place": "Lyon"}
    for who in ("mandataire", "controleur", "formateur", "structure"):
        assert client.post("/jury-sessions", headers=auth(people[who]), json=body).status_code == 403
        assert client.get("/jury-sessions", headers=auth(people[who])).status_code == 403
    assert client.post("/jury-sessions", headers=auth(people["presidente"]), json=body).status_code == 403
    jury = plan(client, people)
    sid = jury["id"]
    for who in ("mandataire", "controleur", "formateur", "structure"):
        assert client.get(f"/jury-sessions/{sid}", headers=auth(people[who])).status_code == 404
        assert client.post(f"/jury-sessions/{sid}/convene", headers=auth(people[who])).status_code == 403
        assert (
            client.post(
                f"/jury-sessions/{sid}/results",
                headers=auth(people[who]),
                json={"candidate_id": 1, "results": {"SP-B1": "validated"}},
            ).status_code
            == 403
        )
        assert client.get(f"/jury-sessions/{sid}/documents.zip", headers=auth(people[who])).status_code == 403
    president = auth(people["presidente"])
    assert (
        client.post(
            f"/jury-sessions/{sid}/members",
            headers=president,
            json={"user_id": people["presidente"]["id"], "college": "employeur"},
        ).status_code
        == 403
    )
    assert client.get(f"/jury-sessions/{sid}/documents.zip", headers=president).status_code == 403
    assert client.get("/jury-sessions").status_code == 401
    r = client.post(f"/jury-sessions/{sid}/cancel", headers=auth(people["officer"]), json={"reason": ""})
    assert r.status_code == 422
    r = client.post(
        f"/jury-sessions/{sid}/cancel", headers=auth(people["officer"]), json={"reason": "Salle indisponible"}
    )
    assert r.status_code == 200 and r.json()["state"] == "cancelled" and r.json()["allowed_actions"] == []
    headers = {**auth(people["officer"]), "Content-Type": "application/json"}
    assert client.post("/jury-sessions", headers=headers, content=b"{oops").status_code == 400


def test_conflict_of_interest_is_refused_and_traced(client, world):
    people = world
    officer = auth(people["officer"])
    jury = plan(client, people)
    sid = jury["id"]
    client.post(f"/jury-sessions/{sid}/candidates", headers=officer, json={"candidate_ids": [people["cand_a"]]})
    r = client.post(
        f"/structures/{people['structure']['structure_id']}/links",
        headers=officer,
        json={
            "user_id": people["outsider"]["id"],
            "kind": "employee",
            "reason": "Encadrant technique salarié de la structure",
        },
    )
    assert r.status_code == 201
    r = client.post(
        f"/jury-sessions/{sid}/members",
        headers=officer,
        json={"user_id": people["outsider"]["id"], "college": "salarie"},
    )
    assert r.status_code == 409 and r.json()["code"] == "conflict_of_interest"
    assert "travaille pour la structure" in r.json()["detail"]
    with session_scope() as db:
        refusal = db.exec(select(AuditEvent).where(AuditEvent.action == "add_member_refused")).one()
        assert refusal.entity_type == "jury_sessions" and refusal.entity_id == sid
        assert refusal.actor_role == "officer" and refusal.data["structure_id"] == people["structure"]["structure_id"]
    assert client.get(f"/jury-sessions/{sid}", headers=officer).json()["members"] == []

    # the same member seated first: the candidate of his structure is refused
    other = plan(client, people)
    client.post(
        f"/jury-sessions/{other['id']}/members",
        headers=officer,
        json={"user_id": people["outsider"]["id"], "college": "salarie"},
    )
    r = client.post(
        f"/jury-sessions/{other['id']}/candidates", headers=officer, json={"candidate_ids": [people["cand_a"]]}
    )
    assert r.status_code == 409 and r.json()["code"] == "conflict_of_interest"
    with session_scope() as db:
        assert (
            db.exec(select(AuditEvent).where(AuditEvent.action == "add_candidates_refused")).one().entity_id
            == other["id"]
        )


def _generated(entity_type: str, entity_id: int, kind: str, filename: str, content: bytes) -> None:
    root = get_settings().data_dir
    relative = f"generated/{entity_type}/{entity_id}/{kind}-v1.pdf"
    sha256, size = write_generated(root, relative, content)
    with session_scope() as db:
        db.add(
            GeneratedDocument(
                entity_type=entity_type,
                entity_id=entity_id,
                kind=kind,
                version=1,
                filename=filename,
                relative_path=relative,
                sha256=sha256,
                size=size,
            )
        )


def test_documents_zip_and_certificates(client, world, pdf_bytes):
    people = world
    sid = deliberated_session(
        people, [people["cand_a"], people["cand_b"]], {people["cand_a"]: ALL_VALIDATED, people["cand_b"]: PARTIAL}
    )
    issue_results(sid)
    with session_scope() as db:
        certs = {c.candidate_id: c.id for c in db.exec(select(Certificate))}
        reference = db.get(JurySession, sid).reference
    _generated("jury_sessions", sid, "pv_jury", f"PV {reference}.pdf", pdf_bytes)
    _generated("certificates", certs[people["cand_a"]], "certificat", "Certificat Lefèvre.pdf", pdf_bytes + b"%a")
    _generated(
        "certificates", certs[people["cand_b"]], "attestation_blocs", "Attestation Da Silva.pdf", pdf_bytes + b"%b"
    )
    _generated("jury_sessions", sid + 1000, "pv_jury", "PV d'une autre session.pdf", pdf_bytes)

    r = client.get(f"/jury-sessions/{sid}/documents.zip", headers=auth(people["officer"]))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert f"{reference}-documents.zip" in r.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert archive.testzip() is None
    assert sorted(archive.namelist()) == sorted(
        [f"PV/PV {reference}.pdf", "certificats/Certificat Lefèvre.pdf", "certificats/Attestation Da Silva.pdf"]
    )
    assert archive.read(f"PV/PV {reference}.pdf") == pdf_bytes
    assert archive.read("certificats/Attestation Da Silva.pdf") == pdf_bytes + b"%b"
    assert client.get(f"/jury-sessions/{sid + 99}/documents.zip", headers=auth(people["officer"])).status_code == 404

    # the PV is downloadable by the officer and the members of the session
    detail = client.get(f"/jury-sessions/{sid}", headers=auth(people["salarie1"])).json()
    assert detail["state"] == "results_notified" and [d["kind"] for d in detail["documents"]] == ["pv_jury"]
    pv = client.get(detail["documents"][0]["url"], headers=auth(people["salarie1"]))
    assert pv.status_code == 200 and pv.content == pdf_bytes
    assert client.get(detail["documents"][0]["url"], headers=auth(people["outsider"])).status_code == 404

    # certificates: officer all; a structure its own candidates' only; others refused
    assert len(client.get("/certificates", headers=auth(people["officer"])).json()["items"]) == 2
    mine = client.get("/certificates", headers=auth(people["structure"])).json()["items"]
    assert [c["candidate_id"] for c in mine] == [people["cand_a"]]
    cert_b = certs[people["cand_b"]]
    assert client.get(f"/certificates/{cert_b}", headers=auth(people["structure"])).status_code == 404
    for who in ("mandataire", "controleur", "formateur"):
        assert client.get("/certificates", headers=auth(people[who])).status_code == 403
        assert client.get(f"/certificates/{cert_b}", headers=auth(people[who])).status_code == 403
    assert client.get("/certificates", headers=auth(people["presidente"])).status_code == 403
    detail = client.get(f"/certificates/{cert_b}", headers=auth(people["other_structure"])).json()
    assert detail["kind"] == "attestation" and detail["allowed_actions"] == []
    assert detail["verification_url"].startswith(f"http://127.0.0.1:8000/verify/{detail['number']}?c=")
    assert [h["action"] for h in detail["history"]] == ["issue", "credentials_issued"]  # its Open Badges (#15)
    doc = detail["documents"][0]
    assert client.get(doc["url"], headers=auth(people["other_structure"])).content == pdf_bytes + b"%b"
    assert client.get(doc["url"], headers=auth(people["structure"])).status_code == 404

    # officer's actions: duplicate, correction (history keeps the former values), revocation
    officer = auth(people["officer"])
    r = client.post(
        f"/certificates/{cert_b}/duplicate", headers=auth(people["other_structure"]), json={"reason": "Perte"}
    )
    assert r.status_code == 403
    r = client.post(f"/certificates/{cert_b}/duplicate", headers=officer, json={"reason": "Perte de l'original"})
    assert r.status_code == 200 and r.json()["version"] == 2
    r = client.post(f"/certificates/{cert_b}/correct", headers=officer, json={"reason": "Erreur de saisie"})
    assert r.status_code == 422 and r.json()["code"] == "nothing_to_correct"
    r = client.post(
        f"/certificates/{cert_b}/correct",
        headers=officer,
        json={"reason": "Erreur de saisie", "first_names": "João Pedro"},
    )
    assert r.status_code == 200 and r.json()["holder_first_names"] == "João Pedro" and r.json()["version"] == 3
    correction = [h for h in r.json()["history"] if h["action"] == "correct"][-1]  # (then its Open Badges, #15)
    assert correction["data"]["before"] == {"holder_first_names": "João"}
    r = client.post(f"/certificates/{cert_b}/revoke", headers=officer, json={"reason": "Fraude avérée"})
    assert r.status_code == 200 and r.json()["state"] == "revoked" and r.json()["allowed_actions"] == []
    assert [h["action"] for h in r.json()["history"] if not h["action"].startswith("credentials_")] == [
        "issue",
        "duplicate",
        "correct",
        "revoke",
    ]
    assert [h["action"] for h in r.json()["history"] if h["action"].startswith("credentials_")] == [  # #15
        "credentials_issued",
        "credentials_issued",
        "credentials_revoked",
        "credentials_issued",
        "credentials_revoked",
    ]
    r = client.post(f"/certificates/{cert_b}/revoke", headers=officer, json={"reason": "encore"})
    assert r.status_code == 409


def test_documents_zip_with_the_documents_of_the_jury_flow(client, world):
    """The PV, certificate and attestation really generated by the jury flow (plain function, no
    Prefect) are all in the session's archive."""
    from flows.jury import advance_jury

    people = world
    sid = deliberated_session(
        people, [people["cand_a"], people["cand_b"]], {people["cand_a"]: ALL_VALIDATED, people["cand_b"]: PARTIAL}
    )
    advance_jury(sid)
    jury = client.get(f"/jury-sessions/{sid}", headers=auth(people["officer"])).json()
    assert jury["state"] == "results_notified" and [d["kind"] for d in jury["documents"]] == ["pv_jury"]
    r = client.get(f"/jury-sessions/{sid}/documents.zip", headers=auth(people["officer"]))
    assert r.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    names = sorted(archive.namelist())
    assert [n.split("/")[0] for n in names] == ["PV", "certificats", "certificats"]
    assert names[0] == f"PV/{jury['reference']}-pv_jury-v1.pdf"
    assert all(archive.read(n).startswith(b"%PDF") for n in names)
    certificates = client.get(f"/certificates?session_id={sid}", headers=auth(people["officer"])).json()["items"]
    assert {
        f"certificats/{c['number']}-{'certificat' if c['kind'] == 'certificate' else 'attestation_blocs'}-v1.pdf"
        for c in certificates
    } == set(names[1:])
