"""The uploaded files of the case record: one stored file as the services receive it
(:class:`PieceIn`), and which files the case record refers to (for the collector of orphan uploads).

Uploads are stored content-addressed before the transaction that records them; every table or
JSON column that keeps such a file is listed here. Paths are relative to the data directory
(``uploads/ab/cd/<sha256>.pdf``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from certification.agrement.models import Piece
from certification.controle.models import ControleFile
from certification.candidates.models import Evaluation
from certification.training.models import Appui
from certification.vae.models import VaeDossier


@dataclass(frozen=True)
class PieceIn:
    """A file stored content-addressed (``uploads/ab/cd/<sha256>.pdf``), of a kind its process knows."""

    kind: str
    original_name: str
    content_type: str
    size: int
    sha256: str
    relative_path: str


def referenced_uploads(db: Session) -> set[str]:
    paths: set[str] = set(db.exec(select(Piece.relative_path)).all())
    paths.update(db.exec(select(ControleFile.relative_path)).all())
    for files in db.exec(select(Evaluation.files)).all():
        paths.update(f["relative_path"] for f in files or () if f.get("relative_path"))
    for report in db.exec(select(Appui.report_file)).all():
        if report and report.get("relative_path"):
            paths.add(report["relative_path"])
    paths.update(p for p in db.exec(select(VaeDossier.livret2_path)).all() if p)  # the livret 2 of VAE
    return paths
