"""Every file the case record refers to is present with the SHA-256 recorded: generated documents,
uploaded pieces, contrôle files, evaluation evidence, appui reports, CPF export files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlmodel import Session, select

from certification.controle.models import ControleFile
from certification.agrement.models import Piece
from certification.candidates.models import Evaluation
from certification.cpf.models import CpfExportBatch
from certification.training.models import Appui
from documents.models import GeneratedDocument
from documents.storage import file_digest


def recorded_files(db: Session) -> Iterator[tuple[str, str, str]]:
    """``(what, relative path under data_dir, sha256)`` of every file row of the database."""
    for doc in db.exec(select(GeneratedDocument)):
        yield f"document n° {doc.id} ({doc.kind})", doc.relative_path, doc.sha256
    for piece in db.exec(select(Piece)):
        yield f"pièce n° {piece.id} ({piece.kind})", piece.relative_path, piece.sha256
    for file in db.exec(select(ControleFile)):
        yield f"fichier de contrôle n° {file.id}", file.relative_path, file.sha256
    for evaluation in db.exec(select(Evaluation)):
        for f in evaluation.files or ():
            yield f"preuve de l'évaluation n° {evaluation.id}", f["relative_path"], f["sha256"]
    for appui in db.exec(select(Appui).where(Appui.report_file.is_not(None))):
        if appui.report_file:
            yield f"rapport de l'appui n° {appui.id}", appui.report_file["relative_path"], appui.report_file["sha256"]
    for batch in db.exec(select(CpfExportBatch)):
        yield f"flux CPF n° {batch.id}", batch.relative_path, batch.sha256
        if batch.report_relative_path and batch.report_sha256:
            yield f"compte rendu CPF n° {batch.id}", batch.report_relative_path, batch.report_sha256


def file_problems(db: Session, data_dir: Path) -> list[str]:
    problems = []
    for what, relative_path, sha256 in recorded_files(db):
        digest = file_digest(data_dir / relative_path)
        if digest is None:
            problems.append(f"Fichier absent : {what} ({relative_path}).")
        elif digest[0] != sha256:
            problems.append(f"Empreinte SHA-256 différente : {what} ({relative_path}).")
    return problems
