"""The API contract: RFC 9457 problem details in French with JSON pointers, declared in the OpenAPI
of every operation; file downloads declared with their media type; timestamps in UTC with a Z."""

from __future__ import annotations

import re

from tests.factories import auth

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


def test_validation_errors_are_french_problem_details_with_json_pointers(client, people, submission):
    parts = submission(1)
    meta = parts["data"]["metadata"].replace('"siret": "', '"siret": 12, "x": "').replace('"CQP_SP"', '"CQP_XX"')
    r = client.post(
        "/agrement-requests", headers=auth(people["mandataire"]), data={"metadata": meta}, files=parts["files"]
    )
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert {"type", "title", "status", "detail", "code", "errors"} <= set(body)
    assert body["status"] == 422 and body["code"] == "invalid_input" and body["type"] == "urn:cqp:problem:invalid_input"
    errors = {e["pointer"]: e for e in body["errors"]}
    assert errors["/metadata/certification_code"]["message"].startswith("valeur non reconnue ; valeurs possibles")
    assert "Input should" not in r.text and ".." not in "".join(errors)
    assert all(e["location"] == "body" for e in body["errors"])


def test_query_and_path_errors_point_at_the_parameter(client, people):
    officer = auth(people["officer"])
    r = client.get("/candidates/abc", headers=officer)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "location": "path",
            "pointer": "/candidate_id",
            "message": "un nombre entier est attendu",
            "type": "int_parsing",
        }
    ]
    r = client.get("/candidates?since=hier", headers=officer)
    assert r.json()["errors"][0]["message"] == "une date AAAA-MM-JJ est attendue"
    r = client.post("/auth/token", json={"email": "x@example.org"})
    assert r.json()["errors"] == [
        {"location": "body", "pointer": "/password", "message": "champ obligatoire", "type": "missing"}
    ]
    r = client.get("/candidates")
    assert r.status_code == 401 and r.json()["code"] == "unauthorized" and r.json()["title"]


def test_every_operation_declares_its_problems_and_files_their_media_type(client):
    spec = client.get("/openapi.json").json()
    assert "Problem" in spec["components"]["schemas"] and "HTTPValidationError" not in spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "422" in responses and "500" in responses, (method, path)
            # A page for people (the public verification forms) also answers its refusals as a page.
            pages = "text/html" in responses.get("200", {}).get("content", {})
            for status, response in responses.items():
                if status >= "4":
                    media = list(response["content"])
                    assert "application/problem+json" in media, (method, path, status)
                    assert set(media) <= {"application/problem+json", *(["text/html"] if pages else [])}, (
                        method,
                        path,
                        status,
                    )
            if operation.get("security"):
                assert {"401", "403"} <= set(responses), (method, path)
    pdf = spec["paths"]["/certificates/{certificate_id}/documents/{document_id}"]["get"]["responses"]["200"]
    assert list(pdf["content"]) == ["application/pdf"]
    zipped = spec["paths"]["/jury-sessions/{session_id}/documents.zip"]["get"]["responses"]["200"]
    assert list(zipped["content"]) == ["application/zip"]


def test_timestamps_are_utc_with_z(client, people, submit):
    created = submit(1).json()
    stamps: list[str] = []

    def collect(value):
        if isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, list):
            for v in value:
                collect(v)
        elif isinstance(value, str) and TIMESTAMP.match(value):
            stamps.append(value)

    detail = client.get(f"/agrement-requests/{created['id']}", headers=auth(people["mandataire"])).json()
    collect(detail)
    collect(client.get(f"/agrement-requests/{created['id']}/timeline", headers=auth(people["mandataire"])).json())
    assert detail["documents"] or detail["pieces"]
    assert stamps and all(s.endswith("Z") for s in stamps), stamps


def test_unknown_or_repeated_query_parameters_are_refused(client, people):
    officer = auth(people["officer"])
    r = client.get("/candidates?stat=ready_for_jury", headers=officer)  # misspelt: not silently ignored
    assert r.status_code == 422 and r.json()["errors"] == [
        {"location": "query", "pointer": "/stat", "message": "champ inconnu", "type": "extra_forbidden"}
    ]
    r = client.get("/candidates?limit=5&limit=6", headers=officer)
    assert r.status_code == 422 and r.json()["errors"][0]["message"] == "paramètre donné plusieurs fois"
    assert client.get("/candidates?limit=5", headers=officer).status_code == 200


def test_blank_texts_are_refused_as_the_spec_says(client, people):
    spec = client.get("/openapi.json").json()
    pattern = spec["components"]["schemas"]["ReasonIn"]["properties"]["reason"]["pattern"]
    assert not re.search(pattern, "\t\v ") and re.search(pattern, " motif ")
    r = client.post("/candidates/1/withdraw", headers=auth(people["officer"]), json={"reason": "\t"})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/reason"


def test_a_union_field_gets_one_error_at_its_own_pointer(client, people):
    """``email: Email | ""``: Pydantic reports one error per member of the union, under member names
    (``function-after[...]``, ``literal['']``); the client sees one French error at ``/email``."""
    body = {
        "last_name": "Martin",
        "first_names": "Zoé",
        "birth_date": "1990-01-01",
        "email": "pas-une-adresse",
        "contract_type": "CDDI",
        "contract_start": "2026-01-05",
        "certification_code": "CQP_SP",
        "extra-field[x]": 1,
    }
    r = client.post("/candidates", headers=auth(people["officer"]), json=body)
    assert r.status_code == 422, r.text
    assert [(e["pointer"], e["message"]) for e in r.json()["errors"]] == [
        ("/email", "adresse e-mail invalide"),
        ("/extra-field[x]", "champ inconnu"),
    ]
    assert r.json()["detail"] == "Données invalides : email — adresse e-mail invalide ; extra-field[x] — champ inconnu."
