"""Pagination of the lists: pages of ``limit`` items with the total, an opaque cursor followed through
``next`` (and the ``Link`` header) visiting every item exactly once; typed filters; text search."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import select

from certification.db import session_scope
from certification.candidates import service as cand
from tests.factories import auth, grant_agrement, siret, structure_account, structure_id_of

COUNT = 1200


def _register(structure: dict, count: int, *, names=lambda i: (f"Dupont {i}", "Élodie")) -> None:
    with session_scope() as db:
        for i in range(count):
            last, first = names(i)
            cand.register_candidate(
                db,
                structure["actor"],
                certification_code="CQP_SP",
                last_name=last,
                first_names=first,
                birth_date=date(1980, 1, 1) + timedelta(days=i),
                contract_type="CDDI",
                contract_start=date(2026, 1, 5),
                sex="F",
            )


def test_1200_candidates_walked_once_through_next_links(client, people):
    grant_agrement(people, 1)
    structure = structure_account(people, siret(1))
    _register(structure, COUNT)
    officer = auth(people["officer"])

    first = client.get("/candidates", headers=officer)
    assert first.status_code == 200
    assert first.json()["total"] == COUNT and len(first.json()["items"]) == 50  # the default limit
    seen: list[int] = []
    url, pages = "/candidates?limit=200", 0
    while url:
        r = client.get(url, headers=officer)
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["total"] == COUNT
        seen += [c["id"] for c in page["items"]]
        pages += 1
        if page["next"]:
            assert r.headers["Link"] == f'<{page["next"]}>; rel="next"'
        else:
            assert "Link" not in r.headers
        url = page["next"]
    assert pages == COUNT // 200
    assert len(seen) == len(set(seen)) == COUNT and seen == sorted(seen)  # each once, in a stable order


def test_limits_cursor_and_filters(client, people):
    grant_agrement(people, 1)
    grant_agrement(people, 2)
    structure = structure_account(people, siret(1))
    other = structure_account(people, siret(2), "other")
    _register(structure, 3, names=lambda i: (f"Lefèvre {i}", "Zoé"))
    _register(other, 2, names=lambda i: (f"Martin {i}", "Noé"))
    officer = auth(people["officer"])

    for bad in ("0", "201", "abc"):
        r = client.get(f"/candidates?limit={bad}", headers=officer)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["location"] == "query" and r.json()["errors"][0]["pointer"] == "/limit"
    r = client.get("/candidates?cursor=bm9uc2Vuc2U", headers=officer)  # base64 of « nonsense »
    assert r.status_code == 422 and r.json()["code"] == "invalid_cursor"

    def ids(query: str) -> list[int]:
        r = client.get(f"/candidates?{query}", headers=officer)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == len(r.json()["items"])
        return [c["last_name"] for c in r.json()["items"]]

    assert ids(f"structure_id={structure_id_of(2)}") == ["Martin 0", "Martin 1"]
    assert ids("q=lefevre") == ["Lefèvre 0", "Lefèvre 1", "Lefèvre 2"]  # without case or accents
    assert ids("q=NOÉ") == ["Martin 0", "Martin 1"]
    assert ids("state=registered&certification_code=CQP_SP") and not ids("state=ready_for_jury")
    assert not ids("certification_code=CQP_EPSP")
    today = date.today().isoformat()
    assert len(ids(f"since={today}&until={today}")) == 5 and not ids("until=2000-01-01")
    r = client.get("/candidates?state=planned", headers=officer)  # a state of another process
    assert r.status_code == 422 and "valeurs possibles" in r.json()["errors"][0]["message"]

    # A structure pages through its own candidates only.
    r = client.get("/candidates?limit=2", headers=auth(structure))
    assert r.json()["total"] == 3 and len(r.json()["items"]) == 2
    rest = client.get(r.json()["next"], headers=auth(structure)).json()
    assert rest["next"] is None and [c["last_name"] for c in rest["items"]] == ["Lefèvre 2"]


def test_state_filters_are_the_process_enums_in_the_spec(client):
    spec = client.get("/openapi.json").json()
    for path, states in (
        ("/agrement-requests", {"submitted", "granted"}),
        ("/appuis", {"requested", "reported"}),
        ("/candidates", {"registered", "ready_for_jury"}),
        ("/controles", {"planned"}),
    ):
        (param,) = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == "state"]
        schema = param["schema"]["anyOf"][0]
        enum = schema.get("enum") or spec["components"]["schemas"][schema["$ref"].split("/")[-1]]["enum"]
        assert states <= set(enum), (path, enum)


def test_every_json_list_of_the_spec_is_a_page(client):
    """No read answers a bare array: every list, timelines and sub-lists included, is a ``Page``
    (``items``, ``total``, ``next``) with ``limit`` and ``cursor``. (An action creating several dossiers at
    once, ``POST /controles/sample``, answers them all.)"""
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    lists = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method != "get":
                continue
            for status, response in operation.get("responses", {}).items():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                assert schema.get("type") != "array", f"{method.upper()} {path} {status} answers a bare array"
                name = schema.get("$ref", "").split("/")[-1]
                if name.startswith("Page_"):
                    assert {"items", "total", "next"} <= set(schemas[name]["properties"]), name
                    names = {p["name"] for p in operation.get("parameters", [])}
                    assert {"limit", "cursor"} <= names, (method, path)
                    lists.append(path)
    for expected in (
        "/candidates",
        "/candidates/{candidate_id}/timeline",
        "/agrement-requests/{request_id}/timeline",
        "/jury-sessions/{session_id}/timeline",
        "/webhooks/{subscription_id}/deliveries",
        "/certificates/{certificate_id}/credentials",
        "/structures/{structure_id}/links",
    ):
        assert expected in lists, expected


def test_a_timeline_is_walked_in_pages_oldest_first(client, people):
    from certification.audit import SYSTEM, record_event
    from certification.candidates.models import Candidate

    grant_agrement(people, 1)
    structure = structure_account(people, siret(1))
    _register(structure, 1)
    with session_scope() as db:
        candidate_id = db.exec(select(Candidate.id)).one()
        for i in range(129):  # and « register »: 130 events
            record_event(
                db,
                entity_type=Candidate.__tablename__,
                entity_id=candidate_id,
                action="note",
                actor=SYSTEM,
                reason=f"Note {i}",
            )
    officer = auth(people["officer"])

    first = client.get(f"/candidates/{candidate_id}/timeline", headers=officer)
    assert first.status_code == 200 and first.json()["total"] == 130 and len(first.json()["items"]) == 50
    seen, url, pages = [], f"/candidates/{candidate_id}/timeline?limit=60", 0
    while url:
        r = client.get(url, headers=officer)
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["total"] == 130
        if page["next"]:
            assert r.headers["Link"] == f'<{page["next"]}>; rel="next"'
        seen += page["items"]
        pages += 1
        url = page["next"]
    assert pages == 3 and len({e["id"] for e in seen}) == len(seen) == 130
    assert seen[0]["action"] == "register" and [e["reason"] for e in seen[1:]] == [f"Note {i}" for i in range(129)]
    assert [(e["at"], e["id"]) for e in seen] == sorted((e["at"], e["id"]) for e in seen)  # oldest first
    found = client.get(f"/candidates/{candidate_id}/timeline?q=note 12", headers=officer).json()
    assert [e["reason"] for e in found["items"]] == ["Note 12"] + [f"Note {i}" for i in range(120, 129)]
    bad = client.get(f"/candidates/{candidate_id}/timeline?limit=0", headers=officer)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
