"""Backup while a jury is being issued, restore into an empty installation, `cqp check` passes on the
restored copy and the restored engine serves /verify for every certificate. Secrets only encrypted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import func, select
from typer.testing import CliRunner

from api.app import create_app, periodic_flows
from api.backup import BackupError, backup, prune, restore
from api.cli import app as cli
from certification.db import dispose_engines, get_engine, session_scope
from certification.jury.models import Certificate, JurySession
from certification.jury.issuance import checksum
from certification.settings import get_settings, reset_settings_cache
from documents.models import GeneratedDocument
from tests.factories import deliberated_session, grant_agrement, make_users, ready_candidates, siret, \
    structure_account

from tests.operations.files import give_pieces_their_files

pytestmark = pytest.mark.integration
SIZE = 130  # the jury: 130 candidates, so 130 certificates issued while the backup runs
ROOT = Path(__file__).resolve().parents[2]
WORKER = "import sys; from flows.jury import advance_jury; print(advance_jury(int(sys.argv[1])).state)"


def _certificates() -> int:
    with session_scope() as db:
        return db.exec(select(func.count()).select_from(Certificate)).one()


def _documents() -> int:
    with session_scope() as db:
        return db.exec(select(func.count()).select_from(GeneratedDocument)).one()


def _worker(session_id: int) -> subprocess.Popen:
    env = {**os.environ, "CQP_FLOW_DISPATCH": "none", "CQP_MAIL_TRANSPORT": "outbox", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-c", WORKER, str(session_id)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def empty_installation(tmp_path, monkeypatch):
    """Point the settings at an empty data directory and an empty database (SQLite file, or a new
    database on the PostgreSQL server of the suite), as an operator restoring on a new machine."""
    live = make_url(get_settings().sqlalchemy_url)
    created = None
    if live.get_backend_name() == "postgresql":
        created = f"cqp_restore_{uuid.uuid4().hex[:8]}"
        with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{created}"'))
        url = live.set(database=created).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path / 'restored' / 'cqp.db'}"

    def switch() -> Path:
        monkeypatch.setenv("CQP_DATA_DIR", str(tmp_path / "restored"))
        monkeypatch.setenv("CQP_DATABASE_URL", url)
        reset_settings_cache()
        return tmp_path / "restored"

    yield switch
    dispose_engines()
    if created:
        monkeypatch.undo()
        reset_settings_cache()
        with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)'))


def test_backup_during_issuance_then_restore_check_and_verify(tmp_path, empty_installation):
    people = make_users()
    grant_agrement(people, 1)
    structure = structure_account(people, siret(1))
    session_id = deliberated_session(people, ready_candidates(structure, SIZE))
    give_pieces_their_files()

    proc = _worker(session_id)
    deadline = time.monotonic() + 300
    while _documents() < 5 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    archive = backup(tmp_path / "backups")  # the engine keeps issuing meanwhile
    at_backup_end = _certificates(), _documents()
    issuing_during_backup = proc.poll() is None
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    assert _certificates() == SIZE
    # The backup overlapped the issuance: the worker was still rendering the jury's PDFs when it ended.
    assert issuing_during_backup and at_backup_end[1] < _documents(), at_backup_end
    assert archive.name.startswith("cqp-backup-") and archive.name.endswith(".tar.gz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
        config = json.load(tar.extractfile("config.json"))
    assert any(n.startswith("database/") for n in names) and any(n.startswith("files/generated/") for n in names)
    assert "secrets.enc" not in names and manifest["secrets"] is False
    assert "verification_secret" not in config and "smtp_password" not in config
    assert set(manifest["files"]) <= set(names)

    restored_dir = empty_installation()
    result = CliRunner().invoke(cli, ["restore", str(archive)])
    assert result.exit_code == 0, result.output
    check = CliRunner().invoke(cli, ["check"])
    assert check.exit_code == 0, check.output
    assert "Aucune anomalie." in check.output and str(restored_dir.resolve()) in check.output

    with session_scope() as db:
        numbers = [c.number for c in db.exec(select(Certificate).order_by(Certificate.number))]
        assert db.exec(select(JurySession)).one().id == session_id
    # The jury's certificates are numbered together, before their PDFs are rendered: the snapshot, taken
    # once the first PDFs were stored, holds every one of the 130 (and nothing issued after it).
    assert len(numbers) == SIZE <= at_backup_end[0]
    assert len(set(numbers)) == SIZE
    with session_scope() as db:
        restored_documents = db.exec(select(func.count()).select_from(GeneratedDocument)).one()
    assert 5 <= restored_documents <= at_backup_end[1]
    with TestClient(create_app()) as client:
        for number in numbers:
            r = client.get(f"/verify/{number}", params={"c": checksum(number), "format": "json"})
            assert r.status_code == 200 and r.json()["status"] == "valid", (number, r.text)
            assert r.json()["number"] == number
    # A restore never overwrites an installation.
    again = CliRunner().invoke(cli, ["restore", str(archive)])
    assert again.exit_code == 1 and "n'est pas vide" in again.output


def test_secrets_are_backed_up_only_encrypted(tmp_path, empty_installation, monkeypatch):
    monkeypatch.setenv("CQP_VERIFICATION_SECRET", "clef-de-verification-tres-secrete")
    monkeypatch.setenv("CQP_SMTP_PASSWORD", "mot-de-passe-smtp-secret")
    reset_settings_cache()
    make_users()
    with pytest.raises(BackupError, match="chiffrés"):
        backup(tmp_path / "b", with_secrets=True)
    archive = backup(tmp_path / "b", with_secrets=True, passphrase="une longue phrase de passe")
    raw = archive.read_bytes()
    with tarfile.open(archive) as tar:
        sealed = tar.extractfile("secrets.enc").read()
        everything = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
    assert b"clef-de-verification" not in everything and b"mot-de-passe-smtp" not in everything
    assert b"clef-de-verification" not in raw and json.loads(sealed)["cipher"] == "AES-256-GCM"

    empty_installation()
    with pytest.raises(BackupError, match="Phrase de passe incorrecte"):
        restore(archive, passphrase="une autre phrase")
    dispose_engines()
    _empty(get_settings())
    result = restore(archive, passphrase="une longue phrase de passe")
    lines = result.secrets_file.read_text().splitlines()
    assert "CQP_VERIFICATION_SECRET=clef-de-verification-tres-secrete" in lines
    assert "CQP_SMTP_PASSWORD=mot-de-passe-smtp-secret" in lines
    assert oct(result.secrets_file.stat().st_mode & 0o777) == "0o600"
    # The restored secrets file never goes into a later archive in clear.
    later = backup(tmp_path / "c")
    with tarfile.open(later) as tar:
        assert not [n for n in tar.getnames() if n.endswith("secrets.env")]


def _empty(settings) -> None:
    """Undo a failed restore's partial database so that the next attempt starts from empty."""
    import shutil

    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        shutil.rmtree(settings.data_dir, ignore_errors=True)
    else:
        with get_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        shutil.rmtree(settings.data_dir, ignore_errors=True)


def test_the_main_job_backs_up_on_schedule_and_keeps_the_most_recent(tmp_path, monkeypatch):
    assert ("backup" in [name for _, name, _ in periodic_flows()])  # on by default, daily
    assert get_settings().backup_interval_seconds == 86400
    for i in range(5):
        (tmp_path / f"cqp-backup-2026010{i}T000000000000Z.tar.gz").write_bytes(b"x")
    deleted = prune(tmp_path, 2)
    assert [p.name for p in deleted] == [f"cqp-backup-2026010{i}T000000000000Z.tar.gz" for i in range(3)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"cqp-backup-2026010{i}T000000000000Z.tar.gz"
                                                          for i in (3, 4)]
    monkeypatch.setenv("CQP_BACKUP_DIR", str(tmp_path / "planned"))
    monkeypatch.setenv("CQP_BACKUP_KEEP", "1")
    reset_settings_cache()
    make_users()
    from api.backup import scheduled_backup

    first = scheduled_backup()
    second = scheduled_backup()
    assert not first.exists() and second.exists()
    assert [p.name for p in (tmp_path / "planned").iterdir()] == [second.name]
