from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.factories import auth, make_users, siret


@pytest.fixture
def people():
    return make_users()


@pytest.fixture
def client():
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def submission(pdf_bytes):
    """Build the multipart parts of a submission."""

    def build(n: int = 1, *, name: str = "Les Jardins de l'Étang", files=None, **metadata):
        meta = {
            "structure": {"siret": siret(n), "name": name, "region": "Bretagne", "email": f"aci{n}@example.org"},
            "certification_code": "CQP_SP",
            "motivation": "Qualifier nos salariés polyvalents.",
            **metadata,
        }
        if files is None:
            files = [
                ("dossier", ("dossier d'agrément.pdf", pdf_bytes, "application/pdf")),
                ("attestation_epsp", ("Attestation EPSP – Zoé.pdf", pdf_bytes + b"\n%2", "application/pdf")),
            ]
        return {"data": {"metadata": json.dumps(meta)}, "files": files}

    return build


@pytest.fixture
def submit(client, people, submission):
    def do(n: int = 1, who: str = "mandataire", headers=None, **kw):
        parts = submission(n, **kw)
        return client.post("/agrement-requests", headers={**auth(people[who]), **(headers or {})}, **parts)

    return do
