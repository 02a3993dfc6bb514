"""Fixtures of the back-office page tests: a client, the users, and a browser-like login."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from certification.agrement.models import AgrementRequest
from certification.db import session_scope
from tests.factories import make_users

PASSWORD = "mot-de-passe-sûr"  # the password of tests.factories.make_users
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def people():
    return make_users()


def signed_in(app, user: dict) -> TestClient:
    """A client of ``app`` with its own cookie jar, signed in to the back-office as ``user``."""
    client = TestClient(app, follow_redirects=False)
    form = {"email": user["email"], "password": PASSWORD, "next": "/app/"}
    r = client.post("/app/login", data={**form, "csrf_token": csrf_of(client.get("/app/login").text)})
    assert r.status_code == 303, r.text
    return client


@pytest.fixture
def app():
    return create_app()


@pytest.fixture
def browser(app):
    """A factory of logged-in clients (each with its own cookie jar), like one browser per user."""
    clients = []

    def login(user: dict) -> TestClient:
        client = TestClient(app, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        page = client.get("/app/login")
        assert page.status_code == 200
        r = client.post("/app/login", data={"email": user["email"], "password": PASSWORD,
                                            "csrf_token": csrf_of(page.text), "next": "/app/"})
        assert r.status_code == 303, r.text
        return client

    yield login
    for client in clients:
        client.__exit__(None, None, None)


def page_csrf(client: TestClient, url: str = "/app/") -> str:
    r = client.get(url)
    assert r.status_code == 200, r.text
    return csrf_of(r.text)


def hidden_fields(html: str) -> dict[str, str]:
    """The fields of the confirmation form, as a browser sends them (HTML entities decoded)."""
    form = html.split('id="confirm-form"', 1)[1]
    return {k: unescape(v) for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)}


def state_of(request_id: int) -> str:
    """The state of an agrément request, read from the database."""
    with session_scope() as db:
        return db.get(AgrementRequest, request_id).state
