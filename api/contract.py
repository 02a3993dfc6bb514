"""The API contract in the OpenAPI document: every operation declares the problem responses
(``application/problem+json``) it can return, chosen by the kind of route, and file downloads
declare their media type (``binary(...)`` in the route's ``responses=``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, routing
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import _get_api_route_for_openapi, get_openapi
from fastapi.routing import APIRoute

from api.errors import PROBLEM_JSON, TITLES, FieldError, Problem

PDF = "application/pdf"
REF = "#/components/schemas/Problem"


def binary(*media_types: str, description: str = "Le fichier") -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route answering a file of one of ``media_types``."""
    schema = {"type": "string", "format": "binary"}
    return {200: {"description": description, "content": {m: {"schema": schema} for m in media_types}}}


def multipart_body(properties: dict[str, Any], *, required: list[str] | None = None) -> dict[str, Any]:
    """``openapi_extra=`` of a route whose body is a multipart form of the fields ``properties``
    (for the files, :func:`pdf_files`), ``required`` the fields it must hold."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


def pdf_files(description: str, **constraints: Any) -> dict[str, Any]:
    """A multipart field of PDF files (``minItems``…: ``constraints``)."""
    return {"type": "array", **constraints, "items": {"type": "string", "format": "binary"}, "description": description}


def _roles(route: APIRoute) -> bool:
    """The route restricts roles (``require(...)``)."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if getattr(dep.call, "roles", None):
            return True
        stack += dep.dependencies
    return False


def _authenticated(route: APIRoute) -> bool:
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if getattr(dep.call, "__name__", "") == "current_principal":
            return True
        stack += dep.dependencies
    return False


def statuses(route: APIRoute, operation: dict) -> set[int]:
    """The problem statuses an operation can answer, by the kind of route."""
    codes = {422}  # any parameter or body can be invalid; domain rules answer 422 too
    if _authenticated(route):
        codes |= {401, 403}  # 403: a role not allowed, or an action the dossier does not allow
    if "{" in route.path or _authenticated(route):
        codes.add(404)
    if route.methods & {"POST", "PUT", "PATCH", "DELETE"}:
        codes |= {400, 409, 413, 415}  # malformed JSON, state conflicts, upload limits and types
    if route.path == "/auth/token":
        codes |= {400, 401, 429}
    for name in ("Idempotency-Key",):
        if any(p.get("name") == name for p in operation.get("parameters", [])):
            codes.add(409)
    return codes


INT32 = (-(2**31), 2**31 - 1)


def _bound_integers(node: Any) -> None:
    """Every integer of the document is a 32-bit one (the databases' integer columns): the spec
    says so, and a larger value is refused (422) instead of being schema-valid."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            node.setdefault("maximum", INT32[1])
            node.setdefault("minimum", INT32[0])
        for value in node.values():
            _bound_integers(value)
    elif isinstance(node, list):
        for value in node:
            _bound_integers(value)


async def strict_query(request: Request) -> None:
    """Query parameters are those the operation declares, each given once: a misspelt or repeated
    parameter is refused (422) rather than silently ignored."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    declared, stack = set(), [dependant]
    while stack:
        current = stack.pop()
        declared |= {p.alias for p in current.query_params}
        stack += current.dependencies
    errors = []
    for name in dict.fromkeys(request.query_params.keys()):
        if name not in declared:
            errors.append({"type": "extra_forbidden", "loc": ("query", name), "msg": "", "input": None})
        elif len(request.query_params.getlist(name)) > 1:
            errors.append({"type": "repeated", "loc": ("query", name), "msg": "", "input": None})
    if errors:
        raise RequestValidationError(errors)


def _problem(status: int) -> dict:
    return {"description": TITLES.get(status, "Erreur"), "content": {PROBLEM_JSON: {"schema": {"$ref": REF}}}}


def install_contract(app: FastAPI) -> None:
    """Replace ``app.openapi`` by the same document completed with the problem responses."""

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas["FieldError"] = FieldError.model_json_schema()
        schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas["Problem"].pop("$defs", None)
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        for context in routing.iter_route_contexts(app.routes):
            route = _get_api_route_for_openapi(context)
            if route is None or not route.include_in_schema:
                continue
            for method in route.methods:
                operation = spec["paths"][route.path_format][method.lower()]
                responses = operation.setdefault("responses", {})
                for status in sorted(statuses(route, operation) | {500} | {int(s) for s in responses if s >= "4"}):
                    entry = responses.setdefault(str(status), {})
                    entry.setdefault("description", TITLES.get(status, "Erreur"))
                    declared = entry.get("content") or {}
                    # a public HTML page may answer its refusals as the page itself (declared by the route)
                    entry["content"] = {
                        **{m: c for m, c in declared.items() if m == "text/html"},
                        **_problem(status)["content"],
                    }
                content = responses.get("200", {}).get("content", {})
                if any(c.get("schema", {}).get("format") == "binary" for c in content.values()):
                    content.pop("application/json", None)
        _bound_integers(spec["paths"])
        _bound_integers(schemas)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
