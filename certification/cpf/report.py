"""The processing report (compte rendu de traitement) of a batch, as the Caisse des Dépôts
returns it: XML (elements carrying an ``idTechnique`` and a ``statut``) or CSV (columns
``idTechnique``, ``statut`` and optionally ``message`` / ``libelleErreur``…), read into the
outcome of each record. Applied by :func:`certification.cpf.service.import_report`.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from certification.cpf.flux import local_name
from certification.errors import ValidationFailed

REPORT_MAX_LINES = 100_000

ACCEPTED_WORDS = {"ACCEPTE", "ACCEPTEE", "ACCEPTED", "OK", "VALIDE", "VALIDEE", "INTEGRE", "INTEGREE", "SUCCES",
                  "SUCCESS", "TRAITE", "TRAITEE"}
REJECTED_WORDS = {"REJETE", "REJETEE", "REJECTED", "REJET", "KO", "ERREUR", "ERROR", "REFUSE", "REFUSEE",
                  "ANOMALIE", "INVALIDE"}
ID_KEYS = ("idtechnique", "identifianttechnique", "idpassage", "idpassagecertification", "numerocertificat",
           "numero", "id")
STATUS_KEYS = ("statut", "etat", "resultat", "status", "statuttraitement", "etattraitement", "result",
               "statutpassage", "etatpassage")
MESSAGE_KEYS = ("codeerreur", "message", "messageerreur", "libelleerreur", "erreur", "erreurs", "motif",
                "motifrejet", "commentaire", "libelle", "anomalie", "anomalies", "detail")


@dataclass
class ReportLine:
    technical_id: str
    outcome: str  # accepted | rejected
    message: str = ""


@dataclass
class ParsedReport:
    lines: list[ReportLine]
    flux_id: str | None = None
    kind: str = "csv"  # csv | xml


def _key(name: str) -> str:
    plain = "".join(c for c in unicodedata.normalize("NFD", name) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def _outcome(word: str) -> str | None:
    key = _key(word).upper()
    if key in ACCEPTED_WORDS:
        return "accepted"
    if key in REJECTED_WORDS:
        return "rejected"
    return None


def _text(element: ET.Element) -> str:
    return " ".join(" ".join(element.itertext()).split())


def _parse_xml(data: bytes) -> ParsedReport:
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise ValidationFailed("Compte rendu refusé : les déclarations DOCTYPE et ENTITY ne sont pas admises.",
                               code="report_doctype")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ValidationFailed(f"Compte rendu XML illisible : {exc}.", code="report_unreadable") from None
    flux_id = next((_text(e) for e in root.iter() if _key(local_name(e.tag)) == "idflux"), None)
    lines, bad = [], []
    for element in root.iter():
        children: dict[str, ET.Element] = {}
        for child in element:
            children.setdefault(_key(local_name(child.tag)), child)
        attributes = {_key(k.rsplit("}", 1)[-1]): v for k, v in element.attrib.items()}
        tid = next((_text(children[k]) for k in ID_KEYS[:4] if k in children), None) \
            or next((attributes[k] for k in ID_KEYS[:4] if k in attributes), None)
        if not tid:
            continue
        status = next((_text(children[k]) for k in STATUS_KEYS if k in children), None) \
            or next((attributes[k] for k in STATUS_KEYS if k in attributes), "")
        message = " ; ".join(_text(children[k]) for k in MESSAGE_KEYS if k in children and _text(children[k]))
        outcome = _outcome(status)
        if outcome is None:
            bad.append(f"{tid} : « {status} »")
            continue
        lines.append(ReportLine(tid.strip(), outcome, message))
    _check(lines, bad)
    return ParsedReport(lines, flux_id, "xml")


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed("Compte rendu illisible : encodage inconnu.", code="report_unreadable")  # pragma: no cover


def _parse_csv(data: bytes) -> ParsedReport:
    text = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t", "|"), key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationFailed("Compte rendu vide.", code="report_empty") from None
    columns = [_key(h) for h in header]

    def find(keys: Iterable[str]) -> list[int]:
        return [columns.index(k) for k in keys if k in columns]

    id_col, status_col, message_cols = find(ID_KEYS)[:1], find(STATUS_KEYS)[:1], find(MESSAGE_KEYS)
    if not id_col or not status_col:
        raise ValidationFailed(
            "Compte rendu CSV non reconnu : il faut une colonne d'identifiant technique (idTechnique) et une "
            "colonne de statut (statut : ACCEPTE / REJETE).", code="report_columns",
            details={"columns": header})
    lines, bad = [], []
    for n, row in enumerate(reader, start=2):
        if n > REPORT_MAX_LINES:
            raise ValidationFailed("Compte rendu trop long.", code="report_too_long")
        if not any(cell.strip() for cell in row):
            continue
        cells = row + [""] * (len(columns) - len(row))
        tid, status = cells[id_col[0]].strip(), cells[status_col[0]].strip()
        outcome = _outcome(status)
        if not tid or outcome is None:
            bad.append(f"ligne {n} : « {tid} » « {status} »")
            continue
        message = " ; ".join(" ".join(cells[i].split()) for i in message_cols if cells[i].strip())
        lines.append(ReportLine(tid, outcome, message))
    _check(lines, bad)
    return ParsedReport(lines, None, "csv")


def _check(lines: list[ReportLine], bad: list[str]) -> None:
    if bad:
        raise ValidationFailed(
            "Statut non reconnu (attendu : ACCEPTE ou REJETE) — " + " ; ".join(bad[:5]) + ("…" if len(bad) > 5 else ""),
            code="report_status_unknown", details={"lines": bad[:50]})
    if not lines:
        raise ValidationFailed("Aucun passage de certification reconnu dans le compte rendu.", code="report_empty")


def parse_report(data: bytes) -> ParsedReport:
    """A processing report in XML (elements carrying an ``idTechnique`` and a ``statut``) or CSV
    (columns ``idTechnique``, ``statut`` and optionally ``message`` / ``libelleErreur``…)."""
    body = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not body:
        raise ValidationFailed("Compte rendu vide.", code="report_empty")
    return _parse_xml(body) if body.startswith(b"<") else _parse_csv(data)
