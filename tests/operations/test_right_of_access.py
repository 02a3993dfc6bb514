"""Right of access: the officer exports everything about one candidate as a ZIP of JSON and PDFs —
certificates, bloc results, evidence — and nothing about anyone else."""

from __future__ import annotations

import io
import json
import zipfile

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlmodel import select

from api.app import create_app
from certification.db import session_scope
from certification.models import AuditEvent
from certification.candidates.models import Candidate
from certification.jury.models import Certificate
from flows.jury import advance_jury
from tests.factories import auth, deliberated_session, grant_agrement, make_users, ready_candidates, siret, \
    structure_account
from tests.operations.test_retention import _evidence

PARTIAL = {"SP-B1": "validated", "SP-B2": "not_validated", "SP-B3": "validated"}


def test_export_of_one_candidate_holds_their_data_and_nobody_elses():
    people = make_users()
    grant_agrement(people, 1)
    structure = structure_account(people, siret(1))
    names = [("Abdallah-Moreau", "Inès"), ("Kervella", "Yann-Érwan")]
    mine, other = ready_candidates(structure, 2, names=names)
    session_id = deliberated_session(people, [mine, other], {other: PARTIAL})
    advance_jury(session_id)
    evidence = _evidence(mine)
    their_evidence = _evidence(other)

    with TestClient(create_app()) as client:
        assert client.get(f"/candidates/{mine}/personal-data", headers=auth(structure)).status_code == 403
        assert client.get("/candidates/999999/personal-data", headers=auth(people["officer"])).status_code == 404
        r = client.get(f"/candidates/{mine}/personal-data", headers=auth(people["officer"]))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    data = json.loads(archive.read("donnees.json"))
    with session_scope() as db:
        me, them = db.get(Candidate, mine), db.get(Candidate, other)
        my_numbers = [c.number for c in db.exec(select(Certificate).where(Certificate.candidate_id == mine))]
        their_numbers = [c.number for c in db.exec(select(Certificate).where(Certificate.candidate_id == other))]
        exported = db.exec(select(AuditEvent).where(AuditEvent.action == "personal_data_export")).one()
    assert exported.entity_id == mine and exported.actor_id == people["officer"]["id"]

    assert data["candidate"]["last_name"] == "Abdallah-Moreau" and data["candidate"]["email"] == me.email
    assert [c["number"] for c in data["certificates"]] == my_numbers and my_numbers
    assert sorted(b["bloc_code"] for b in data["bloc_results"]) == ["SP-B1", "SP-B2", "SP-B3"]
    assert all(b["result"] == "validated" for b in data["bloc_results"])
    assert len(data["blocs_acquired"]) == 3 and data["jury_sessions"][0]["outcome"] == "certified"
    assert any(e["action"] == "evaluation" for e in data["audit_trail"])
    assert data["missing_files"] == []
    pdfs = [n for n in archive.namelist() if n.endswith(".pdf")]
    assert any(n.startswith("preuves/") for n in pdfs)
    assert archive.read(next(n for n in pdfs if n.startswith("preuves/"))) == \
        (get_data_dir() / evidence[0]).read_bytes()
    their_bytes = (get_data_dir() / their_evidence[0]).read_bytes()
    assert all(archive.read(n) != their_bytes for n in archive.namelist())  # not the other's evidence
    certificate_pdfs = [n for n in pdfs if n.startswith("documents/certificates-")]
    assert certificate_pdfs
    texts = [data_text := json.dumps(data, ensure_ascii=False), " ".join(archive.namelist())]
    for name in certificate_pdfs:
        texts.append(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(archive.read(name))).pages))
    assert "ABDALLAH-MOREAU" in texts[2].upper()
    for text in texts:  # nothing about the other candidate of the same jury
        for leak in (them.last_name, them.email, them.reference, *their_numbers):
            assert leak.upper() not in text.upper(), leak
    assert "Kervella" not in data_text


def get_data_dir():
    from certification.settings import get_settings

    return get_settings().data_dir
