"""The routes declared by api.routes and api.reads: named and typed as the hand-written ones were
(operation id, path parameter, dependencies), and an action's idempotency digest unchanged."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

from fastapi import APIRouter

from api.deps import Officer
from api.idempotency import Call
from api.routes import DossierActions
from api.schemas import ReasonIn


class _Recorder:
    """A responder that records the digest and applies the action to a fake session."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, call, principal, digest_parts, action):
        self.calls.append((digest_parts, action("session")))
        return "answer"


def _actions(digest_path: bool) -> tuple[APIRouter, _Recorder]:
    router, recorder = APIRouter(), _Recorder()
    actions = DossierActions(
        router,
        id_param="appeal_id",
        responder=recorder,
        response_model=None,
        principal=Officer,
        digest_path=digest_path,
    )
    actions.add("start-over", lambda s, actor, i: (s, actor, i), summary="Recommencer")
    actions.add("reject", lambda s, actor, i, reason: (s, actor, i, reason), reason=True, summary="Rejeter")
    return router, recorder


def test_an_action_route_is_named_and_typed_as_a_written_one():
    router, _ = _actions(digest_path=True)
    plain, with_reason = router.routes
    assert (plain.path, plain.name, plain.methods) == ("/{appeal_id}/start-over", "start_over", {"POST"})
    assert with_reason.path == "/{appeal_id}/reject" and with_reason.name == "reject"
    parameters = inspect.signature(with_reason.endpoint).parameters
    assert [(p.name, p.annotation) for p in parameters.values()] == [
        ("appeal_id", int),
        ("body", ReasonIn),
        ("call", Call),
        ("principal", Officer),
    ]
    assert plain.endpoint.__doc__ is None  # else FastAPI would make it the route's description


def test_an_action_applies_the_service_with_the_digest_of_the_written_routes():
    body, principal = ReasonIn(reason="Pièces manquantes au dossier"), SimpleNamespace(actor="actor")
    for digest_path, expected in ((True, [(7, "start-over"), (7, "reject", body)]), (False, [(7,), (7, body)])):
        router, recorder = _actions(digest_path)
        assert router.routes[0].endpoint(appeal_id=7, call="call", principal=principal) == "answer"
        router.routes[1].endpoint(appeal_id=7, body=body, call="call", principal=principal)
        assert [digest for digest, _ in recorder.calls] == expected
        assert [done for _, done in recorder.calls] == [
            ("session", "actor", 7),
            ("session", "actor", 7, "Pièces manquantes au dossier"),
        ]
