"""Public verification page (the QR code's target): no login, initials only, revoked documents
flagged, forged keys and unknown numbers answer « unknown », never cached nor indexed."""

from __future__ import annotations

import pytest
from sqlmodel import select

from certification.db import session_scope
from certification.jury.models import Certificate
from certification.jury.issuance import checksum
from tests.factories import auth, certified_holders

ALL = {"SP-B1": "validated", "SP-B2": "validated", "SP-B3": "validated"}


@pytest.fixture
def issued(people):
    """A certificate (all blocs) and an attestation (partial), issued after a signed PV."""
    _, (zoe, joao) = certified_holders(
        people,
        2,
        names=[("Lefèvre-Éluard", "Zoé"), ("Da Silva", "João")],
        results=[ALL, {"SP-B1": "validated", "SP-B2": "not_validated", "SP-B3": "validated"}],
    )
    with session_scope() as db:
        rows = {c.candidate_id: c for c in db.exec(select(Certificate))}
    return {"certificate": rows[zoe], "attestation": rows[joao]}


def url(number: str, key: str | None = None) -> str:
    return f"/verify/{number}" + (f"?c={key}" if key is not None else "")


def assert_private(r):
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-robots-tag"] == "noindex"


def test_valid_certificate_html_and_json(client, issued):
    cert = issued["certificate"]
    r = client.get(url(cert.number, checksum(cert.number)), headers={"Accept": "text/html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert_private(r)
    page = r.text
    assert "Document authentique et valide" in page and cert.number in page
    assert "Z. L." in page and "CQP Salarié Polyvalent" in page
    assert "Lefèvre" not in page and "Zoé" not in page and "1990" not in page
    assert "Certificat de qualification professionnelle" in page

    r = client.get(url(cert.number, checksum(cert.number)), headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert_private(r)
    body = r.json()
    assert body["status"] == "valid" and body["holder_initials"] == "Z. L." and body["number"] == cert.number
    assert body["issued_on"] == cert.issued_on.isoformat() and body["revoked_on"] is None
    assert len(body["blocs"]) == 3 and body["blocs"][0].startswith("SP-B1 — ")
    assert "Lefèvre" not in r.text
    # ?format=json wins over a browser's Accept header
    r = client.get(
        url(cert.number, checksum(cert.number)) + "&format=json",
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )
    assert r.json()["status"] == "valid"
    # a browser gets HTML
    r = client.get(
        url(cert.number, checksum(cert.number)),
        headers={"Accept": "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8"},
    )
    assert r.headers["content-type"].startswith("text/html")


def test_attestation_lists_only_validated_blocs(client, issued):
    att = issued["attestation"]
    body = client.get(url(att.number, checksum(att.number)) + "&format=json").json()
    assert body["status"] == "valid" and body["kind_label"].startswith("Attestation")
    assert [b.split(" — ")[0] for b in body["blocs"]] == ["SP-B1", "SP-B3"]
    assert body["holder_initials"] == "J. D."


def test_revoked_after_revocation(client, people, issued):
    cert = issued["certificate"]
    r = client.post(
        f"/certificates/{cert.id}/revoke",
        headers=auth(people["officer"]),
        json={"reason": "Fraude à l'évaluation <b>établie</b>"},
    )
    assert r.status_code == 200
    r = client.get(url(cert.number, checksum(cert.number)), headers={"Accept": "application/json"})
    body = r.json()
    assert body["status"] == "revoked" and body["revoked_on"] and "Fraude" in body["revoked_reason"]
    page = client.get(url(cert.number, checksum(cert.number))).text
    assert "RÉVOQUÉ" in page and "&lt;b&gt;établie&lt;/b&gt;" in page and "<b>établie" not in page


@pytest.mark.parametrize("key", [None, "", "0" * 16, "zz", "clé-forgée-éà", "a" * 500])
def test_forged_or_missing_key_is_unknown(client, issued, key):
    cert = issued["certificate"]
    assert key != checksum(cert.number)
    r = client.get(url(cert.number, key), headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.json()["status"] == "unknown"
    assert r.json()["holder_initials"] is None and r.json()["blocs"] == []
    assert_private(r)
    page = client.get(url(cert.number, key))
    assert page.status_code == 200 and "Numéro inconnu" in page.text and "Z. L." not in page.text


def test_unknown_and_oversized_numbers(client, issued):
    fake = "SP-2026-999999"
    r = client.get(url(fake, checksum(fake)), headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.json() == {**r.json(), "status": "unknown", "number": fake}
    assert_private(r)
    page = client.get(url("<img src=x onerror=alert(1)>", "x"))
    assert page.status_code == 200 and "<img src=x" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text
    r = client.get(url("A" * 41, "x"))
    assert r.status_code == 404 and r.json()["code"] == "unknown_number"
    assert_private(r)
    r = client.get(url("Numéro-àccentué", "é"))
    assert r.status_code == 200 and "Numéro inconnu" in r.text
    assert client.get(url(fake) + "?format=xml").status_code == 422


def test_no_authentication_required_nor_used(client, people, issued):
    cert = issued["certificate"]
    r = client.get(
        url(cert.number, checksum(cert.number)) + "&format=json", headers={"Authorization": "Bearer invalid-token"}
    )
    assert r.status_code == 200 and r.json()["status"] == "valid"
