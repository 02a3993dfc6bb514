"""Test helper: the factories record agrément pieces with fake hashes and no file; give each a file."""

from __future__ import annotations

import hashlib

from sqlmodel import select

from certification.db import session_scope
from certification.agrement.models import Piece
from certification.settings import get_settings


def give_pieces_their_files() -> None:
    with session_scope() as db:
        for piece in db.exec(select(Piece)):
            data = f"%PDF-1.4 pièce {piece.relative_path}".encode()  # pieces may share a file
            path = get_settings().data_dir / piece.relative_path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            piece.sha256 = hashlib.sha256(data).hexdigest()
            db.add(piece)
