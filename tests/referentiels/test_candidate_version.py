"""A candidate keeps the version of the référentiel registered on: the PV, the certificates, the
public verification, the Open Badges, the CPF export and the API read the candidate's version (a
test-only version 2 with other bloc codes, titles and record, activated in the test)."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from api.app import create_app
from certification.db import session_scope
from certification.clock import today
from certification.jury.models import Certificate
from certification.models import Certification
from certification.agrement.models import Agrement
from certification.models_credentials import Credential
from certification.referentiel import service
from certification.referentiel.schema import parse
from certification.cpf import flux as cpf_flux
from certification.cpf import service as cpf_service
from certification.services import credentials
from certification.jury import issuance
from documents import badge
from documents.render import render_pdf
from flows.certificates import certificate_context
from flows.jury import jury_context
from certification.jury.models import JurySession
from tests.factories import auth, deliberated_session, grant_agrement, issue_results, ready_candidates
from tests.factories import siret, structure_account
from tests.flows.conftest import pdf_text

pytestmark = pytest.mark.integration

V2_FILE = Path(__file__).parent / "data" / "CQP_SP-test-v2.yaml"
V1_B1 = "Réaliser les activités de production ou de service dans le respect des consignes"
V2_B1 = "Bloc d'essai un de la version deux"
V2_TITLE = "Intitulé d'essai de la version 2"


def activate_test_v2(people: dict) -> None:
    with session_scope() as db:
        service.load_version(
            db,
            people["officer"]["actor"],
            parse(V2_FILE.read_bytes(), V2_FILE.name),
            source=V2_FILE.name,
            activate_on=today(),
            reason="essai",
        )


def widen_scope(codes: list[str]) -> None:
    """The structure's agrément covers the new blocs too (as a renewed agrément would)."""
    with session_scope() as db:
        for agrement in db.exec(select(Agrement)):
            agrement.scope = [*agrement.scope, *codes]
            db.add(agrement)


def _payload(jwt: str) -> dict:
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@pytest.fixture
def mixed_session(people):
    """Candidate « Ancien » registered on version 1, version 2 activated, « Nouveau » registered on
    it; both certified by one jury session."""
    grant_agrement(people, 1)
    structure = structure_account(people, siret(1))
    [old] = ready_candidates(structure, 1, names=[("Ancien", "Zoé")], sexes=["F"])
    activate_test_v2(people)
    widen_scope(["TST-B1", "TST-B2"])
    [new] = ready_candidates(structure, 1, first=2, names=[("Nouveau", "Éloi")], sexes=["M"])
    jury_id = deliberated_session(people, [old, new])
    issue_results(jury_id)
    with session_scope() as db:
        certificates = {c.holder_last_name: c.id for c in db.exec(select(Certificate))}
    return jury_id, old, new, certificates


def test_pv_and_certificates_print_each_candidates_version(people, mixed_session):
    jury_id, _, _, certificates = mixed_session
    with session_scope() as db:
        ctx = jury_context(db, db.get(JurySession, jury_id))
        old_ctx = certificate_context(db, db.get(Certificate, certificates["Ancien"]))
        new_ctx = certificate_context(db, db.get(Certificate, certificates["Nouveau"]))
    pv = pdf_text(render_pdf("jury/pv_jury.html", ctx))
    assert "référentiel version 1" in pv and "référentiel version 2" in pv
    assert "SP-B1 (version 1) : " + V1_B1 in pv and "TST-B1 (version 2) : " + V2_B1 in pv

    old_text = pdf_text(render_pdf("jury/certificat.html", old_ctx))
    assert V1_B1 in old_text and "CQP Salarié Polyvalent" in old_text
    assert V2_B1 not in old_text and "RS9999" not in old_text
    new_text = pdf_text(render_pdf("jury/certificat.html", new_ctx))
    assert V2_B1 in new_text and V2_TITLE in new_text
    assert "Répertoire spécifique sous le code RS9999" in new_text
    assert V1_B1 not in new_text


def test_verification_badges_and_credentials_of_each_version(people, mixed_session):
    _, _, _, certificates = mixed_session
    with session_scope() as db:
        old, new = db.get(Certificate, certificates["Ancien"]), db.get(Certificate, certificates["Nouveau"])
        checked = issuance.verify(db, old.number, issuance.checksum(old.number))
        assert checked.blocs[0] == f"SP-B1 — {V1_B1}" and checked.certification_title == "CQP Salarié Polyvalent"
        checked = issuance.verify(db, new.number, issuance.checksum(new.number))
        assert checked.blocs[0] == f"TST-B1 — {V2_B1}" and checked.certification_title == V2_TITLE
        old_creds = credentials.credentials_of(db, old.id)
        new_creds = credentials.credentials_of(db, new.id)
        assert [c.bloc_code for c in old_creds] == [None, "SP-B1", "SP-B2", "SP-B3"]
        assert [c.bloc_code for c in new_creds] == [None, "TST-B1", "TST-B2"]
        old_b1 = _payload(old_creds[1].jwt)["credentialSubject"]["achievement"]
        assert old_b1["name"] == f"SP-B1 — {V1_B1}"
        new_cert = _payload(new_creds[0].jwt)["credentialSubject"]["achievement"]
        assert new_cert["name"] == V2_TITLE
        assert new_cert["alignment"][0]["targetCode"] == "RS9999"
        assert badge.badge_parts(db, old_creds[1]) == ("SP-B1", V1_B1)
        assert badge.badge_parts(db, new_creds[1]) == ("TST-B1", V2_B1)
        assert db.exec(select(Credential)).first() is not None


def test_cpf_export_declares_each_holder_under_the_record_of_their_version(people, mixed_session):
    _, _, _, certificates = mixed_session
    with session_scope() as db:
        cert = db.exec(select(Certification).where(Certification.code == "CQP_SP")).one()
        cert.registry_code = "RNCP34567"  # the certification's own record (version 1 has none)
        db.add(cert)
    with session_scope() as db:
        batch, data = cpf_service.prepare_batch(db, people["officer"]["actor"], "CQP_SP")
        numbers = {c.holder_last_name: c.number for c in db.exec(select(Certificate))}
    ns = {"cpf": cpf_flux.NS}
    found = {
        element.findtext("cpf:code", namespaces=ns): [
            p.findtext("cpf:idTechnique", namespaces=ns) for p in element.iter(f"{{{cpf_flux.NS}}}passageCertification")
        ]
        for element in ET.fromstring(data).iter(f"{{{cpf_flux.NS}}}certification")
    }
    assert found == {"RNCP34567": [numbers["Ancien"]], "RS9999": [numbers["Nouveau"]]}
    assert (batch.registry_code, batch.record_count) == ("RNCP34567,RS9999", 2)


def test_api_reads_the_candidates_version(people, mixed_session):
    jury_id, old, new, _ = mixed_session
    with TestClient(create_app()) as client:
        officer = auth(people["officer"])
        old_out = client.get(f"/candidates/{old}", headers=officer).json()
        new_out = client.get(f"/candidates/{new}", headers=officer).json()
        jury = client.get(f"/jury-sessions/{jury_id}", headers=officer).json()
    by_id = {c["candidate_id"]: c for c in jury["candidates"]}
    assert (by_id[old]["certification_version"], by_id[old]["bloc_titles"]["SP-B1"]) == ("1", V1_B1)
    assert (by_id[new]["certification_version"], by_id[new]["bloc_titles"]["TST-B1"]) == ("2", V2_B1)
    assert (old_out["certification_version"], old_out["certification_title"]) == ("1", "CQP Salarié Polyvalent")
    assert [b["title"] for b in old_out["held_blocs"]][0] == V1_B1
    assert (new_out["certification_version"], new_out["certification_title"]) == ("2", V2_TITLE)
    assert [b["bloc_code"] for b in new_out["held_blocs"]] == ["TST-B1", "TST-B2"]


def test_an_agrement_granted_on_version_1_keeps_its_bloc_titles(people, mixed_session):
    from certification.agrement.models import AgrementRequest
    from certification.agrement.read_model import request_view
    from flows.context import request_context

    with session_scope() as db:
        request = db.exec(select(AgrementRequest)).first()
        scope = request_context(request_view(db, request))["request"]["scope"]
    assert scope[0] == f"SP-B1 — {V1_B1}" and scope[-2:] == [
        f"TST-B1 — {V2_B1}",
        "TST-B2 — Bloc d'essai deux de la version deux",
    ]


def test_the_back_office_jury_page_names_each_candidates_version(people, mixed_session):
    from tests.web.conftest import PASSWORD, csrf_of

    jury_id, *_ = mixed_session
    with TestClient(create_app(), follow_redirects=False) as client:
        page = client.get("/app/login")
        client.post(
            "/app/login",
            data={
                "email": people["officer"]["email"],
                "password": PASSWORD,
                "csrf_token": csrf_of(page.text),
                "next": "/app/",
            },
        )
        html = client.get(f"/app/jurys/{jury_id}").text
    assert "référentiel version 1" in html and "référentiel version 2" in html
