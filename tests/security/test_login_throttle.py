"""Password guessing: failed logins are throttled per e-mail and per client, on the API and on the
back-office form, with 429 and Retry-After; a success clears the e-mail's failures."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.web.conftest import PASSWORD, csrf_of


@pytest.fixture
def client():
    with TestClient(create_app()) as c:
        yield c


def _token(client, email, password):
    return client.post("/auth/token", json={"email": email, "password": password})


def test_api_locks_an_address_after_repeated_failures(client, people, settings):
    email = people["officer"]["email"]
    assert settings.login_max_failures == 5
    for _ in range(5):
        assert _token(client, email, "mauvais").status_code == 401
    r = _token(client, email, PASSWORD)  # even the right password, while locked
    assert r.status_code == 429, r.text
    assert r.json()["code"] == "too_many_attempts"
    assert "Trop de tentatives" in r.json()["detail"]
    assert 1 <= int(r.headers["Retry-After"]) <= 15 * 60
    assert _token(client, email.upper(), PASSWORD).status_code == 429  # same address, other case
    # Other accounts are not affected.
    assert _token(client, people["mandataire"]["email"], PASSWORD).status_code == 200


def test_a_success_clears_the_failures(client, people):
    email = people["mandataire"]["email"]
    for _ in range(4):
        assert _token(client, email, "mauvais").status_code == 401
    assert _token(client, email, PASSWORD).status_code == 200
    for _ in range(4):
        assert _token(client, email, "mauvais").status_code == 401
    assert _token(client, email, PASSWORD).status_code == 200


def test_one_client_spraying_many_addresses_is_throttled(client, people, settings, monkeypatch):
    monkeypatch.setattr(settings, "login_max_failures_per_client", 8)
    for i in range(8):
        assert _token(client, f"inconnu{i}@example.org", "x").status_code == 401
    r = _token(client, people["officer"]["email"], PASSWORD)
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_the_window_slides(client, people, settings, monkeypatch):
    import api.throttle as throttle_module

    clock = {"now": 1000.0}
    monkeypatch.setattr(throttle_module.time, "monotonic", lambda: clock["now"])
    email = people["officer"]["email"]
    for _ in range(5):
        _token(client, email, "mauvais")
    assert _token(client, email, PASSWORD).status_code == 429
    clock["now"] += settings.login_window_minutes * 60 + 1
    assert _token(client, email, PASSWORD).status_code == 200


def test_back_office_form_is_throttled_too(client, people):
    email = people["officer"]["email"]

    def post(password):
        page = client.get("/app/login")
        return client.post(
            "/app/login",
            follow_redirects=False,
            data={"email": email, "password": password, "csrf_token": csrf_of(page.text), "next": "/app/"},
        )

    for _ in range(5):
        assert post("mauvais").status_code == 401
    r = post(PASSWORD)
    assert r.status_code == 429 and "Trop de tentatives" in r.text and "Retry-After" in r.headers
    assert "Set-Cookie" not in r.headers or "cqp_session" not in r.headers.get("Set-Cookie", "")
    # The API shares the count: the address is locked there as well.
    assert _token(client, email, PASSWORD).status_code == 429


def test_counters_of_addresses_tried_long_ago_are_dropped(monkeypatch, settings):
    """An attacker trying many addresses does not make the counters grow without bound."""
    import api.throttle as throttle_module
    from api.throttle import LoginThrottle

    clock = {"now": 1000.0}
    monkeypatch.setattr(throttle_module.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(throttle_module, "PRUNE_ABOVE", 100)
    t = LoginThrottle()
    for i in range(60):
        t.failed(f"essai{i}@example.org", f"10.0.0.{i}")
    assert len(t._failures) == 120  # noqa: SLF001 - one per address and one per client
    clock["now"] += settings.login_window_minutes * 60 + 1
    t.failed("nouveau@example.org", "10.0.1.1")
    assert set(t._failures) == {("email", "nouveau@example.org"), ("client", "10.0.1.1")}  # noqa: SLF001
