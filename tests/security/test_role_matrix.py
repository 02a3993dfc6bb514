"""Role × endpoint matrix, discovered from the application's routes (new routers are covered as they
are added).

Every route is called by an anonymous client and by one user of each role, with the ids of dossiers
that belong to *someone else* (another mandataire's request, a contrôle assigned to another
contrôleur, another structure's candidate…), and a request body built from the OpenAPI schema
(its ``*_id`` fields pointing at those dossiers too). Expected:

* anonymous: 401 on every non-public route (the back-office pages redirect to their login form);
* the back-office pages (``/app``) are called with the caller's session cookie and CSRF token;
* never a 5xx, for anyone;
* a role the route does not allow (``api.deps.require`` exposes ``dependency.roles``): 403 or 404;
* a role it allows, on someone else's dossier: 404 (403 for a role-level refusal), or an input
  error — never a success, never a 409 that would reveal the dossier's state;
* nothing that belongs to someone else was changed by anyone but the officer.

The matrix is printed in the test output.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from certification.db import session_scope
from certification.models import AuditEvent, Role
from tests.factories import auth
from tests.security.conftest import WEB_PREFIX, Builder, api_routes, needs_login, route_roles

PUBLIC_PREFIXES = (
    "/health",
    "/auth/token",
    "/verify/",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/app/login",
    "/static",
    "/app/static",
    "/credentials/",
    "/.well-known/",  # Open Badges: public (#15)
    "/metrics",
)  # Prometheus scrape, unauthenticated by design (README: monitoring network only)
ORDER = ["anonymous", "formateur", "controleur", "mandataire", "jury_member", "structure", "officer"]
ROLE_OF = {
    "formateur": Role.formateur,
    "controleur": Role.controleur,
    "mandataire": Role.mandataire,
    "jury_member": Role.jury_member,
    "structure": Role.structure,
    "officer": Role.officer,
}
INPUT_ERRORS = {400, 413, 415, 422}
# Body fields naming another's dossier: a caller may not act on it through a creation route either.
FOREIGN_BODY_IDS = {
    "candidate_id",
    "request_id",
    "agrement_id",
    "controle_id",
    "certificate_id",
    "appeal_id",
    "previous_agrement_id",
}


# Routes that end sessions (the caller's token, or every token of a user): calling them would sign the
# matrix's callers out. Their roles and effects are tested in tests/security/test_hardening.py.
SESSION_ENDING = {("POST", "/auth/logout"), ("POST", "/users/{user_id}/revoke-tokens")}


def is_public(path: str) -> bool:
    return path == "/health" or path.startswith(PUBLIC_PREFIXES)


# --- the matrix ------------------------------------------------------------------------------------


def writes_by(user_ids: set[int]) -> list[tuple]:
    """The audit trail written by these users (every state change of every process is audited)."""
    with session_scope() as db:
        return [
            (e.entity_type, e.entity_id, e.action, e.actor_id)
            for e in db.exec(select(AuditEvent).where(AuditEvent.actor_id.in_(user_ids)).order_by(AuditEvent.id))
        ]


def expectation(route, method: str, role_name: str, body: Any = None) -> set[int] | str:
    """The statuses allowed for ``role_name`` on ``route`` ("any": below 500)."""
    path = route.path
    if is_public(path):
        return "any"
    if role_name == "anonymous":  # every other route needs a login, whatever its dependencies
        return {401}
    if role_name == "officer":
        return "any"
    if path.startswith(WEB_PREFIX):  # a back-office page, signed in with the caller's session
        if path.endswith("/logout") or not route.dependant.path_params:
            return "any"
        return {403, 404} if method == "GET" else {403, 404} | INPUT_ERRORS
    roles = route_roles(route)
    if roles is not None and ROLE_OF[role_name] not in roles:
        return {403, 404}
    if route.dependant.path_params:  # someone else's dossier
        return {403, 404} if method == "GET" else {403, 404} | INPUT_ERRORS
    if isinstance(body, dict) and FOREIGN_BODY_IDS & set(body):  # acting on someone else's dossier by body
        return {403, 404} | INPUT_ERRORS
    return "any"


def call(client, builder, route, method: str, user) -> tuple[Any, Any]:
    req = builder.request_as(route, method, user)
    files = req.pop("files", None)
    body = req.get("json")
    response = client.request(req.pop("method"), req.pop("url"), files=files, follow_redirects=False, **req)
    return response, body


def test_role_endpoint_matrix(client, world, capsys):
    spec = client.get("/openapi.json").json()
    builder = Builder(spec, world)
    routes = sorted(api_routes(client.app), key=lambda r: (r.path, sorted(r.methods)))
    assert len(routes) > 50
    operations = [
        (route, method)
        for route in routes
        for method in sorted(route.methods - {"HEAD", "OPTIONS"})
        if (method, route.path) not in SESSION_ENDING
    ]
    on_ids = [(r, m) for r, m in operations if r.dependant.path_params]
    without_ids = [(r, m) for r, m in operations if not r.dependant.path_params]
    create_the_owners_dossiers(client, builder, world, without_ids)

    cells: dict[tuple[str, str], dict[str, str]] = {}
    violations: list[str] = []

    def check(route, method, role_name) -> None:
        response, body = call(client, builder, route, method, world.callers[role_name])
        status, expected = response.status_code, expectation(route, method, role_name, body)
        ok = status < 500 and (expected == "any" or status in expected)
        if not ok and status in (302, 303, 307) and route.path.startswith(WEB_PREFIX) and role_name == "anonymous":
            ok = response.headers.get("location", "").startswith(WEB_PREFIX + "/login")
        cells.setdefault((method, route.path), {})[role_name] = f"{status}{'' if ok else '!'}"
        if not ok:
            violations.append(
                f"{role_name:11} {method:6} {route.path}: {status} (expected "
                f"{sorted(expected) if expected != 'any' else '< 500'}) {response.text[:200]}"
            )

    # 1. Everyone but the officer on the dossiers of others: refused, and nothing changes.
    callers = {u["id"] for name, u in world.callers.items() if u and name != "officer"}
    before = writes_by(callers)
    for role_name in ORDER[:-1]:
        for route, method in on_ids:
            check(route, method, role_name)
    changed = [w for w in writes_by(callers) if w not in before]
    assert not changed, f"a caller changed someone else's dossier: {changed}"
    # 2. Creations and lists (their own), then the officer everywhere.
    for role_name in ORDER[:-1]:
        for route, method in without_ids:
            check(route, method, role_name)
    for route, method in on_ids + without_ids:
        check(route, method, "officer")
    check_the_dossiers_of_others_are_not_found(client, world)

    # The certifications' registry codes (RNCP / RS) are the officer's alone: 403 for every other role.
    certification_routes = [
        ("GET", "/certifications"),
        ("PUT", "/certifications/{certification_code}/registry-code"),
        ("GET", "/certifications/{certification_code}/timeline"),
    ]
    assert all(op in cells for op in certification_routes)
    for role in ORDER[1:-1]:
        assert [cells[op][role] for op in certification_routes] == ["403"] * 3, role
        response = client.put(
            "/certifications/CQP_SP/registry-code", json={"registry_code": "RS5286"}, headers=auth(world.callers[role])
        )
        assert response.status_code == 403, (role, response.text)
    summary = matrix_summary(cells, routes, violations)
    with capsys.disabled():
        print(summary)
    assert not violations, "\n".join(violations)


def create_the_owners_dossiers(client, builder, world, without_ids) -> None:
    """The owners create what they can through every creation route (new processes included), so
    that the ids the matrix uses exist and belong to them, not to the callers."""
    for role_name, user in world.owners.items():
        for route, method in without_ids:
            roles = route_roles(route)
            if method == "POST" and needs_login(route) and (roles is None or ROLE_OF[role_name] in roles):
                response, _ = call(client, builder, route, method, user)
                assert response.status_code < 500, f"owner {role_name} {method} {route.path}: {response.text[:300]}"


def check_the_dossiers_of_others_are_not_found(client, world) -> None:
    """The dossiers of others, read by id: 404 (their existence does not leak)."""

    def status(role: str, url: str) -> int:
        return client.get(url, headers=auth(world.callers[role])).status_code

    assert status("mandataire", f"/agrement-requests/{world.ids['request_id']}") == 404
    assert status("controleur", f"/controles/{world.ids['controle_id']}") == 404
    assert status("structure", f"/candidates/{world.ids['candidate_id']}") == 404
    assert status("structure", f"/certificates/{world.ids['certificate_id']}") == 404
    assert status("structure", f"/appeals/{world.ids['appeal_id']}") == 404
    assert status("jury_member", f"/jury-sessions/{world.ids['session_id']}") == 404
    assert status("jury_member", f"/candidates/{world.ids['candidate_id']}") == 404


def matrix_summary(cells, routes, violations) -> str:
    """The matrix printed with the test: one line per operation, the status each caller got."""
    width = max(len(f"{m} {p}") for m, p in cells)
    cells = dict(sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0])))
    lines = [f"{'route':{width}} " + " ".join(f"{r[:11]:>11}" for r in ORDER)]
    for (method, path), row in cells.items():
        roles = route_roles(next(r for r in routes if r.path == path and method in r.methods))
        lines.append(
            f"{method + ' ' + path:{width}} "
            + " ".join(f"{row.get(r, '-'):>11}" for r in ORDER)
            + (f"   [{', '.join(sorted(x.value for x in roles))}]" if roles else "")
        )
    return (
        f"\nRole × endpoint matrix: {len(cells)} operations × {len(ORDER)} callers "
        f"= {len(cells) * len(ORDER)} calls, {len(violations)} violation(s) ('!')\n" + "\n".join(lines)
    )
