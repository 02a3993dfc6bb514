"""The SI CPF export through the API (officers only): a batch produced, listed, its file
downloaded, its processing report imported, a rejected record re-sent, its deposit declared."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from certification.cpf.flux import NS
from certification.cpf.states import paris_today
from tests.cpf.holders import registered_structure
from tests.factories import auth, deliberated_session, issue_results, ready_candidates


@pytest.fixture
def certified(people):
    structure = registered_structure(people, "RNCP34567")
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
    imported = client.post(
        f"/exports/cpf/{batch['id']}/report",
        headers=officer,
        files={"report": ("compte-rendu.csv", report, "text/csv")},
    )
    assert imported.status_code == 200, imported.text
    body = imported.json()
    assert (body["accepted"], body["rejected"]) == ([ids[0]], [ids[1]])
    assert (body["batch"]["accepted_count"], body["batch"]["rejected_count"]) == (1, 1)
    detail = client.get(f"/exports/cpf/{batch['id']}", headers=officer).json()
    assert {i["technical_id"]: i["outcome"] for i in detail["items"]} == {ids[0]: "accepted", ids[1]: "rejected"}

    again = client.post("/exports/cpf", json={"certification_code": "CQP_SP"}, headers=officer)
    assert again.status_code == 200 and again.json()["batch"] is None  # nothing corrected: no new file

    rejected = next(
        r for r in client.get("/exports/cpf/records", headers=officer).json()["items"] if r["state"] == "rejected"
    )
    assert rejected["error_message"] == "Prénom invalide"
    resend = client.post(
        f"/exports/cpf/records/{rejected['id']}/resend", json={"reason": "Erreur côté plateforme"}, headers=officer
    )
    assert resend.status_code == 200 and resend.json()["resend_requested"]
    second = client.post("/exports/cpf", json={"certification_code": "CQP_SP"}, headers=officer).json()["batch"]
    assert (second["record_count"], second["resent_count"]) == (1, 1)

    bad = client.post(
        f"/exports/cpf/{batch['id']}/report",
        headers=officer,
        files={"report": ("cr.xml", b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY b 'c'>]><a/>", "application/xml")},
    )
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
    assert (
        client.post(url, json={"deposited_on": today.isoformat()}, headers=auth(people["mandataire"])).status_code
        == 403
    )
    assert (
        client.post("/exports/cpf/9999/deposit", json={"deposited_on": today.isoformat()}, headers=officer).status_code
        == 404
    )

    for _ in range(2):  # the same date again changes nothing
        declared = client.post(url, json={"deposited_on": today.isoformat()}, headers=officer)
        assert declared.status_code == 200 and declared.json()["deposited_on"] == today.isoformat()
    assert client.get(f"/exports/cpf/{batch['id']}", headers=officer).json()["deposited_on"] == today.isoformat()
    trail = client.get(f"/exports/cpf/{batch['id']}/timeline", headers=officer).json()["items"]
    assert [(e["action"], e["actor_role"]) for e in trail] == [("generate", "officer"), ("declare_deposit", "officer")]
    assert trail[1]["data"] == {"deposited_on": today.isoformat(), "previous": None}
    assert client.get(f"/exports/cpf/{batch['id']}/timeline", headers=auth(people["mandataire"])).status_code == 403
