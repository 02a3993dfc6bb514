"""Upload abuse: wrong magic bytes, oversized bodies (announced and streamed), path traversal and NUL
bytes in names, an HTML page with a script posing as a PDF, too many files. Every one is refused
with a 4xx and leaves nothing behind: no row in any table, no file in the uploads directory.

The precise answers are checked on the submission of an agrément request; then every multipart
route of the application (discovered from the OpenAPI description, so new ones are covered) gets
the same abuse from every owner of a dossier."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel

from api.app import create_app
from certification.db import session_scope
from certification.settings import reset_settings_cache
from tests.factories import auth, make_users, siret
from tests.security.conftest import Builder, api_routes

MAX_BYTES = 200_000
MAX_FILES = 3
LIMIT = MAX_BYTES * MAX_FILES + 1_000_000  # api.uploads: whole body limit
HTML_AS_PDF = (
    b"<!DOCTYPE html><html><body><script>fetch('/auth/me').then(r=>r.text()).then(alert)</script></body></html>"
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 200


@pytest.fixture(autouse=True)
def small_limits(monkeypatch):
    monkeypatch.setenv("CQP_UPLOAD_MAX_BYTES", str(MAX_BYTES))
    monkeypatch.setenv("CQP_UPLOAD_MAX_FILES", str(MAX_FILES))
    reset_settings_cache()


def stored(settings) -> dict:
    """Rows of every table, and the files under the uploads directory."""
    with session_scope() as db:
        rows = {
            t.name: db.execute(select(func.count()).select_from(t)).scalar_one()
            for t in SQLModel.metadata.sorted_tables
        }
    root = settings.uploads_dir
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []
    return {"rows": rows, "files": files}


def metadata(n: int = 1) -> str:
    return json.dumps(
        {
            "structure": {
                "siret": siret(n),
                "name": "Les Jardins de l'Étang",
                "region": "Bretagne",
                "email": f"aci{n}@example.org",
            },
            "certification_code": "CQP_SP",
        }
    )


def multipart(fields: list[tuple[str, str | None, bytes]], boundary: str) -> bytes:
    out = b""
    for name, filename, data in fields:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode("utf-8", "surrogateescape")
        if filename is not None:
            out += b"Content-Type: application/pdf\r\n"
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


@pytest.fixture
async def api():
    """An HTTP client on the ASGI app that streams request bodies (unlike TestClient, which reads
    them whole first), so a server that stops reading early can be observed."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(), raise_app_exceptions=False), base_url="http://testserver"
    ) as client:
        yield client


@pytest.fixture
def people():
    return make_users()


async def test_precise_answers_on_the_submission(api, people, pdf_bytes, settings):
    headers = auth(people["mandataire"])
    before = stored(settings)

    async def submit(label, files):
        r = await api.post("/agrement-requests", headers=headers, data={"metadata": metadata()}, files=files)
        assert stored(settings) == before, f"{label}: something was stored after {r.status_code} {r.text[:200]}"
        return r

    good = ("attestation_epsp", ("attestation.pdf", pdf_bytes, "application/pdf"))
    cases = {
        "wrong magic bytes": ([("dossier", ("dossier.pdf", PNG, "application/pdf")), good], 415, "unsupported_type"),
        "HTML with a script as PDF": (
            [("dossier", ("dossier.pdf", HTML_AS_PDF, "application/pdf")), good],
            415,
            "unsupported_type",
        ),
        "PDF under an .html name": (
            [("dossier", ("dossier.html", pdf_bytes, "text/html")), good],
            415,
            "extension_mismatch",
        ),
        "empty file": ([("dossier", ("dossier.pdf", b"", "application/pdf")), good], 422, "empty_file"),
        "traversal only": ([("dossier", ("../..", pdf_bytes, "application/pdf")), good], 422, "invalid_filename"),
        "root only": ([("dossier", ("/", pdf_bytes, "application/pdf")), good], 422, "invalid_filename"),
        "one file too large": (
            [("dossier", ("dossier.pdf", pdf_bytes + b"0" * MAX_BYTES, "application/pdf")), good],
            413,
            "file_too_large",
        ),
        "too many files": (
            [("dossier", (f"d{i}.pdf", pdf_bytes, "application/pdf")) for i in range(MAX_FILES + 1)],
            422,
            "too_many_parts",
        ),
        "the second file is bad": (
            [good, ("dossier", ("dossier.pdf", HTML_AS_PDF, "application/pdf"))],
            415,
            "unsupported_type",
        ),
    }
    for label, (files, status, code) in cases.items():
        r = await submit(label, files)
        assert r.status_code == status, f"{label}: {r.status_code} {r.text[:300]}"
        if code:
            assert r.json()["code"] == code, f"{label}: {r.text[:300]}"

    # Raw control characters in the file name (httpx would percent-encode them; an attacker does not).
    boundary = uuid.uuid4().hex
    for label, name in {
        "NUL byte in the name": "dossier.php\x00.pdf",
        "escape in the name": "dos\x1b[2Jsier.pdf",
        "tab in the name": "dossier\t.pdf",
    }.items():
        body = multipart(
            [
                ("metadata", None, metadata().encode()),
                ("dossier", name, pdf_bytes),
                ("attestation_epsp", "a.pdf", pdf_bytes),
            ],
            boundary,
        )
        r = await api.post(
            "/agrement-requests",
            content=body,
            headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert r.status_code == 422 and r.json()["code"] == "invalid_filename", f"{label}: {r.text[:300]}"
        assert stored(settings) == before, label

    # Content-Length announcing more than allowed: refused before reading anything.
    body = multipart([("metadata", None, metadata().encode()), ("dossier", "d.pdf", pdf_bytes)], boundary)
    r = await api.post(
        "/agrement-requests",
        content=body,
        headers={
            **headers,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(LIMIT + 1),
        },
    )
    assert r.status_code == 413 and stored(settings) == before

    # A file streamed without Content-Length (chunked), far larger than allowed: the server stops
    # reading at the limit instead of spooling gigabytes to disk.
    pulled = {"bytes": 0}

    async def endless() -> AsyncIterator[bytes]:
        head = multipart([("metadata", None, metadata().encode())], boundary).rsplit(
            b"--" + boundary.encode() + b"--", 1
        )[0]
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="dossier"; filename="d.pdf"\r\n'
            f"Content-Type: application/pdf\r\n\r\n".encode()
            + pdf_bytes
        )
        yield head
        pulled["bytes"] += len(head)
        chunk = b"0" * 65536
        while pulled["bytes"] < 50 * LIMIT:
            pulled["bytes"] += len(chunk)
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    r = await api.post(
        "/agrement-requests",
        content=endless(),
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413, r.text
    assert pulled["bytes"] < LIMIT + 2 * 65536, pulled
    assert stored(settings) == before

    # A name carrying a path (no NUL, no control character) is refused as a whole: nothing stored.
    for label, name in {
        "unix traversal": "../../../../etc/cron.d/evil.pdf",
        "windows traversal": "..\\..\\windows\\system32\\a.pdf",
        "absolute path": "/var/lib/cqp/uploads/x.pdf",
    }.items():
        r = await submit(label, [("dossier", (name, pdf_bytes, "application/pdf")), good])
        assert r.status_code == 422 and r.json()["code"] == "invalid_filename", f"{label}: {r.text[:300]}"
    assert not (settings.data_dir.parent / "etc").exists()


async def test_every_multipart_route_refuses_abuse(api, world, pdf_bytes, settings):
    """Every route taking files, called by every owner of the dossiers, with each abusive payload."""
    spec = (await api.get("/openapi.json")).json()
    builder = Builder(spec, world)
    routes = []
    for route in api_routes(api._transport.app):  # noqa: SLF001
        for method in route.methods - {"HEAD", "OPTIONS"}:
            content = (
                spec["paths"].get(route.path, {}).get(method.lower(), {}).get("requestBody", {}).get("content", {})
            )
            if "multipart/form-data" in content:
                schema = builder.resolve(content["multipart/form-data"].get("schema", {}))
                fields = [n for n in schema.get("properties", {}) if n != "metadata"]
                routes.append((route, method, fields or ["file"]))
    assert len(routes) >= 5, [r[0].path for r in routes]
    payloads = {
        "wrong magic": lambda f: [(f, ("piece.pdf", PNG, "application/pdf"))],
        "html script": lambda f: [(f, ("piece.pdf", HTML_AS_PDF, "application/pdf"))],
        "too large": lambda f: [(f, ("piece.pdf", pdf_bytes + b"0" * MAX_BYTES, "application/pdf"))],
        "too many": lambda f: [(f, (f"p{i}.pdf", pdf_bytes, "application/pdf")) for i in range(MAX_FILES + 1)],
    }
    before = stored(settings)
    seen = []
    for route, method, fields in routes:
        for owner in world.owners.values():
            req = builder.request(route, method, auth(owner))
            for label, make in payloads.items():
                r = await api.request(
                    method, req["url"], headers=req["headers"], data=req.get("data") or {}, files=make(fields[0])
                )
                seen.append((route.path, label, r.status_code))
                assert 400 <= r.status_code < 500, f"{method} {route.path} {label}: {r.status_code} {r.text[:300]}"
                assert stored(settings) == before, f"{method} {route.path} {label} stored something"
    print(f"\n{len(seen)} abusive uploads on {len(routes)} routes: statuses {sorted({s for _, _, s in seen})}")
