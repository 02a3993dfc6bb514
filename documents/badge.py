"""Open Badges 3.0 badge images: a PNG drawn with Pillow, the signed credential baked into it.

Baking (OB 3.0 §5.3): an ``iTXt`` chunk with the keyword ``openbadgecredential`` whose text is the
compact VC-JWT, uncompressed, once per image. :func:`unbake` reads it back (the public
verification page accepts such an image). Rendering is deterministic, so the same credential
always gives the same file.
"""

from __future__ import annotations

import textwrap
import zlib
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from sqlmodel import Session

from certification.candidates.models import Candidate
from certification.models import Certification
from certification.jury.models import Certificate
from certification.models_credentials import Credential
from certification.services import credentials as credential_svc
from certification.services.referential import bloc_titles, version_of, version_title
from certification.settings import get_settings
from documents.storage import DocumentStore, checked_relative_path

KEYWORD = "openbadgecredential"
SIZE = 400
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_IMAGE_BYTES = 2 * 1024 * 1024


def _font(path: Path, size: int):
    from PIL import ImageFont

    return ImageFont.truetype(str(path), size) if path.exists() else ImageFont.load_default()


@lru_cache(maxsize=64)
def draw(heading: str, title: str, footer: str) -> bytes:
    """A round badge: the heading (certification or bloc code), the title, the certifier."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (SIZE, SIZE), (255, 255, 255, 0))
    pen = ImageDraw.Draw(image)
    pen.ellipse((8, 8, SIZE - 8, SIZE - 8), fill=(31, 58, 95, 255), outline=(183, 121, 31, 255), width=10)
    pen.ellipse((40, 40, SIZE - 40, SIZE - 40), outline=(255, 255, 255, 160), width=2)
    centre = SIZE // 2
    pen.text((centre, 105), heading, font=_font(FONT_BOLD, 34), fill="white", anchor="mm")
    lines = textwrap.wrap(title, 26)[:5]
    for i, line in enumerate(lines):
        pen.text((centre, 160 + 24 * i), line, font=_font(FONT, 17), fill="white", anchor="mm")
    for i, line in enumerate(textwrap.wrap(footer, 34)[:2]):
        pen.text((centre, 310 + 18 * i), line, font=_font(FONT, 12), fill=(230, 230, 230), anchor="mm")
    out = BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _chunks(png: bytes):
    """(type, data, raw bytes) of each chunk of a PNG."""
    at = len(PNG_SIGNATURE)
    while at + 12 <= len(png):
        length = int.from_bytes(png[at : at + 4], "big")
        kind = png[at + 4 : at + 8]
        yield kind, png[at + 8 : at + 8 + length], png[at : at + 12 + length]
        at += 12 + length


def _chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def bake(png: bytes, jwt: str) -> bytes:
    """``png`` with the credential in an uncompressed ``iTXt`` chunk ``openbadgecredential`` (any
    former one replaced), inserted before ``IEND``: the pixels are not re-encoded."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG image")
    text = KEYWORD.encode("latin-1") + b"\0\0\0" + b"\0" + b"\0" + jwt.encode("utf-8")
    out = [PNG_SIGNATURE]
    for kind, data, raw in _chunks(png):
        if kind == b"iTXt" and data.split(b"\0", 1)[0] == KEYWORD.encode("latin-1"):
            continue
        if kind == b"IEND":
            out.append(_chunk(b"iTXt", text))
        out.append(raw)
    return b"".join(out)


def unbake(data: bytes) -> str | None:
    """The credential baked in a PNG, or None (not a PNG, no such chunk, unreadable image)."""
    from PIL import Image, UnidentifiedImageError

    if not data.startswith(PNG_SIGNATURE) or len(data) > MAX_IMAGE_BYTES:
        return None
    try:
        with Image.open(BytesIO(data)) as image:
            image.load()
            value = image.text.get(KEYWORD) if hasattr(image, "text") else None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    return str(value).strip() if value else None


def badge_parts(db: Session, credential: Credential, titles: dict[str, str] | None = None) -> tuple[str, str]:
    """(heading, title) drawn on the badge of a credential (``titles``: the blocs' titles, when
    the caller has read them)."""
    certificate = db.get(Certificate, credential.certificate_id)
    cert = db.get(Certification, certificate.certification_id)
    candidate = db.get(Candidate, certificate.candidate_id)  # the holder's version of the référentiel
    if credential.bloc_code is None:
        return cert.code.replace("_", " "), version_title(cert, version_of(db, candidate))
    if titles is None:
        titles = bloc_titles(db, candidate)
    return credential.bloc_code, titles.get(credential.bloc_code, credential.bloc_code)


def badge_for(db: Session, credential: Credential) -> bytes:
    heading, title = badge_parts(db, credential)
    return bake(draw(heading, title, get_settings().certifier_name), credential.jwt)


def filename_for(certificate: Certificate, credential: Credential) -> str:
    return f"{certificate.number}-{credential.achievement_key}-v{credential.certificate_version}.png"


def relative_path(certificate: Certificate, credential: Credential) -> str:
    """Where a credential's baked badge is stored, under the data folder."""
    return f"generated/{Certificate.__tablename__}/{certificate.id}/{filename_for(certificate, credential)}"


def badge_file(db: Session, credential: Credential, data_dir: Path) -> tuple[Path, str]:
    """The baked badge of a credential, written under the data folder if missing: (path, filename)."""
    certificate = db.get(Certificate, credential.certificate_id)
    store = DocumentStore(data_dir)
    return store.path(_written(db, store, certificate, credential)), filename_for(certificate, credential)


def _written(db: Session, store: DocumentStore, certificate: Certificate, credential: Credential) -> str:
    """Where the credential's baked badge is stored (relative path), written if missing."""
    relative = relative_path(certificate, credential)
    if store.digest(relative) is None:
        store.write(relative, badge_for(db, credential))
    return relative


def badge_jobs(db: Session, certificate: Certificate, data_dir: Path) -> list[tuple[str, str, str, str, str]]:
    """The badges of the certificate's current version not yet written, as work for a renderer
    process (``documents.pool.render_iter``): (relative path, heading, title, certifier, credential)."""
    store = DocumentStore(data_dir)
    jobs = []
    titles = bloc_titles(db, db.get(Candidate, certificate.candidate_id))
    for credential in credential_svc.credentials_of(db, certificate.id, version=certificate.version):
        relative = relative_path(certificate, credential)
        if credential.revoked_at is None and store.digest(relative) is None:
            jobs.append((relative, *badge_parts(db, credential, titles), get_settings().certifier_name, credential.jwt))
    return jobs


def badge_attachments(db: Session, certificate: Certificate, data_dir: Path) -> list[dict]:
    """The baked badges of the certificate's current version, written under the data folder
    (idempotent: same credential, same file), as outbox attachment entries."""
    out = []
    store = DocumentStore(data_dir)
    for credential in credential_svc.credentials_of(db, certificate.id, version=certificate.version):
        if credential.revoked_at is not None:
            continue
        relative = checked_relative_path(_written(db, store, certificate, credential)).as_posix()
        out.append(
            {"filename": filename_for(certificate, credential), "relative_path": relative, "content_type": "image/png"}
        )
    return out
