"""Which uploaded files the case record refers to (for the collector of orphan uploads).

Uploads are stored content-addressed before the transaction that records them; every table or
JSON column that keeps such a file is listed here. Paths are relative to the data directory
(``uploads/ab/cd/<sha256>.pdf``).
"""

from __future__ import annotations

from sqlmodel import Session, select

from certification.controle.models import ControleFile
from certification.models import Piece
from certification.candidates.models import Evaluation
from certification.training.models import Appui
from certification.vae.models import VaeDossier


def referenced_uploads(session: Session) -> set[str]:
    paths: set[str] = set(session.exec(select(Piece.relative_path)).all())
    paths.update(session.exec(select(ControleFile.relative_path)).all())
    for files in session.exec(select(Evaluation.files)).all():
        paths.update(f["relative_path"] for f in files or () if f.get("relative_path"))
    for report in session.exec(select(Appui.report_file)).all():
        if report and report.get("relative_path"):
            paths.add(report["relative_path"])
    paths.update(p for p in session.exec(select(VaeDossier.livret2_path)).all() if p)  # the livret 2 of VAE
    return paths
