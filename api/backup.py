"""Backup and restore of an installation (``cqp backup``, ``cqp restore``, the scheduled backup).

One dated archive ``cqp-backup-<UTC time>.tar.gz`` holds:

- ``database/cqp.db`` (SQLite, copied with the online backup API: a consistent snapshot while the
  engine writes) or ``database/cqp.dump`` (PostgreSQL, ``pg_dump -Fc``, one snapshot transaction);
- ``files/…``: every file of the data directory (generated documents, uploads, outbox, exports),
  copied *after* the database snapshot, so that every file the snapshot refers to is there (files
  are written before the rows that record them);
- ``config.json``: the settings needed to read the record, without any secret;
- ``secrets.enc`` only when asked: the secret settings (verification key of the QR codes, SMTP
  password), encrypted with AES-256-GCM under a key derived from a passphrase by scrypt;
- ``manifest.json``: time, schema revision, backend, and the SHA-256 of every file of the archive.

``restore`` rebuilds an *empty* installation (empty data directory, database without tables) and
checks every file against the manifest.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from certification.db import get_engine
from certification.settings import Settings, get_settings

ARCHIVE_PREFIX = "cqp-backup-"
FORMAT = 1
SKIPPED_DIRS = {".incoming"}
SKIPPED_NAMES = {"secrets.env", ".env"}  # secrets go in an archive only encrypted (secrets.enc)
_AAD = b"cqp-backup-encrypted-settings-v1"  # associated data of AES-GCM
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}


class BackupError(Exception):
    """A backup or restore that cannot be done; the message is French (shown by the CLI)."""


@dataclass(frozen=True)
class RestoreResult:
    files: int
    database: str
    secrets_file: Path | None


# --- secrets ----------------------------------------------------------------------------------


def secret_settings(settings: Settings) -> dict[str, str]:
    """The secret settings that are set, as ``CQP_<NAME>`` environment variables."""
    return {
        f"CQP_{name.upper()}": value.get_secret_value()
        for name in type(settings).model_fields
        if name != "backup_passphrase" and isinstance(value := getattr(settings, name), SecretStr)
    }


def _key(passphrase: str, salt: bytes) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, **_SCRYPT).derive(passphrase.encode())


def encrypt(data: bytes, passphrase: str) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt, nonce = os.urandom(16), os.urandom(12)
    sealed = AESGCM(_key(passphrase, salt)).encrypt(nonce, data, _AAD)
    return json.dumps(
        {
            "kdf": "scrypt",
            **_SCRYPT,
            "cipher": "AES-256-GCM",
            **{k: base64.b64encode(v).decode() for k, v in (("salt", salt), ("nonce", nonce), ("ciphertext", sealed))},
        }
    ).encode()


def decrypt(blob: bytes, passphrase: str) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    box = json.loads(blob)
    salt, nonce, sealed = (base64.b64decode(box[k]) for k in ("salt", "nonce", "ciphertext"))
    try:
        return AESGCM(_key(passphrase, salt)).decrypt(nonce, sealed, _AAD)
    except InvalidTag:
        raise BackupError(
            "Phrase de passe incorrecte : les secrets de la sauvegarde ne peuvent pas être lus."
        ) from None


# --- database ---------------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    return Path(make_url(url).database or "")


def _pg_tool(settings: Settings, name: str) -> str:
    candidate = settings.pg_bin_dir / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        raise BackupError(f"Programme {name} introuvable (réglage CQP_PG_BIN_DIR).")
    return found


def _pg_target(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment carrying it."""
    parsed = make_url(url)
    env = {**os.environ, **({"PGPASSWORD": parsed.password} if parsed.password else {})}
    libpq = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return libpq, env


def _dump_database(settings: Settings, target_dir: Path) -> str:
    url = settings.sqlalchemy_url
    target_dir.mkdir(parents=True)
    if url.startswith("sqlite"):
        source = sqlite3.connect(_sqlite_path(url), timeout=30)
        destination = sqlite3.connect(target_dir / "cqp.db")
        try:
            with destination:
                source.backup(destination)  # online backup API: consistent while others write
        finally:
            destination.close()
            source.close()
        return "cqp.db"
    _run_pg_tool(settings, "pg_dump", url, ["--format=custom", f"--file={target_dir / 'cqp.dump'}"])
    return "cqp.dump"


def _run_pg_tool(settings: Settings, tool: str, url: str, options: list[str], files: tuple[str, ...] = ()) -> None:
    """``pg_dump`` or ``pg_restore`` on the database ``url``, without owners nor privileges (the
    password in the environment, not on the command line); BackupError if it fails."""
    libpq, env = _pg_target(url)
    command = [_pg_tool(settings, tool), "--no-owner", "--no-privileges", *options, f"--dbname={libpq}", *files]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise BackupError(f"{tool} a échoué : {result.stderr.strip()[-500:]}")


def _schema_revision() -> str | None:
    from sqlalchemy import text

    try:
        with get_engine().connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # noqa: BLE001 - informative only
        return None


# --- backup -----------------------------------------------------------------------------------


def _data_files(data_dir: Path, excluded: set[Path]) -> list[Path]:
    files = []
    for root, dirs, names in os.walk(data_dir):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and (Path(root) / d).resolve() not in excluded)
        for name in sorted(names):
            path = Path(root) / name
            if (
                path.resolve() in excluded
                or name in SKIPPED_NAMES
                or name.startswith(".tmp-")
                or name.endswith((".part", "-wal", "-shm"))
            ):
                continue
            files.append(path)
    return files


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(datetime.now(UTC).timestamp()), 0o600
    tar.addfile(info, io.BytesIO(data))


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> tuple[str, int]:
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
        size = fh.tell()
        fh.seek(0)
        info = tar.gettarinfo(fileobj=fh, arcname=name)
        info.size, info.mode, info.uid, info.gid, info.uname, info.gname = size, 0o600, 0, 0, "", ""
        tar.addfile(info, fh)
    return digest, size


def secret_fields(settings: Settings) -> set[str]:
    """Names of the secret settings (typed ``SecretStr``, set or not) and the database URL (its password)."""
    return {name for name, field in type(settings).model_fields.items() if "SecretStr" in str(field.annotation)} | {
        "database_url"
    }


def public_config(settings: Settings) -> dict:
    values = settings.model_dump(mode="json")
    for name in secret_fields(settings):
        values.pop(name, None)
    values["database_backend"] = make_url(settings.sqlalchemy_url).get_backend_name()
    return values


def backup(
    target_dir: Path | None = None,
    *,
    with_secrets: bool | None = None,
    passphrase: str | None = None,
    now: datetime | None = None,
) -> Path:
    """Write one archive of the installation into ``target_dir``; returns its path."""
    settings = get_settings()
    target_dir = Path(target_dir or settings.backups_dir)
    with_secrets = settings.backup_sealed_settings if with_secrets is None else with_secrets
    passphrase = passphrase or (settings.backup_passphrase.get_secret_value() if settings.backup_passphrase else None)
    if with_secrets and not passphrase:
        raise BackupError(
            "Les secrets ne sont sauvegardés que chiffrés : indiquez une phrase de passe "
            "(CQP_BACKUP_PASSPHRASE ou --passphrase)."
        )
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    target_dir.mkdir(parents=True, exist_ok=True)
    archive = target_dir / f"{ARCHIVE_PREFIX}{stamp}.tar.gz"
    partial = archive.with_name(archive.name + ".part")
    data_dir = settings.data_dir
    excluded = {target_dir.resolve()}
    if settings.sqlalchemy_url.startswith("sqlite"):
        excluded.add(_sqlite_path(settings.sqlalchemy_url).resolve())
    manifest: dict = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "schema_revision": _schema_revision(),
        "files": {},
    }
    with tempfile.TemporaryDirectory(prefix="cqp-backup-") as staging:
        database = _dump_database(settings, Path(staging) / "database")  # first: see the module docstring
        manifest["database"] = {
            "backend": make_url(settings.sqlalchemy_url).get_backend_name(),
            "file": f"database/{database}",
        }
        with tarfile.open(partial, "w:gz") as tar:
            digest, size = _add_file(tar, f"database/{database}", Path(staging) / "database" / database)
            manifest["files"][f"database/{database}"] = {"sha256": digest, "size": size}
            if data_dir.exists():
                for path in _data_files(data_dir, excluded):
                    name = "files/" + path.relative_to(data_dir).as_posix()
                    try:
                        digest, size = _add_file(tar, name, path)
                    except FileNotFoundError:  # removed meanwhile (orphan collected): not in the snapshot
                        continue
                    manifest["files"][name] = {"sha256": digest, "size": size}
            config = json.dumps(public_config(settings), indent=2, ensure_ascii=False).encode()
            _add_bytes(tar, "config.json", config)
            if with_secrets:
                _add_bytes(tar, "secrets.enc", encrypt(json.dumps(secret_settings(settings)).encode(), passphrase))
            manifest["secrets"] = bool(with_secrets)
            _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
    os.replace(partial, archive)
    return archive


def prune(target_dir: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` most recent archives of ``target_dir``; returns the deleted ones."""
    archives = sorted(target_dir.glob(f"{ARCHIVE_PREFIX}*.tar.gz"))
    doomed = archives[:-keep] if keep > 0 else []
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def scheduled_backup() -> Path:
    """The backup of the main job: one archive in ``backups_dir``, keeping ``backup_keep``."""
    settings = get_settings()
    archive = backup(settings.backups_dir)
    prune(settings.backups_dir, settings.backup_keep)
    return archive


# --- restore ----------------------------------------------------------------------------------


def _database_is_empty(url: str) -> bool:
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if not path.exists():
            return True
    return not inspect(get_engine(url)).get_table_names()


def _check_members(tar: tarfile.TarFile) -> None:
    for member in tar.getmembers():
        name = Path(member.name)
        if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
            raise BackupError(f"Archive refusée : entrée suspecte « {member.name} ».")


def restore(archive: Path, *, passphrase: str | None = None) -> RestoreResult:
    """Rebuild the installation named by the settings (data directory and database, both empty)
    from ``archive``."""
    settings = get_settings()
    data_dir, url = settings.data_dir, settings.sqlalchemy_url
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BackupError(
            f"Le dossier de données {data_dir} n'est pas vide : la restauration se fait dans une installation vide."
        )
    if not _database_is_empty(url):
        raise BackupError(
            "La base de données cible contient déjà des tables : la restauration se fait dans une base vide."
        )
    with tempfile.TemporaryDirectory(prefix="cqp-restore-") as staging, tarfile.open(archive, "r:gz") as tar:
        _check_members(tar)
        tar.extractall(staging, filter="data")
        root = Path(staging)
        manifest = json.loads((root / "manifest.json").read_text())
        for name, expected in manifest["files"].items():
            with open(root / name, "rb") as fh:
                if hashlib.file_digest(fh, "sha256").hexdigest() != expected["sha256"]:
                    raise BackupError(f"Archive altérée : l'empreinte de {name} ne correspond pas au manifeste.")
        backend = make_url(url).get_backend_name()
        if manifest["database"]["backend"] != backend:
            raise BackupError(
                f"La sauvegarde est une base {manifest['database']['backend']}, la cible une base {backend}."
            )
        _restore_database(settings, root / manifest["database"]["file"], url)
        data_dir.mkdir(parents=True, exist_ok=True)
        count = 0
        for name in manifest["files"]:
            if name.startswith("files/"):
                target = data_dir / name.removeprefix("files/")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / name, target)
                count += 1
        secrets_file = _restore_secrets(root, data_dir, passphrase) if manifest.get("secrets") else None
    return RestoreResult(files=count, database=backend, secrets_file=secrets_file)


def _restore_database(settings: Settings, dump: Path, url: str) -> None:
    if url.startswith("sqlite"):
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(dump, target)
        from certification.db import dispose_engines

        dispose_engines()  # the emptiness check opened the old file
        return
    _run_pg_tool(settings, "pg_restore", url, ["--exit-on-error"], (str(dump),))


def _restore_secrets(root: Path, data_dir: Path, passphrase: str | None) -> Path | None:
    if not passphrase:
        return None
    values = json.loads(decrypt((root / "secrets.enc").read_bytes(), passphrase))
    path = data_dir / "secrets.env"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.writelines(f"{name}={value}\n" for name, value in values.items())
    return path
