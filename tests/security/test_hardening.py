"""The probes of issue 17, each answered by the hardened engine: database outage (503 + Retry-After,
readiness apart from liveness), login timing, weak passwords, logout and revocation, forwarded
headers from untrusted peers, active PDFs, security headers."""

from __future__ import annotations

import io
import json
import os
import subprocess
import statistics
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from fastapi.testclient import TestClient
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject
from sqlmodel import select

from api.app import create_app
from api.security import client_address
from certification.db import session_scope
from certification.models import AuditEvent
from certification.settings import reset_settings_cache
from tests.factories import auth, create_account, siret
from tests.web.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client():
    with TestClient(create_app()) as c:
        yield c


# --- database unavailable -----------------------------------------------------------------------


def _point_database_at(monkeypatch, url: str) -> None:
    monkeypatch.setenv("CQP_DATABASE_URL", url)
    reset_settings_cache()


def _assert_unavailable(response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["code"] == "database_unavailable"
    assert "indisponible" in response.json()["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:9/cqp?connect_timeout=3",  # nothing listens: refused
        "sqlite:///{data_dir}",  # a directory, not a database file: « unable to open database file »
    ],
    ids=["postgresql-closed-port", "sqlite-unreadable"],
)
def test_database_unreachable_answers_503_and_liveness_stays_up(client, people, settings, monkeypatch, url):
    _point_database_at(monkeypatch, url.format(data_dir=settings.data_dir.resolve()))
    assert client.get("/health").status_code == 200  # liveness: the process answers
    _assert_unavailable(client.get("/health/ready"))
    _assert_unavailable(client.get("/auth/me", headers=auth(people["officer"])))  # a read
    _assert_unavailable(
        client.post("/auth/token", json={"email": people["officer"]["email"], "password": PASSWORD})
    )  # a write
    _assert_unavailable(
        create_account(
            client, people["officer"], "nouveau.compte@example.org", "Nouveau Compte", "une-phrase-de-passe-longue"
        )
    )
    _assert_page_unavailable(
        client.get("/app/", headers={"Cookie": f"cqp_session={people['officer']['token']}"}, follow_redirects=False)
    )


def _assert_page_unavailable(response) -> None:
    """The back-office answers with its French HTML page, 503 and Retry-After."""
    assert response.status_code == 503, response.text[:300]
    assert int(response.headers["Retry-After"]) >= 1
    assert "momentanément indisponible" in response.text and response.headers["content-type"].startswith("text/html")


def _pg(*args: str, port: int | None = None) -> None:
    env = {**os.environ, **({"CQP_PG_PORT": str(port)} if port else {})}
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "pg.sh"), *args], check=True, env=env, capture_output=True, timeout=120
    )


def test_postgresql_stopped_during_reads_and_a_write(client, people, settings):
    """The issue's probe: the cluster of scripts/pg.sh stopped while the API is used, then restarted."""
    url = make_url(settings.sqlalchemy_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("PostgreSQL only (the SQLite case is the unreadable file above)")
    officer = auth(people["officer"])
    assert client.get("/auth/me", headers=officer).status_code == 200  # pooled connections exist
    _pg("stop")
    try:
        for _ in range(10):
            _assert_unavailable(client.get("/auth/me", headers=officer))
            _assert_unavailable(client.get("/agrement-requests", headers=officer))
        _assert_unavailable(
            client.post(
                "/users",
                headers=officer,
                json={
                    "email": "nouveau.compte@example.org",
                    "full_name": "Nouveau Compte",
                    "role": "mandataire",
                    "password": "une-phrase-de-passe-longue",
                },
            )
        )
        assert client.get("/health").status_code == 200
        _assert_unavailable(client.get("/health/ready"))
        _assert_page_unavailable(
            client.get(
                "/app/candidats",
                follow_redirects=False,
                headers={"Cookie": f"cqp_session={people['officer']['token']}"},
            )
        )
    finally:
        _pg("start", port=url.port)
    assert client.get("/health/ready").status_code == 200
    assert client.get("/auth/me", headers=officer).status_code == 200  # recovered by itself
    r = client.post(
        "/users",
        headers=officer,
        json={  # the refused write is not half-done
            "email": "nouveau.compte@example.org",
            "full_name": "Nouveau Compte",
            "role": "mandataire",
            "password": "une-phrase-de-passe-longue",
        },
    )
    assert r.status_code == 201, r.text


def test_readiness_reports_the_database(client):
    r = client.get("/health/ready")
    assert r.status_code == 200 and r.json() == {"status": "ok", "database": "ok"}


# --- constant-time login ------------------------------------------------------------------------


def test_known_and_unknown_addresses_take_comparable_time(client, people, settings, monkeypatch):
    monkeypatch.setattr(settings, "login_max_failures", 1000)
    monkeypatch.setattr(settings, "login_max_failures_per_client", 1000)

    def median_ms(email: str) -> float:
        samples = []
        for _ in range(15):
            started = time.perf_counter()
            assert client.post("/auth/token", json={"email": email, "password": "mauvais-mot"}).status_code == 401
            samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)

    median_ms(people["officer"]["email"])  # warm-up
    known = median_ms(people["officer"]["email"])
    unknown = median_ms("personne.inconnue@example.org")
    assert max(known, unknown) / min(known, unknown) < 2, (known, unknown)


# --- password policy ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("aaaaaaaaaa", "au moins 12 caractères"),
        ("1234567890", "au moins 12 caractères"),
        ("password12", "au moins 12 caractères"),
        ("aaaaaaaaaaaaaaaa", "trop répétitif"),
        ("password2026!", "les plus courants"),
        ("azertyuiop123", "les plus courants"),
        ("claire.fontaine@example.org", "adresse e-mail"),
        ("claire.fontaine-2026", "adresse e-mail"),
    ],
)
def test_weak_passwords_are_refused_in_french(client, people, password, expected):
    r = client.post(
        "/users",
        headers=auth(people["officer"]),
        json={
            "email": "claire.fontaine@example.org",
            "full_name": "Claire Fontaine",
            "role": "mandataire",
            "password": password,
        },
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "weak_password"
    assert expected in r.json()["detail"]


def test_a_strong_password_is_accepted_and_can_be_changed_under_the_same_policy(client, people):
    r = create_account(
        client, people["officer"], "claire.fontaine@example.org", "Claire Fontaine", "Brume sur la Rance 1987"
    )
    assert r.status_code == 201, r.text
    token = client.post(
        "/auth/token", json={"email": "claire.fontaine@example.org", "password": "Brume sur la Rance 1987"}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    r = client.post(
        "/auth/password",
        headers=headers,
        json={"current_password": "Brume sur la Rance 1987", "new_password": "motdepasse123"},
    )
    assert r.status_code == 422 and r.json()["code"] == "weak_password"
    r = client.post(
        "/auth/password",
        headers=headers,
        json={"current_password": "faux-mot-de-passe", "new_password": "Marée haute à Cancale"},
    )
    assert r.status_code == 422 and "actuel est incorrect" in r.json()["detail"]
    r = client.post(
        "/auth/password",
        headers=headers,
        json={"current_password": "Brume sur la Rance 1987", "new_password": "Marée haute à Cancale"},
    )
    assert r.status_code == 204, r.text
    assert (
        client.post(
            "/auth/token", json={"email": "claire.fontaine@example.org", "password": "Marée haute à Cancale"}
        ).status_code
        == 200
    )


# --- logout and revocation ----------------------------------------------------------------------


def _login(client, email: str) -> dict:
    r = client.post("/auth/token", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_logout_revokes_the_token_used(client, people):
    first, second = _login(client, people["mandataire"]["email"]), _login(client, people["mandataire"]["email"])
    assert client.post("/auth/logout", headers=first).status_code == 204
    assert client.get("/auth/me", headers=first).status_code == 401
    assert client.post("/auth/logout", headers=first).status_code == 401
    assert client.get("/auth/me", headers=second).status_code == 200  # another session stays open
    with session_scope() as db:
        actions = db.exec(
            select(AuditEvent.action).where(
                AuditEvent.entity_type == "users", AuditEvent.entity_id == people["mandataire"]["id"]
            )
        ).all()
    assert "logout" in actions


def test_an_officer_revokes_every_token_of_a_user(client, people):
    sessions = [_login(client, people["controleur"]["email"]) for _ in range(2)]
    user_id = people["controleur"]["id"]
    assert client.post(f"/users/{user_id}/revoke-tokens", headers=auth(people["mandataire"])).status_code == 403
    r = client.post(f"/users/{user_id}/revoke-tokens", headers=auth(people["officer"]))
    assert r.status_code == 200 and r.json()["revoked"] == 3  # two logins and the factory's token
    for headers in [*sessions, auth(people["controleur"])]:
        assert client.get("/auth/me", headers=headers).status_code == 401
    assert client.get("/auth/me", headers=auth(people["officer"])).status_code == 200
    assert client.post("/users/999999/revoke-tokens", headers=auth(people["officer"])).status_code == 404
    with session_scope() as db:
        event = db.exec(select(AuditEvent).where(AuditEvent.action == "revoke_tokens")).one()
    assert event.entity_id == user_id and event.actor_id == people["officer"]["id"]


# --- forwarded headers --------------------------------------------------------------------------


def test_forwarded_header_from_an_untrusted_peer_does_not_escape_the_throttle(people, settings, monkeypatch):
    monkeypatch.setattr(settings, "login_max_failures_per_client", 4)
    assert settings.trusted_proxies == []
    with TestClient(create_app(), client=("127.0.0.1", 40000)) as local:
        for i in range(4):
            r = local.post(
                "/auth/token",
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
                json={"email": f"inconnu{i}@example.org", "password": "x"},
            )
            assert r.status_code == 401
        r = local.post(
            "/auth/token",
            headers={"X-Forwarded-For": "203.0.113.99"},
            json={"email": people["officer"]["email"], "password": PASSWORD},
        )
        assert r.status_code == 429 and "Retry-After" in r.headers


def test_forwarded_header_is_read_from_a_configured_proxy_only(people, settings, monkeypatch):
    monkeypatch.setattr(settings, "login_max_failures_per_client", 4)
    monkeypatch.setattr(settings, "trusted_proxies", ["127.0.0.1", "10.0.0.0/8"])
    with TestClient(create_app(), client=("127.0.0.1", 40000)) as proxied:
        for i in range(6):  # six clients behind the proxy, one failure each: none is throttled
            r = proxied.post(
                "/auth/token",
                headers={"X-Forwarded-For": f"198.51.100.7, 203.0.113.{i}, 10.1.2.3"},
                json={"email": f"inconnu{i}@example.org", "password": "x"},
            )
            assert r.status_code == 401, r.text
        r = proxied.post("/auth/token", json={"email": people["officer"]["email"], "password": PASSWORD})
        assert r.status_code == 200

    class FakeRequest:
        def __init__(self, peer: str, forwarded: str) -> None:
            self.client = type("Peer", (), {"host": peer})()
            self.headers = type("Headers", (), {"getlist": lambda _self, _name: [forwarded]})()

    # The right-most address not a proxy is the client; what the client itself wrote on the left is ignored.
    assert client_address(FakeRequest("127.0.0.1", "1.2.3.4, 203.0.113.5, 10.0.0.9")) == "203.0.113.5"
    assert client_address(FakeRequest("192.0.2.1", "203.0.113.5")) == "192.0.2.1"  # untrusted peer
    assert client_address(FakeRequest("127.0.0.1", "not-an-address")) == "not-an-address"


# --- active PDFs --------------------------------------------------------------------------------


def _pdf(mutate) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    mutate(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _open_action_js(writer: PdfWriter) -> None:
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {  # noqa: SLF001
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('x')"),
        }
    )


def _launch(writer: PdfWriter) -> None:
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {  # noqa: SLF001
            NameObject("/S"): NameObject("/Launch"),
            NameObject("/F"): TextStringObject("calc.exe"),
        }
    )


def _names_javascript(writer: PdfWriter) -> None:
    action = writer._add_object(
        DictionaryObject(
            {  # noqa: SLF001 - an indirect object, as readers expect
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject("app.alert('x')"),
            }
        )
    )
    writer._root_object[NameObject("/Names")] = DictionaryObject(
        {  # noqa: SLF001
            NameObject("/JavaScript"): DictionaryObject(
                {NameObject("/Names"): ArrayObject([TextStringObject("ouverture"), action])}
            )
        }
    )


def _page_aa(writer: PdfWriter) -> None:
    writer.pages[0][NameObject("/AA")] = DictionaryObject()


ACTIVE_PDFS = {
    "openaction-javascript": (lambda: _pdf(_open_action_js), "du JavaScript"),
    "names-javascript": (lambda: _pdf(_names_javascript), "JavaScript"),
    "launch": (lambda: _pdf(_launch), "lancement d'application"),
    "embedded-file": (lambda: _pdf(lambda w: w.add_attachment("x.exe", b"MZ")), "incorpor"),
    "page-aa": (lambda: _pdf(_page_aa), "actions automatiques"),
    "hex-escaped-name": (
        lambda: (
            b"%PDF-1.4\n1 0 obj<</Type/Catalog/OpenAction<</S/J#61vaScript/JS(x)>>>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n"
        ),
        "JavaScript",
    ),
}


@pytest.mark.parametrize("kind", list(ACTIVE_PDFS))
def test_active_pdfs_are_refused_on_upload(client, people, pdf_bytes, settings, kind):
    build, said = ACTIVE_PDFS[kind]
    metadata = {
        "structure": {"siret": siret(1), "name": "ACI du Port", "region": "Bretagne", "email": "aci1@example.org"},
        "certification_code": "CQP_SP",
        "motivation": "Qualifier nos salariés.",
    }
    files = [
        ("dossier", ("dossier.pdf", build(), "application/pdf")),
        ("attestation_epsp", ("attestation.pdf", pdf_bytes, "application/pdf")),
    ]
    r = client.post(
        "/agrement-requests", headers=auth(people["mandataire"]), data={"metadata": json.dumps(metadata)}, files=files
    )
    assert r.status_code == 415, r.text
    body = r.json()
    assert body["code"] == "active_pdf" and "dossier.pdf" in body["detail"] and said in body["detail"]
    uploads = settings.data_dir / "uploads"
    assert not [p for p in uploads.rglob("*.pdf")] if uploads.exists() else True  # nothing stored


def test_plain_pdfs_are_still_accepted(client, people, pdf_bytes):
    metadata = {
        "structure": {"siret": siret(1), "name": "ACI du Port", "region": "Bretagne", "email": "aci1@example.org"},
        "certification_code": "CQP_SP",
        "motivation": "Qualifier nos salariés.",
    }
    files = [
        ("dossier", ("dossier.pdf", _pdf(lambda _w: None), "application/pdf")),
        ("attestation_epsp", ("attestation.pdf", pdf_bytes, "application/pdf")),
    ]
    r = client.post(
        "/agrement-requests", headers=auth(people["mandataire"]), data={"metadata": json.dumps(metadata)}, files=files
    )
    assert r.status_code == 201, r.text
    piece_id = r.json()["pieces"][0]["id"]
    r = client.get(f"/agrement-requests/{r.json()['id']}/pieces/{piece_id}", headers=auth(people["mandataire"]))
    assert r.status_code == 200 and r.headers["X-Content-Type-Options"] == "nosniff"


# --- security headers ---------------------------------------------------------------------------


def test_security_headers_on_every_response(client):
    for path in ("/health", "/auth/me", "/nowhere", "/app/login", "/verify/CQP-0000"):
        r = client.get(path)
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        assert r.headers["Referrer-Policy"] in ("same-origin", "no-referrer"), path
        assert "default-src 'none'" in r.headers["Content-Security-Policy"], path
    page = client.get("/verify/CQP-0000")
    csp = page.headers["Content-Security-Policy"]
    nonce = csp.split("'nonce-", 1)[1].split("'", 1)[0]
    assert f'<style nonce="{nonce}">' in page.text and "unsafe-inline" not in csp


# --- secrets from files -------------------------------------------------------------------------


def test_secrets_are_read_from_a_secrets_folder(tmp_path, monkeypatch):
    from certification.settings import get_settings

    (tmp_path / "cqp_verification_secret").write_text("clef-lue-dans-un-fichier")
    (tmp_path / "cqp_smtp_password").write_text("mot-de-passe-du-relais")
    monkeypatch.setenv("CQP_SECRETS_PATH", str(tmp_path))
    monkeypatch.delenv("CQP_VERIFICATION_SECRET", raising=False)
    reset_settings_cache()
    settings = get_settings()
    assert settings.verification_secret.get_secret_value() == "clef-lue-dans-un-fichier"
    assert settings.smtp_password.get_secret_value() == "mot-de-passe-du-relais"
    assert "mot-de-passe-du-relais" not in repr(settings)  # never printed in logs
    monkeypatch.setenv("CQP_SMTP_PASSWORD", "depuis-l-environnement")  # the environment wins
    reset_settings_cache()
    assert get_settings().smtp_password.get_secret_value() == "depuis-l-environnement"
