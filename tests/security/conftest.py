"""Fixtures of the security tests: a seeded world where every dossier belongs to someone else than the
callers, and the enumeration of the application's routes (whatever routers are installed)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import select

from api.app import create_app
from certification.controle.models import Controle, ControleFile
from certification.db import session_scope
from certification.jury.models import Certificate, JurySession
from certification.models import Role
from certification.agrement.models import Agrement, AgrementRequest, Piece
from certification.appeals.models import Appeal
from certification.candidates.models import Candidate, Evaluation
from certification.vae.models import VaeDossier
from documents.models import GeneratedDocument
from tests.factories import add_user, deliberated_session, grant_agrement, make_users, ready_candidates, register_sp
from tests.factories import siret, structure_account, structure_id_of, submit_request

TINY_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PARTIAL = {"SP-B1": "validated", "SP-B2": "not_validated", "SP-B3": "validated"}


@dataclass(frozen=True)
class RouteInfo:
    """What the security tests need of a route: its full path, methods and dependency tree."""

    path: str
    methods: frozenset[str]
    dependant: object
    body_field: object = None


def api_routes(app) -> list[RouteInfo]:
    """Every API route of ``app`` with its full path, including those of included routers (FastAPI
    ≥ 0.150 keeps included routers as ``_IncludedRouter`` entries in ``app.routes``)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        contexts = [(r, r) for r in app.routes]
    else:
        contexts = [(ctx.original_route, ctx._effective_route) for ctx in iter_route_contexts(app.routes)]  # noqa: SLF001
    routes = []
    for original, effective in contexts:
        if not isinstance(original, APIRoute):
            continue
        routes.append(
            RouteInfo(
                path=getattr(effective, "path", None) or original.path,
                methods=frozenset(getattr(effective, "methods", None) or original.methods),
                dependant=getattr(effective, "dependant", None) or original.dependant,
                body_field=getattr(original, "body_field", None),
            )
        )
    return routes


def route_roles(route: RouteInfo) -> frozenset[Role] | None:
    """Roles allowed by the ``api.deps.require(...)`` dependency of a route (None: any signed-in user
    or no role dependency)."""

    def walk(dependant):
        for dep in dependant.dependencies:
            roles = getattr(dep.call, "roles", None)
            if roles is not None:
                return frozenset(roles)
            found = walk(dep)
            if found is not None:
                return found
        return None

    return walk(route.dependant)


def needs_login(route: RouteInfo) -> bool:
    """Whether the route depends (directly or not) on the bearer authentication."""
    from api.deps import current_principal

    def walk(dependant):
        return any(dep.call is current_principal or walk(dep) for dep in dependant.dependencies)

    return walk(route.dependant)


WEB_PREFIX = "/app"  # the HTML back-office: its own session cookie (the API token) and CSRF tokens


def web_session(user: dict | None, path: str, method: str) -> tuple[dict, dict]:
    """Headers and form fields of a signed-in back-office user for ``path``: the session cookie
    (the user's API token) and, for a POST, the CSRF token of that session and the confirmation.
    Nothing for the API routes, for anonymous callers, or for the logout (it would end the session)."""
    if user is None or not path.startswith(WEB_PREFIX) or path.endswith("/logout"):
        return {}, {}
    try:
        from api.web.session import CSRF_FIELD, SESSION_COOKIE, csrf_for
    except ImportError:  # no back-office in this version
        return {}, {}
    form = {CSRF_FIELD: csrf_for(user["token"]), "confirm": "1"} if method == "POST" else {}
    return {"Cookie": f"{SESSION_COOKIE}={user['token']}"}, form


@dataclass
class World:
    people: dict
    ids: dict[str, int | str] = field(default_factory=dict)
    documents: dict[str, int] = field(default_factory=dict)  # route prefix -> a document of its entity
    callers: dict[str, dict | None] = field(default_factory=dict)  # role name -> user (None: anonymous)
    owners: dict[str, dict] = field(default_factory=dict)  # role name -> the user owning the dossiers


@pytest.fixture
def client():
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def people():
    """The users of every role (tests/factories.make_users)."""
    return make_users()


def _vae_dossier(owner_structure: dict, officer) -> int:
    """A VAE candidate of the owner structure, his request declared recevable (its letter) and his livret 2."""
    from datetime import date

    from weasyprint import HTML

    from api.uploads import store_pieces
    from certification.vae import service as vae_svc
    from flows.vae import advance_vae

    livret2 = store_pieces([("livret2", "livret 2.pdf", HTML(string="<h1>Livret 2</h1>").write_pdf())])[0]
    with session_scope() as db:
        candidate = register_sp(
            db, owner_structure["actor"], "N'Diaye", "Aïssatou", date(1985, 4, 2), sex="F", pathway="vae"
        )
        dossier_id = vae_svc.file_request(db, owner_structure["actor"], candidate.id).id
        vae_svc.decide_recevabilite(db, officer, dossier_id, decision="recevable")
        vae_svc.deposit_livret2(db, owner_structure["actor"], dossier_id, livret2)
    advance_vae(dossier_id)  # the décision de recevabilité
    return dossier_id


@pytest.fixture
def world() -> World:
    """Dossiers of every kind owned by an « owner » set of users, and one caller per role who owns none
    of them: another mandataire, an unassigned contrôleur, a formateur, a jury member of no session,
    the account of another structure."""
    from certification.controle import service as controle_svc
    from certification.appeals import service as appeals
    from flows.agrement import advance_request
    from flows.jury import advance_jury

    people = make_users()
    owner_mandataire = people["other_mandataire"]
    people["owner_controleur"] = add_user("controleur.titulaire@cqp.test", "Bruno Lemaître", Role.controleur)
    agrement_id = grant_agrement(people, 1, mandataire=owner_mandataire["actor"])
    grant_agrement(people, 2, mandataire=owner_mandataire["actor"])
    open_request = submit_request(owner_mandataire["actor"], 3)
    advance_request(open_request)  # accusé de réception (a document of the request)
    owner_structure = structure_account(people, siret(1), "owner_structure")
    caller_structure = structure_account(people, siret(2), "structure")
    people["jury_member"] = add_user("jure.independant@cqp.test", "Juré d'une autre session", Role.jury_member)

    c1, c2 = ready_candidates(owner_structure, 2)
    sid = deliberated_session(people, [c1, c2], {c2: PARTIAL})
    advance_jury(sid)  # certificates, attestation, PV, results notified
    officer = people["officer"]["actor"]
    with session_scope() as db:
        appeal = appeals.file_appeal(
            db, owner_structure["actor"], candidate_id=c2, jury_session_id=sid, grounds="Bloc SP-B2 contesté."
        )
        appeals.declare_admissible(db, officer, appeal.id)
        appeals.reject(db, officer, appeal.id, "Évaluation conforme au référentiel.")
        controle = controle_svc.plan_controle(db, officer, agrement_id, reason="Signalement")
        controle_svc.assign(db, officer, controle.id, people["owner_controleur"]["id"])
    advance_jury(sid)  # the appeal's letters
    vae_dossier = _vae_dossier(owner_structure, officer)

    w = World(people)
    with session_scope() as db:
        certificate = db.exec(select(Certificate).where(Certificate.candidate_id == c1)).one()
        piece = db.exec(select(Piece).where(Piece.request_id == open_request)).first()
        evaluation = db.exec(select(Evaluation).where(Evaluation.candidate_id == c1)).first()
        controle_file = db.exec(select(ControleFile)).first()
        w.ids = {
            "request_id": open_request,
            "agrement_id": agrement_id,
            "controle_id": controle.id,
            "candidate_id": c1,
            "session_id": sid,
            "certificate_id": certificate.id,
            "appeal_id": appeal.id,
            "structure_id": structure_id_of(1),
            "piece_id": piece.id,
            "evaluation_id": evaluation.id,
            "file_id": controle_file.id if controle_file else 1,
            "user_id": owner_mandataire["id"],
            "controleur_id": people["owner_controleur"]["id"],
            "number": certificate.number,
            "index": 0,
            "key": certificate.number,
            "year": certificate.issued_on.year,
            "certification_code": "CQP_SP",
            "dossier_id": vae_dossier,
        }
        entities = {
            "agrement-requests": (AgrementRequest, open_request),
            "agrements": (Agrement, agrement_id),
            "controles": (Controle, controle.id),
            "candidates": (Candidate, c1),
            "jury-sessions": (JurySession, sid),
            "certificates": (Certificate, certificate.id),
            "appeals": (Appeal, appeal.id),
            "vae-dossiers": (VaeDossier, vae_dossier),
        }
        for prefix, (model, entity_id) in entities.items():
            doc = db.exec(
                select(GeneratedDocument).where(
                    GeneratedDocument.entity_type == model.__tablename__, GeneratedDocument.entity_id == entity_id
                )
            ).first()
            if doc is not None:
                w.documents[prefix] = doc.id
        any_doc = db.exec(select(GeneratedDocument.id)).first()
        w.ids["document_id"] = any_doc
    w.callers = {
        "anonymous": None,
        "formateur": people["formateur"],
        "controleur": people["controleur"],
        "mandataire": people["mandataire"],
        "jury_member": people["jury_member"],
        "structure": caller_structure,
        "officer": people["officer"],
    }
    people["owner_formateur"] = add_user("formatrice.titulaire@cqp.test", "Inès Formatrice", Role.formateur)
    w.owners = {
        "officer": people["officer"],
        "mandataire": owner_mandataire,
        "controleur": people["owner_controleur"],
        "formateur": people["owner_formateur"],
        "jury_member": people["presidente"],
        "structure": owner_structure,
    }
    return w


# --- requests built from the OpenAPI schema ------------------------------------------------------------


class Builder:
    def __init__(self, spec: dict, world) -> None:
        self.spec = spec
        self.world = world

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.spec["components"]["schemas"][name]
        return schema

    def id_for(self, name: str, path: str) -> Any:
        ids = self.world.ids
        if name == "document_id":
            prefix = path.strip("/").split("/", 1)[0]
            return self.world.documents.get(prefix, ids["document_id"])
        if name in ids:
            return ids[name]
        if name.endswith("_ids"):
            return [ids.get(name[:-1], 1)]
        return ids.get(name, 1)

    def value(self, schema: dict, name: str = "", path: str = "", depth: int = 0) -> Any:
        schema = self.resolve(schema)
        if depth > 6:
            return None
        if name.endswith(("_id", "_ids")) or name in self.world.ids:
            return self.id_for(name, path)
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                options = [self.resolve(o) for o in schema[key]]
                options = [o for o in options if o.get("type") != "null"] or options
                return self.value(options[0], name, path, depth + 1)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        if "default" in schema and schema["default"] is not None:
            return schema["default"]
        kind, fmt = schema.get("type"), schema.get("format", "")
        if kind == "object" or "properties" in schema:
            props = schema.get("properties", {})
            return {k: self.value(props[k], k, path, depth + 1) for k in schema.get("required", []) if k in props}
        if kind == "array":
            count = max(schema.get("minItems", 0), 1)
            return [self.value(schema.get("items", {}), name, path, depth + 1) for _ in range(count)]
        if kind == "integer":
            return max(schema.get("minimum", 1), 1)
        if kind == "number":
            return float(max(schema.get("minimum", 1), 1))
        if kind == "boolean":
            return True
        if fmt == "date":
            return "2030-01-15"
        if fmt == "date-time":
            return "2030-01-15T09:00:00+01:00"
        if fmt == "email":
            return "quelquun@example.org"
        if fmt in ("uri", "url"):
            return "https://example.org/"
        return "x" * max(schema.get("minLength", 1), 1)

    def request(self, route, method: str, headers: dict) -> dict:
        path = route.path
        operation = self.spec.get("paths", {}).get(path, {}).get(method.lower(), {})
        url = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(self.id_for(m.group(1), path)), path)
        params = {}
        for p in operation.get("parameters", []):
            if p.get("in") == "query" and p.get("required"):
                params[p["name"]] = self.value(p.get("schema", {}), p["name"], path)
        kwargs: dict[str, Any] = {"headers": dict(headers), "params": params}
        content = operation.get("requestBody", {}).get("content", {})
        if "multipart/form-data" in content:
            props = self.resolve(content["multipart/form-data"].get("schema", {})).get("properties", {})
            files = [n for n in props if n != "metadata"]
            kwargs["data"] = {"metadata": "{}"} if "metadata" in props else {}
            kwargs["files"] = [(files[0], ("piece.pdf", TINY_PDF, "application/pdf"))] if files else None
        elif "application/json" in content:
            kwargs["json"] = self.value(content["application/json"].get("schema", {}), "", path)
        elif "application/x-www-form-urlencoded" in content:
            body = self.value(content["application/x-www-form-urlencoded"].get("schema", {}), "", path)
            kwargs["data"] = {k: str(v) for k, v in (body or {}).items()}
        elif method in ("POST", "PUT", "PATCH") and getattr(route, "body_field", None) is not None:
            kwargs["json"] = {}
        return {"method": method, "url": url, **kwargs}

    def request_as(self, route, method: str, user: dict | None) -> dict:
        """``request`` with the caller's credentials: bearer token for the API, session cookie and
        CSRF token for the back-office pages."""
        from tests.factories import auth

        req = self.request(route, method, auth(user) if user else {})
        cookie, form = web_session(user, route.path, method)
        if cookie:
            req["headers"] = {**req["headers"], **cookie}
            if form and "json" not in req:
                req["data"] = {**(req.get("data") or {}), **form}
        return req
