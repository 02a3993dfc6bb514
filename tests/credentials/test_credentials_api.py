"""Public Open Badges endpoints (no login): JWKS, issuer, status list, achievements, verification
of a pasted credential or a badge image (HTML and JSON); badges for the holder (number and key)
and for the officer / the structure."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from certification.db import session_scope
from certification.jury.models import Certificate
from certification.models_credentials import Credential
from certification.jury.issuance import checksum
from documents import badge
from tests.credentials.independent import check_open_badge, decode_verified, status_bit
from tests.credentials.test_credentials_services import forge, tamper
from tests.factories import PARTIAL, auth, deliberated_session, grant_agrement, issue_results, ready_candidates
from tests.factories import siret, structure_account

JSON = {"Accept": "application/json"}


@pytest.fixture
def issued(people):
    grant_agrement(people, 1)
    structure_account(people, siret(1))
    ids = ready_candidates(people["structure"], 2)
    sid = deliberated_session(people, ids, {ids[1]: PARTIAL})
    issue_results(sid)
    with session_scope() as db:
        certificates = {c.kind: c for c in db.exec(select(Certificate))}
        rows = list(db.exec(select(Credential).order_by(Credential.id)))
    return certificates, rows


def test_public_material_lets_anyone_verify(client, issued):
    certificates, rows = issued
    jwks = client.get("/.well-known/jwks.json").json()
    assert [set(k) for k in jwks["keys"]] == [{"kty", "crv", "x", "kid", "alg", "use"}]  # no private part
    status_list = client.get("/credentials/status/1")
    assert status_list.headers["content-type"].startswith("application/vc+jwt")
    for row in rows:
        _, payload = decode_verified(row.jwt, jwks)
        check_open_badge(payload)
        assert status_bit(status_list.text, jwks, row.status_index) is False
        achievement = client.get(
            payload["credentialSubject"]["achievement"]["id"].removeprefix("http://127.0.0.1:8000")
        )
        assert achievement.status_code == 200 and achievement.json()["name"] == payload["name"]
    profile = client.get("/credentials/issuer").json()
    assert profile["id"] == payload["issuer"]["id"] and profile["type"] == ["Profile"]
    assert client.get("/credentials/achievements/CQP_XX").status_code == 404


def test_verification_as_json_and_html(client, people, issued):
    certificates, rows = issued
    token = rows[0].jwt
    body = client.post("/credentials/verify", data={"credential": token}, headers=JSON).json()
    assert (
        body["status"] == "valid" and body["label"] == "valide" and body["number"] == certificates["certificate"].number
    )
    page = client.post("/credentials/verify", data={"credential": token})
    assert "Justificatif valide" in page.text and "<textarea" in page.text
    for forged, status, words in [
        (tamper(token), "altered", "altéré"),
        (forge(token, kid="cle-etrangere"), "unknown_issuer", "Émetteur inconnu"),
    ]:
        body = client.post("/credentials/verify", data={"credential": forged}, headers=JSON).json()
        assert body["status"] == status and words in body["message"]
        assert words in client.post("/credentials/verify", data={"credential": forged}).text
    officer = auth(people["officer"])
    revoked = client.post(
        f"/certificates/{certificates['certificate'].id}/revoke", json={"reason": "Fraude avérée"}, headers=officer
    )
    assert revoked.status_code == 200, revoked.text
    body = client.post("/credentials/verify", data={"credential": token}, headers=JSON).json()
    assert (body["status"], body["label"]) == ("revoked", "révoqué")
    jwks = client.get("/.well-known/jwks.json").json()
    assert status_bit(client.get("/credentials/status/1").text, jwks, rows[0].status_index) is True
    missing = client.post("/credentials/verify", data={}, headers=JSON)
    assert missing.status_code == 422 and "Collez un justificatif" in missing.json()["detail"]


def test_badges_for_the_officer_the_structure_and_the_holder(client, people, issued):
    certificates, rows = issued
    certificate = certificates["certificate"]
    for who in ("officer", "structure"):
        listed = client.get(f"/certificates/{certificate.id}/credentials", headers=auth(people[who]))
        assert listed.status_code == 200 and listed.json()["total"] == len(listed.json()["items"]) == 4
    first = listed.json()["items"][0]
    assert first["issued_at"].endswith("Z")
    png = client.get(first["badge_url"], headers=auth(people["officer"]))
    assert png.headers["content-type"] == "image/png"
    assert badge.unbake(png.content) == first["jwt"]
    assert client.get(f"/certificates/{certificate.id}/credentials").status_code == 401
    # the holder, from the public verification page (number and key of the QR code)
    key = checksum(certificate.number)
    page = client.get(f"/verify/{certificate.number}?c={key}")
    links = re.findall(r'href="(/verify/[^"]+\.png\?c=[^"]+)"', page.text)
    assert len(links) == 4
    image = client.get(links[0].replace("&amp;", "&"))
    assert image.status_code == 200
    verdict = client.post(
        "/credentials/verify", files={"image": ("badge.png", image.content, "image/png")}, headers=JSON
    ).json()
    assert verdict["status"] == "valid"
    assert client.get(links[0].split("?")[0] + "?c=0000000000000000").status_code == 404
    not_png = client.post("/credentials/verify", files={"image": ("x.png", b"GIF89a....", "image/png")}, headers=JSON)
    assert not_png.status_code == 422 and "ne contient pas de justificatif" in not_png.json()["detail"]
    plain = badge.draw("SP-B1", "Un badge sans justificatif", "Quelqu'un")
    assert client.post("/credentials/verify", files={"image": ("b.png", plain, "image/png")}).status_code == 422
