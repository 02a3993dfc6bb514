"""Upload checks and atomic, content-addressed storage."""

from __future__ import annotations

import hashlib
import os
import unicodedata
from pathlib import Path

import pytest

from documents import storage
from documents.storage import DocumentStore, UploadRejected, sanitize_filename, store_upload, write_generated

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
MAX = 10_000


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_pdf_is_stored_content_addressed(tmp_path) -> None:
    stored = store_upload(PDF, "Statuts signés.pdf", max_bytes=MAX, root=tmp_path)

    sha = hashlib.sha256(PDF).hexdigest()
    assert stored.sha256 == sha
    assert stored.size == len(PDF)
    assert stored.content_type == "application/pdf"
    assert stored.original_name == "Statuts signés.pdf"
    assert stored.relative_path == f"{sha[:2]}/{sha[2:4]}/{sha}.pdf"
    assert (tmp_path / stored.relative_path).read_bytes() == PDF
    assert files_under(tmp_path) == [tmp_path / stored.relative_path]  # no temporary file left


def test_same_content_twice_gives_one_file(tmp_path) -> None:
    first = store_upload(PDF, "a.pdf", max_bytes=MAX, root=tmp_path)
    second = store_upload(PDF, "copie de a.pdf", max_bytes=MAX, root=tmp_path)

    assert first.relative_path == second.relative_path
    assert second.original_name == "copie de a.pdf"
    assert len(files_under(tmp_path)) == 1


def test_a_damaged_stored_copy_is_replaced(tmp_path) -> None:
    stored = store_upload(PDF, "a.pdf", max_bytes=MAX, root=tmp_path)
    (tmp_path / stored.relative_path).write_bytes(b"%PDF-truncated")

    store_upload(PDF, "a.pdf", max_bytes=MAX, root=tmp_path)

    assert (tmp_path / stored.relative_path).read_bytes() == PDF


def test_wrong_magic_bytes_are_refused_with_415(tmp_path) -> None:
    with pytest.raises(UploadRejected) as exc:
        store_upload(b"MZ\x90\x00 this is an executable", "facture.pdf", max_bytes=MAX, root=tmp_path)

    assert exc.value.status_code == 415
    assert exc.value.code == "unsupported_type"
    assert exc.value.message == "Le fichier « facture.pdf » n'est pas un PDF valide."
    assert files_under(tmp_path) == []


def test_an_image_is_refused_where_only_pdf_is_allowed(tmp_path) -> None:
    with pytest.raises(UploadRejected) as exc:
        store_upload(PNG, "scan.pdf", max_bytes=MAX, root=tmp_path)
    assert exc.value.status_code == 415


def test_extension_must_match_the_content(tmp_path) -> None:
    with pytest.raises(UploadRejected) as exc:
        store_upload(PDF, "photo.png", max_bytes=MAX, root=tmp_path)
    assert exc.value.status_code == 415
    assert exc.value.code == "extension_mismatch"

    with pytest.raises(UploadRejected):
        store_upload(PDF, "sans-extension", max_bytes=MAX, root=tmp_path)

    assert store_upload(PDF, "MAJUSCULES.PDF", max_bytes=MAX, root=tmp_path).content_type == "application/pdf"


def test_bom_and_whitespace_before_the_pdf_header_are_tolerated(tmp_path) -> None:
    stored = store_upload(b"\xef\xbb\xbf\r\n  " + PDF, "a.pdf", max_bytes=MAX, root=tmp_path)
    assert stored.content_type == "application/pdf"


def test_images_are_accepted_when_allowed(tmp_path) -> None:
    allowed = ("application/pdf", "image/png", "image/jpeg")
    png = store_upload(PNG, "plan.png", allowed=allowed, max_bytes=MAX, root=tmp_path)
    jpeg = store_upload(b"\xff\xd8\xff\xe0" + b"\x00" * 32, "photo.jpeg", allowed=allowed, max_bytes=MAX, root=tmp_path)

    assert (png.content_type, png.relative_path[-4:]) == ("image/png", ".png")
    assert (jpeg.content_type, jpeg.relative_path[-4:]) == ("image/jpeg", ".jpg")


def test_oversized_upload_is_refused_with_413(tmp_path) -> None:
    with pytest.raises(UploadRejected) as exc:
        store_upload(PDF + b"x" * MAX, "gros.pdf", max_bytes=MAX, root=tmp_path)

    assert exc.value.status_code == 413
    assert exc.value.code == "file_too_large"
    assert "dépasse la taille maximale autorisée (9,8 ko)" in exc.value.message
    assert files_under(tmp_path) == []


def test_streamed_upload_stops_at_the_limit_and_leaves_nothing(tmp_path) -> None:
    class Endless:
        """A stream that would never end: reading must stop once the limit is passed."""

        reads = 0

        def read(self, n: int = -1) -> bytes:
            self.reads += 1
            return (PDF + b"x" * (n - len(PDF))) if self.reads == 1 else b"x" * n

    stream = Endless()
    with pytest.raises(UploadRejected) as exc:
        storage.store_upload_stream(stream, "flux.pdf", max_bytes=3 * storage.CHUNK_SIZE, root=tmp_path)

    assert exc.value.status_code == 413
    assert stream.reads <= 6
    assert files_under(tmp_path) == []


def test_empty_upload_is_refused_with_422(tmp_path) -> None:
    with pytest.raises(UploadRejected) as exc:
        store_upload(b"", "vide.pdf", max_bytes=MAX, root=tmp_path)
    assert exc.value.status_code == 422
    assert exc.value.message == "Le fichier « vide.pdf » est vide."


@pytest.mark.parametrize(
    "raw",
    [
        "../../etc/passwd.pdf",
        "C:\\Users\\marie\\Bureau\\bilan 2026.pdf",
        "/tmp/x/../y/z.pdf",
        "dossier/piece.pdf",
        "..\\evil.pdf",
    ],
)
def test_names_with_a_path_are_refused_before_storage(tmp_path, raw) -> None:
    root = tmp_path / "uploads"
    with pytest.raises(UploadRejected) as exc:
        store_upload(PDF, raw, max_bytes=MAX, root=root)
    assert exc.value.status_code == 422 and exc.value.code == "invalid_filename"
    assert "contient un chemin" in exc.value.message
    assert not root.exists() or files_under(root) == []
    assert not (tmp_path / "etc").exists()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("rapport\x00\x1b[31m.pdf", "rapport[31m.pdf"),
        ("facture\u202efdp.exe", "facturefdp.exe"),  # right-to-left override removed
        ("  espaces.pdf  ", "espaces.pdf"),
        ("Accusé.pdf", "Accusé.pdf"),
        ("L'attestation d'Hélène <b>.pdf", "L'attestation d'Hélène <b>.pdf"),  # escaped where shown
    ],
)
def test_sanitize_filename(raw, expected) -> None:
    assert sanitize_filename(raw) == expected


def test_sanitize_filename_normalizes_to_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Récépissé.pdf")
    assert decomposed != "Récépissé.pdf"
    assert sanitize_filename(decomposed) == "Récépissé.pdf"


def test_sanitize_filename_limits_length_and_keeps_the_extension() -> None:
    name = sanitize_filename("é" * 400 + ".pdf")
    assert len(name) == 150
    assert name.endswith("é.pdf")


@pytest.mark.parametrize("raw", ["", ".", "..", "../", "a/..", "\x00\x01", " / ", None])
def test_unusable_names_are_refused_with_422(raw) -> None:
    with pytest.raises(UploadRejected) as exc:
        sanitize_filename(raw)
    assert exc.value.status_code == 422
    assert exc.value.code == "invalid_filename"


# --- generated documents -------------------------------------------------------------


def test_write_generated_is_atomic_and_idempotent(tmp_path) -> None:
    sha, size = write_generated(tmp_path, "generated/x/1/lettre-v1.pdf", PDF)
    target = tmp_path / "generated/x/1/lettre-v1.pdf"
    inode = target.stat().st_ino

    assert (sha, size) == (hashlib.sha256(PDF).hexdigest(), len(PDF))
    assert write_generated(tmp_path, "generated/x/1/lettre-v1.pdf", PDF) == (sha, size)
    assert target.stat().st_ino == inode  # identical content: file left untouched
    assert files_under(tmp_path) == [target]

    write_generated(tmp_path, "generated/x/1/lettre-v1.pdf", PDF + b"% v2\n")
    assert target.read_bytes() == PDF + b"% v2\n"


def test_a_crash_before_the_rename_keeps_the_previous_file(tmp_path, monkeypatch) -> None:
    write_generated(tmp_path, "lettre.pdf", PDF)

    def crash(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(storage.os, "replace", crash)
    with pytest.raises(OSError):
        write_generated(tmp_path, "lettre.pdf", b"%PDF-other")

    assert (tmp_path / "lettre.pdf").read_bytes() == PDF
    assert files_under(tmp_path) == [tmp_path / "lettre.pdf"]  # temporary file removed


@pytest.mark.parametrize("bad", ["../evil.pdf", "/etc/passwd", "a/../../b.pdf", "a\\..\\b.pdf", ""])
def test_document_store_refuses_paths_outside_its_root(tmp_path, bad) -> None:
    with pytest.raises(ValueError):
        DocumentStore(tmp_path).write(bad, PDF)


def test_stored_files_are_not_world_readable(tmp_path) -> None:
    write_generated(tmp_path, "lettre.pdf", PDF)
    assert os.stat(tmp_path / "lettre.pdf").st_mode & 0o777 == storage.FILE_MODE


# --- orphan uploads ------------------------------------------------------------------


def _age(path, seconds: float) -> None:
    past = path.stat().st_mtime - seconds
    os.utime(path, (past, past))


def test_collect_orphans_deletes_only_old_unreferenced_files(tmp_path) -> None:
    root = tmp_path / "uploads"
    kept = store_upload(PDF, "gardé.pdf", max_bytes=MAX, root=root)
    orphan = store_upload(PDF + b"\n%orphan", "orphelin.pdf", max_bytes=MAX, root=root)
    recent = store_upload(PDF + b"\n%recent", "récent.pdf", max_bytes=MAX, root=root)
    crashed = root / ".incoming" / ".tmp-crash.part"
    crashed.write_bytes(b"half a file")
    for path in (root / kept.relative_path, root / orphan.relative_path, crashed):
        _age(path, 7200)

    removed = storage.collect_orphans(root, {kept.relative_path}, grace_seconds=3600)

    assert removed == sorted([orphan.relative_path, ".incoming/.tmp-crash.part"])
    assert (root / kept.relative_path).read_bytes() == PDF
    assert (root / recent.relative_path).exists()  # in its grace period: a request may be in flight
    assert not (root / orphan.relative_path).exists() and not crashed.exists()
    assert not (root / orphan.relative_path).parent.exists()  # empty directories removed
    assert storage.collect_orphans(root, {kept.relative_path}, grace_seconds=3600) == []


def test_storing_known_content_again_restarts_its_grace_period(tmp_path) -> None:
    root = tmp_path / "uploads"
    first = store_upload(PDF, "a.pdf", max_bytes=MAX, root=root)
    _age(root / first.relative_path, 7200)
    again = store_upload(PDF, "b.pdf", max_bytes=MAX, root=root)  # same content, another dossier
    assert again.relative_path == first.relative_path
    assert storage.collect_orphans(root, set(), grace_seconds=3600) == []
    assert (root / first.relative_path).exists()
