"""Secrets come only from the settings (environment): no password, key or token written in the
source, and the SMTP password is a SecretStr that never reaches a log line, an error or a dump."""

from __future__ import annotations

import ast
import asyncio
import base64
import logging
import re
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr
from sqlmodel import select

from certification.db import get_engine, session_scope
from certification.settings import Settings, get_settings, reset_settings_cache
from notifications.models import OutboxMessage
from notifications.outbox import deliver_pending
from notifications.transport import build_transport
from tests.smtp import CollectingHandler, free_port

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("certification", "flows", "api", "documents", "notifications")
SECRET_NAME = re.compile(
    r"(^|_)(pass(word|wd|phrase)?|pwd|secret|api_?key|private_?key|credentials?|token)s?($|_)", re.I
)
NOT_A_SECRET_NAME = re.compile(
    r"_(type|field|header|name|label|url|path|prefix|length|hours|minutes|seconds|kind)$", re.I
)
# The documented exceptions: the development default of the verification key (README: « set it in
# production ») and the password of the demo accounts created by ``cqp demo``.
ALLOWED = {
    ("certification/settings.py", "dev-only-verification-secret-change-me"),
    ("api/demo.py", "demo-cqp-2026"),
}
PATTERNS = {
    "credentials in a URL": re.compile(r"[a-z+]+://[^/\s:@'\"]+:[^@\s'\"/]+@"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "cloud or forge key": re.compile(
        r"\b(AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|"
        r"sk_live_[A-Za-z0-9]{10,})\b"
    ),
}
URL_PLACEHOLDERS = ("://user:pass@",)  # the example in the description of database_url


def sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def literal(node) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        value = node.value.decode("latin-1") if isinstance(node.value, bytes) else node.value
        return value
    return None


def looks_secret(value: str) -> bool:
    return len(value) >= 6 and not re.search(r"\s", value) and not value.startswith(("/", "{", "<"))


def secret_literals(path: Path) -> list[tuple[int, str, str]]:
    """``(line, name, value)`` of string literals given to secret-named targets, keywords, defaults,
    dict keys, and of every ``SecretStr("…")``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []

    def check(name: str | None, value_node, line: int) -> None:
        value = literal(value_node)
        if (
            name
            and value is not None
            and SECRET_NAME.search(name)
            and not NOT_A_SECRET_NAME.search(name)
            and looks_secret(value)
        ):
            found.append((line, name, value))

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                name = getattr(target, "id", None) or getattr(target, "attr", None)
                check(name, node.value, node.lineno)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            name = getattr(node.target, "id", None) or getattr(node.target, "attr", None)
            check(name, node.value, node.lineno)
        elif isinstance(node, ast.keyword):
            check(node.arg, node.value, node.value.lineno)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                check(literal(key) if key is not None else None, value, value.lineno)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args.posonlyargs + node.args.args
            for arg, default in zip(args[len(args) - len(node.args.defaults) :], node.args.defaults, strict=True):
                check(arg.arg, default, default.lineno)
            for arg, default in zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True):
                if default is not None:
                    check(arg.arg, default, default.lineno)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "SecretStr":
            for arg in node.args:
                value = literal(arg)
                if value:
                    found.append((arg.lineno, "SecretStr(...)", value))
    return found


def test_no_secret_is_written_in_the_source():
    files = sources()
    assert len(files) > 40
    problems = []
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        for line, name, value in secret_literals(path):
            if (rel, value) not in ALLOWED:
                problems.append(f"{rel}:{line}: {name} = {value!r}")
        text = path.read_text(encoding="utf-8")
        for label, pattern in PATTERNS.items():
            for m in pattern.finditer(text):
                if label == "credentials in a URL" and any(p in m.group(0) for p in URL_PLACEHOLDERS):
                    continue
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{rel}:{line}: {label}: {m.group(0)[:60]!r}")
    assert not problems, "hard-coded secrets:\n" + "\n".join(problems)
    # The exceptions are still where they are documented (and nowhere else).
    for rel, value in ALLOWED:
        assert value in (ROOT / rel).read_text(encoding="utf-8")
        assert [p for p in files if value in p.read_text(encoding="utf-8")] == [ROOT / rel]


def test_the_scanner_finds_what_it_looks_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        'SMTP_PASSWORD = "hunter2-prod"\n'
        'def connect(password="Tr0ub4dor&3"): ...\n'
        'send(api_key="abcdef123456")\n'
        'conf = {"secret": "s3cr3t-value"}\n'
        'key = SecretStr("another-one")\n'
        'token_type = "bearer"\n'
        'password_label = "Mot de passe"\n',
        encoding="utf-8",
    )
    assert sorted(v for _, _, v in secret_literals(sample)) == sorted(
        ["hunter2-prod", "Tr0ub4dor&3", "abcdef123456", "s3cr3t-value", "another-one"]
    )
    assert PATTERNS["credentials in a URL"].search("postgresql://cqp:motdepasse@db/cqp")
    assert not PATTERNS["credentials in a URL"].search("http://127.0.0.1:8000/verify")


def test_secret_settings_are_secret_strings():
    for name, info in Settings.model_fields.items():
        if SECRET_NAME.search(name) and not NOT_A_SECRET_NAME.search(name):
            assert "SecretStr" in str(info.annotation), f"settings.{name} should be a SecretStr"
    assert "SecretStr" in str(Settings.model_fields["smtp_password"].annotation)


PASSWORD = "Sm7p-Pa55w0rd-ne-pas-journaliser"
USER = "relais-cqp"


class Auth:
    def __init__(self, password: str) -> None:
        self.password = password

    def __call__(self, server, db, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() == self.password
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_with_auth(monkeypatch):
    port = free_port()
    handler = CollectingHandler()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=Auth(PASSWORD),
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    for key, value in {
        "CQP_MAIL_TRANSPORT": "smtp",
        "CQP_SMTP_HOST": "127.0.0.1",
        "CQP_SMTP_PORT": str(port),
        "CQP_SMTP_USERNAME": USER,
        "CQP_SMTP_PASSWORD": PASSWORD,
    }.items():
        monkeypatch.setenv(key, value)
    reset_settings_cache()
    yield handler
    controller.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_password_is_never_shown_nor_logged(smtp_with_auth, monkeypatch, caplog):
    settings = get_settings()
    assert isinstance(settings.smtp_password, SecretStr)
    assert settings.smtp_password.get_secret_value() == PASSWORD
    encoded = {
        PASSWORD,
        base64.b64encode(PASSWORD.encode()).decode(),
        base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode(),
    }
    shown = " ".join(
        [
            repr(settings),
            str(settings),
            settings.model_dump_json(),
            str(settings.model_dump()),
            repr(build_transport(settings)),
        ]
    )
    assert not any(e in shown for e in encoded)

    caplog.set_level(logging.DEBUG)
    for name in ("aiosmtplib", "notifications", "mail.log", "aiosmtpd"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    with session_scope() as db:
        for i in (1, 2):
            _enqueue_plain(db, i)
    report = asyncio.run(deliver_pending(get_engine(), build_transport(settings)))
    assert report.sent == 2 and len(smtp_with_auth.envelopes) == 2  # authenticated with the password

    # A wrong password: the error is recorded and logged, the password is not.
    monkeypatch.setenv("CQP_SMTP_PASSWORD", PASSWORD + "-faux")
    reset_settings_cache()
    with session_scope() as db:
        _enqueue_plain(db, 3)
    report = asyncio.run(deliver_pending(get_engine(), build_transport(get_settings())))
    assert report.sent == 0 and report.retried + report.failed == 1
    with session_scope() as db:
        errors = " ".join(m.last_error or "" for m in db.exec(select(OutboxMessage)))
    assert "535" in errors and "not sent" in caplog.text  # the failure is recorded and logged
    text = caplog.text + errors
    for secret in encoded | {PASSWORD + "-faux"}:
        assert secret not in text, "the SMTP password leaked into logs or errors"


def _enqueue_plain(db, i: int) -> None:
    """An outbox message without a template (the test is about the transport, not the wording)."""
    from notifications.outbox import message_id_for

    db.add(
        OutboxMessage(
            dedupe_key=f"secret-test:{i}",
            to_addrs=["dest@example.org"],
            cc_addrs=[],
            subject="Test",
            body_text="Bonjour",
            body_html="<p>Bonjour</p>",
            attachments=[],
            message_id=message_id_for(f"secret-test:{i}"),
            template="test",
        )
    )
