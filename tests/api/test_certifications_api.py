"""Certifications' registry codes (officers, audited) and the holders held back from the CPF export
until their data is complete, through the API."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlmodel import select

from certification.db import session_scope
from certification.jury.models import Certificate
from certification.cpf.flux import NS, flux_errors
from tests.factories import auth, certified_holders


def put_code(client, who, code, certification="CQP_SP", **extra):
    return client.put(
        f"/certifications/{certification}/registry-code", headers=auth(who), json={"registry_code": code, **extra}
    )


def test_registry_code_set_normalised_and_audited(client, people):
    officer = people["officer"]
    listed = client.get("/certifications", headers=auth(officer)).json()["items"]
    assert [(c["code"], c["registry_code"], c["cpf_declared"]) for c in listed] == [
        ("CQP_EPSP", None, False),
        ("CQP_SP", None, False),
    ]
    assert [b["code"] for b in listed[1]["blocs"]] == ["SP-B1", "SP-B2", "SP-B3"]

    r = put_code(client, officer, " rncp 34567 ", reason="Fiche publiée")
    assert r.status_code == 200, r.text
    assert (r.json()["registry_code"], r.json()["registry_type"], r.json()["cpf_declared"]) == (
        "RNCP34567",
        "RNCP",
        True,
    )
    assert put_code(client, officer, "RNCP34567").status_code == 200  # the same code again: no new event
    r = put_code(client, officer, "rs5286")
    assert (r.json()["registry_code"], r.json()["registry_type"]) == ("RS5286", "RS")

    for bad in ("CPF206", "RNCP", "RS-5286", "34567", "RNCP12345678901234567", "RNCP 3456x", "<b>RS1</b>"):
        r = put_code(client, officer, bad)
        assert r.status_code == 422, bad
        assert r.json()["code"] == "bad_registry_code"
        assert "« RNCP » ou « RS » suivi du numéro" in r.json()["detail"]
    assert put_code(client, officer, "").status_code == 422
    assert put_code(client, officer, "RS1", "CQP_XX").status_code == 422
    assert client.put("/certifications/CQP_SP/registry-code", headers=auth(officer), json={}).status_code == 422

    events = client.get("/certifications/CQP_SP/timeline", headers=auth(officer)).json()["items"]
    assert [(e["action"], e["from_state"], e["to_state"], e["actor_role"], e["reason"]) for e in events] == [
        ("set_registry_code", None, "RNCP34567", "officer", "Fiche publiée"),
        ("set_registry_code", "RNCP34567", "RS5286", "officer", None),
    ]
    assert events[1]["data"] == {"from": "RNCP34567", "to": "RS5286", "registry": "RS"}

    for who in ("mandataire", "controleur", "formateur"):
        assert client.get("/certifications", headers=auth(people[who])).status_code == 403
        assert put_code(client, people[who], "RS1").status_code == 403
        assert client.get("/certifications/CQP_SP/timeline", headers=auth(people[who])).status_code == 403
    assert client.get("/certifications").status_code == 401
    assert client.get("/certifications", headers=auth(officer)).json()["items"][1]["registry_code"] == "RS5286"


@pytest.fixture
def certified(people):
    """Two CQP SP holders, the second registered without his sex (before it was collected)."""
    certified_holders(people, 2, names=[("L'Hôpital <Zoé>", "Anaïs"), ("Ndiaye", "Moussa")], sexes=["F", None])
    with session_scope() as db:
        return {c.holder_last_name: c.id for c in db.exec(select(Certificate))}


def test_holder_without_sex_held_back_then_sent_once_corrected(client, people, certified, settings):
    officer = auth(people["officer"])
    export = client.post("/exports/cpf", json={"certification_code": "CQP_SP"}, headers=officer)
    assert export.status_code == 422 and export.json()["code"] == "registry_code_missing"
    assert put_code(client, people["officer"], "RNCP34567").status_code == 200

    export = client.post("/exports/cpf", json={"certification_code": "CQP_SP"}, headers=officer)
    assert export.status_code == 201, export.text
    body = export.json()
    assert body["batch"]["record_count"] == 1
    assert "1 enregistrement(s) retenu(s) faute de données du titulaire" in body["message"]
    held = client.get("/exports/cpf/records", params={"held": "true"}, headers=officer).json()["items"]
    assert len(held) == 1 and held[0]["state"] == "pending"
    assert "sexe du titulaire non renseigné (M ou F)" in held[0]["held_reason"] and held[0]["held_since"]
    assert [
        r["held_reason"]
        for r in client.get("/exports/cpf/records", params={"held": "false"}, headers=officer).json()["items"]
    ] == [None]

    # The certificate's correction: a French 422 for anything but M or F, then the sex is recorded.
    cid = certified["Ndiaye"]
    r = client.post(f"/certificates/{cid}/correct", headers=officer, json={"reason": "Sexe", "sex": "H"})
    assert r.status_code == 422 and "Sexe invalide" in r.json()["detail"]
    r = client.post(f"/certificates/{cid}/correct", headers=officer, json={"reason": "Sexe recueilli", "sex": "M"})
    assert r.status_code == 200, r.text
    assert (r.json()["holder_sex"], r.json()["version"]) == ("M", 1)  # not printed: no new document version
    assert r.json()["history"][-1]["data"]["after"] == {"holder_sex": "M"}

    export = client.post("/exports/cpf", json={"certification_code": "CQP_SP"}, headers=officer)
    assert export.status_code == 201 and "retenu" not in export.json()["message"]
    file = client.get(export.json()["batch"]["file_url"], headers=officer)
    assert flux_errors(file.content) == []
    root = ET.fromstring(file.content)
    assert [e.text for e in root.iterfind(f".//{{{NS}}}sexe")] == ["M"]
    assert client.get("/exports/cpf/records", params={"held": "true"}, headers=officer).json()["items"] == []
