"""Storage of uploaded and generated files.

* Uploads are checked (size, magic bytes, extension) and stored content-addressed:
  ``<root>/ab/cd/<sha256>.<ext>``. Storing the same content twice keeps one file.
* Generated documents are written at a caller-chosen relative path
  (:class:`DocumentStore`).

Every write is atomic: data goes to a temporary file in the destination file system,
is fsync'ed, then renamed with :func:`os.replace`; a crash never leaves a half file
under a final name.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import time
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from certification.errors import DomainError
from documents.formatting import filesize

FILE_MODE = 0o640
MAX_FILENAME_LENGTH = 150
CHUNK_SIZE = 1024 * 1024
_SNIFF_BYTES = 1024
_INCOMING_DIR = ".incoming"


# --- Errors and results --------------------------------------------------------------


class UploadRejected(DomainError):
    """An upload refused before storage. ``message`` is French and shown to the user.

    ``status_code``: 413 too large, 415 wrong type, 422 empty file or invalid name.
    """

    def __init__(self, message: str, *, status_code: int, code: str):
        super().__init__(message, code=code)
        self.status_code = status_code


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    content_type: str
    original_name: str
    relative_path: str


@dataclass(frozen=True)
class FileType:
    content_type: str
    extensions: tuple[str, ...]  # the first one is used on disk
    label: str
    magic: tuple[bytes, ...]

    def matches(self, head: bytes) -> bool:
        if self.content_type == "application/pdf":
            # Tolerate a UTF-8 BOM and leading whitespace before the header, as readers do.
            head = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n\f\x00")
        return head.startswith(self.magic)


FILE_TYPES: dict[str, FileType] = {
    ft.content_type: ft
    for ft in (
        FileType("application/pdf", ("pdf",), "PDF", (b"%PDF-",)),
        FileType("image/png", ("png",), "PNG", (b"\x89PNG\r\n\x1a\n",)),
        FileType("image/jpeg", ("jpg", "jpeg"), "JPEG", (b"\xff\xd8\xff",)),
    )
}


def sniff_content_type(head: bytes) -> str | None:
    """Content type recognized from the first bytes of a file, or None."""
    for file_type in FILE_TYPES.values():
        if file_type.matches(head):
            return file_type.content_type
    return None


# --- File names ----------------------------------------------------------------------


def _printable(name: str) -> str:
    return "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf"))


def sanitize_filename(name: str | None) -> str:
    """A safe display name for an uploaded file.

    Refuses (:class:`UploadRejected`, 422) a name that carries a directory part (``/`` or
    ``\\``: ``../../etc/passwd.pdf``, ``C:\\Users\\x.pdf``) or of which nothing usable
    remains; a client sends the bare name of the file, anything else is not a file name.
    Drops control and invisible formatting characters (e.g. right-to-left override),
    NFC-normalizes (accents kept) and limits the length to 150 characters, keeping the
    extension. The file itself is stored under its content hash, whatever its name.
    """
    raw = name or ""
    cleaned = unicodedata.normalize("NFC", _printable(raw)).strip()
    shown = _printable(raw)[:100]
    if "/" in cleaned or "\\" in cleaned:
        raise UploadRejected(
            f"Le nom de fichier « {shown} » contient un chemin (« / » ou « \\ ») : "
            "envoyez le fichier sous son seul nom.",
            status_code=422,
            code="invalid_filename",
        )
    if cleaned in ("", ".", ".."):
        raise UploadRejected(
            f"Le nom de fichier « {shown} » n'est pas valide.", status_code=422, code="invalid_filename"
        )
    if len(cleaned) > MAX_FILENAME_LENGTH:
        stem, dot, ext = cleaned.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            cleaned = stem[: MAX_FILENAME_LENGTH - len(ext) - 1].rstrip() + "." + ext
        else:
            cleaned = cleaned[:MAX_FILENAME_LENGTH].rstrip()
    return cleaned


def _extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


# --- Atomic writes -------------------------------------------------------------------


def _fsync_dir(directory: Path) -> None:
    """Persist a rename (POSIX); a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platform dependent
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - platform dependent
        pass
    finally:
        os.close(fd)


class _StagedFile:
    """A temporary file being written; :meth:`publish` renames it to its final name."""

    def __init__(self, file: BinaryIO, path: Path):
        self.file = file
        self.path = path
        self.published = False

    def publish(self, target: Path) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.chmod(self.path, FILE_MODE)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, target)
        self.published = True
        _fsync_dir(target.parent)


@contextmanager
def staged_file(directory: Path) -> Iterator[_StagedFile]:
    """Open a temporary file in ``directory`` (same file system as the target).

    Call ``staged.publish(target)`` to rename it atomically; otherwise it is deleted
    when the block exits, also on error.
    """
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
    staged = _StagedFile(os.fdopen(fd, "wb"), Path(name))
    try:
        yield staged
    finally:
        if not staged.published:
            staged.file.close()
            staged.path.unlink(missing_ok=True)


def atomic_write(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically (temp file + fsync + os.replace)."""
    with staged_file(target.parent) as staged:
        staged.file.write(data)
        staged.publish(target)


def file_digest(path: Path) -> tuple[str, int] | None:
    """``(sha256 hex, size)`` of a file, or None when it does not exist."""
    try:
        with open(path, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256")
            return digest.hexdigest(), fh.tell()
    except FileNotFoundError:
        return None


# --- Uploads -------------------------------------------------------------------------


def _read_head(stream: BinaryIO) -> bytes:
    """Read up to the sniffing size (short reads are possible on some streams)."""
    head = b""
    while len(head) < _SNIFF_BYTES:
        chunk = stream.read(_SNIFF_BYTES - len(head))
        if not chunk:
            break
        head += chunk
    return head


def _check_type(name: str, head: bytes, allowed: Iterable[str]) -> FileType:
    allowed = tuple(allowed)
    content_type = sniff_content_type(head)
    if content_type not in allowed:
        if allowed == ("application/pdf",):
            message = f"Le fichier « {name} » n'est pas un PDF valide."
        else:
            labels = ", ".join(FILE_TYPES[ct].label for ct in allowed if ct in FILE_TYPES)
            message = f"Le fichier « {name} » n'est pas d'un type accepté ({labels})."
        raise UploadRejected(message, status_code=415, code="unsupported_type")
    file_type = FILE_TYPES[content_type]
    if _extension(name) not in file_type.extensions:
        expected = ", ".join("." + ext for ext in file_type.extensions)
        raise UploadRejected(
            f"L'extension du fichier « {name} » ne correspond pas à son contenu "
            f"({file_type.label} : {expected} attendu).",
            status_code=415,
            code="extension_mismatch",
        )
    return file_type


def _refuse_active_pdf(name: str, stream: BinaryIO) -> None:
    from documents.pdf_safety import active_content

    found = active_content(stream)
    if found is not None:
        raise UploadRejected(
            f"Le fichier « {name} » contient {found} (contenu actif) : il est refusé. "
            "Enregistrez-le de nouveau en PDF simple (impression en PDF) puis déposez-le.",
            status_code=415,
            code="active_pdf",
        )


def check_upload(
    data: bytes, filename: str | None, *, allowed: Iterable[str] = ("application/pdf",), max_bytes: int
) -> FileType:
    """Every check of :func:`store_upload` (name, emptiness, size, type), without storing: to
    refuse a whole multi-file upload before any of its files is stored."""
    name = sanitize_filename(filename)
    if not data:
        raise UploadRejected(f"Le fichier « {name} » est vide.", status_code=422, code="empty_file")
    if len(data) > max_bytes:
        raise _too_large(name, max_bytes)
    file_type = _check_type(name, data[:_SNIFF_BYTES], allowed)
    if file_type.content_type == "application/pdf":
        _refuse_active_pdf(name, io.BytesIO(data))
    return file_type


def _too_large(name: str, max_bytes: int) -> UploadRejected:
    return UploadRejected(
        f"Le fichier « {name} » dépasse la taille maximale autorisée ({filesize(max_bytes)}).",
        status_code=413,
        code="file_too_large",
    )


def store_upload_stream(
    stream: BinaryIO,
    filename: str | None,
    *,
    allowed: Iterable[str] = ("application/pdf",),
    max_bytes: int,
    root: Path,
) -> StoredFile:
    """Check and store an upload read from a binary stream (e.g. ``UploadFile.file``).

    The stream is hashed while it is copied to a temporary file, so memory use does
    not depend on the file size; reading stops as soon as ``max_bytes`` is exceeded.
    """
    name = sanitize_filename(filename)
    head = _read_head(stream)
    if not head:
        raise UploadRejected(f"Le fichier « {name} » est vide.", status_code=422, code="empty_file")
    file_type = _check_type(name, head, allowed)

    hasher = hashlib.sha256()
    size = 0
    with staged_file(root / _INCOMING_DIR) as staged:
        chunk = head
        while chunk:
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(name, max_bytes)
            hasher.update(chunk)
            staged.file.write(chunk)
            chunk = stream.read(CHUNK_SIZE)
        sha256 = hasher.hexdigest()
        if file_type.content_type == "application/pdf":
            staged.file.flush()
            with open(staged.path, "rb") as written:
                _refuse_active_pdf(name, written)
        relative_path = f"{sha256[:2]}/{sha256[2:4]}/{sha256}.{file_type.extensions[0]}"
        target = root / relative_path
        if file_digest(target) != (sha256, size):
            staged.publish(target)
        else:
            # Same content already stored; the staged copy is discarded. The file is touched so
            # that the collector of orphans (which spares recent files) leaves it to the dossier
            # about to refer to it again.
            os.utime(target)
    return StoredFile(
        sha256=sha256,
        size=size,
        content_type=file_type.content_type,
        original_name=name,
        relative_path=relative_path,
    )


def store_upload(
    data: bytes,
    filename: str | None,
    *,
    allowed: Iterable[str] = ("application/pdf",),
    max_bytes: int,
    root: Path,
) -> StoredFile:
    """Check and store an upload held in memory. See :func:`store_upload_stream`."""
    if len(data) > max_bytes:
        raise _too_large(sanitize_filename(filename), max_bytes)
    return store_upload_stream(io.BytesIO(data), filename, allowed=allowed, max_bytes=max_bytes, root=root)


def collect_orphans(root: Path, referenced: set[str], *, grace_seconds: float, now: float | None = None) -> list[str]:
    """Delete the files under ``root`` that no record refers to and that are older than
    ``grace_seconds``; return their paths relative to ``root`` (POSIX), sorted.

    Uploads are stored before the transaction that refers to them: a refused or failed action
    leaves its files behind, and so does a crash. ``referenced`` holds the paths (relative to
    ``root``) that the database refers to. The grace period spares the files of requests still
    in flight (storing a file again touches it). Temporary files left by a crash (in
    ``.incoming``) are collected the same way. Empty directories are removed.
    """
    if not root.is_dir():
        return []
    limit = (time.time() if now is None else now) - grace_seconds
    removed = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        relative = path.relative_to(root).as_posix()
        if relative in referenced:
            continue
        try:
            if path.stat().st_mtime > limit:
                continue
            path.unlink()
        except FileNotFoundError:  # pragma: no cover - removed meanwhile
            continue
        removed.append(relative)
    for directory in sorted((d for d in root.rglob("*") if d.is_dir()), key=lambda d: len(d.parts), reverse=True):
        try:
            directory.rmdir()  # only when empty
        except OSError:
            pass
    return removed


# --- Generated documents -------------------------------------------------------------


def checked_relative_path(relative_path: str) -> PurePosixPath:
    """A relative POSIX path that stays under its root; raises ValueError otherwise."""
    rel = PurePosixPath(relative_path)
    if rel.is_absolute() or not rel.parts or ".." in rel.parts or "\\" in relative_path:
        raise ValueError(f"Invalid relative path: {relative_path!r}")
    return rel


class DocumentStore:
    """Files generated by the engine, addressed by a relative path under ``root``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, relative_path: str) -> Path:
        """Absolute path of a stored file; refuses paths escaping the root."""
        return self.root.joinpath(*checked_relative_path(relative_path).parts)

    def digest(self, relative_path: str) -> tuple[str, int] | None:
        """``(sha256, size)`` of the stored file, or None if missing."""
        return file_digest(self.path(relative_path))

    def read(self, relative_path: str) -> bytes:
        return self.path(relative_path).read_bytes()

    def write(self, relative_path: str, data: bytes) -> tuple[str, int]:
        """Write atomically and return ``(sha256, size)``.

        Rewriting identical content leaves the existing file untouched.
        """
        target = self.path(relative_path)
        result = (hashlib.sha256(data).hexdigest(), len(data))
        if file_digest(target) != result:
            atomic_write(target, data)
        return result


def write_generated(root: Path, relative_path: str, data: bytes) -> tuple[str, int]:
    """Atomically write a generated file under ``root``; returns ``(sha256, size)``."""
    return DocumentStore(root).write(relative_path, data)
