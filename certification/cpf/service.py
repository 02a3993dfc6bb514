"""Export of certified holders to the Caisse des Dépôts (SI CPF « accrochage certificateurs »).

Every certificate (all blocs held) of a certification registered with France Compétences is
declared once to the SI CPF, within 3 months of its issue, in an XML flux of that certification.
Each certificate is followed by a :class:`CpfRecord` (technical id: the certificate number):

- ``pending``: to declare; a batch takes every pending record of the certification;
- ``sent`` / ``resent``: in a batch whose processing report (compte rendu) is awaited: not
  declared yet (overdue past the due date like a pending one). The officer may say on which day
  the batch was deposited on the platform (:func:`declare_deposit`); while its report is not
  imported, the batch is reminded to the officers ``report_reminder_days`` then twice that many
  days after it was produced (:func:`~certification.cpf.states.report_reminder_step`, sent by
  :mod:`flows.cpf`);
- ``accepted``: final, never sent again;
- ``rejected``: sent again in the next batch once corrected — the passage it would send differs
  from the one rejected (identity corrected on the certificate, registry code fixed…) — or when
  the officer asks for it (:func:`request_resend`, the error was on the receiving side);
- ``cancelled``: the certificate was revoked before being accepted.

The XML is built and validated by :mod:`certification.cpf.flux`, the processing report read by
:mod:`certification.cpf.report`, the records kept up to date by :mod:`certification.cpf.records`;
what the officers may read is in :mod:`certification.cpf.queries`.

A record whose holder lacks data the dictionary requires (``sexe``, a birth date within its
bounds, a name and a given name) is **held back**: it stays owed, with ``held_reason`` saying what
to correct (audited ``hold`` / ``release`` events), and goes in the next batch once the
certificate is corrected. Every flux is then validated against ``certification/schemas/
cpf-accrochage.xsd`` (the dictionary as an XML Schema) before its batch is recorded: a flux
that fails is neither recorded nor written, and the error names the record and the field.

Pure domain code: no file is written here; :mod:`flows.cpf` writes the batch file in the
transaction that records it.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, select

from certification.audit import Actor, apply_transition, record_event, record_on
from certification.clock import now
from certification.cpf.flux import build_flux, clean_text, passage_digest, passage_element, validate_flux
from certification.cpf.models import CpfBatchItem, CpfExportBatch, CpfRecord
from certification.cpf.queries import get_batch, get_record, items_of, officer_only
from certification.cpf.records import refresh_holds, sync_records
from certification.cpf.report import parse_report
from certification.cpf.states import (
    BATCH_ENTITY,
    BATCH_GENERATED,
    BATCH_REPORTED,
    CPF_RECORD,
    PARIS,
    CpfState,
    paris_today,
    produced_on,
)
from certification.errors import InvalidTransition, ValidationFailed
from certification.candidates.models import Candidate
from certification.models import Certification, CertificationVersion
from certification.jury.models import Certificate, JurySession
from certification.numbering import next_value
from certification.referentiel.service import current_or_latest
from certification.services.referential import get_certification, parse_registry_code, version_of, version_registry_code
from certification.settings import Settings, get_settings


def registry_of(cert: Certification, version: CertificationVersion | None = None) -> tuple[str, str]:
    """``("RNCP", "RNCP12345")`` or ``("RS", "RS1234")``: the record of ``version`` of the
    référentiel when it has one, else ``Certification.registry_code``."""
    code = version_registry_code(cert, version)
    parsed = parse_registry_code(code)
    if parsed is not None:
        return parsed
    raise ValidationFailed(
        f"La certification {cert.code} n'a pas de code RNCP ou RS valide (« {code or ''} ») : "
        "renseignez-le avant tout export vers la Caisse des Dépôts.",
        code="registry_code_missing", details={"certification_code": cert.code},
    )


def request_resend(db: Session, actor: Actor, record_id: int, reason: str) -> CpfRecord:
    """Send a rejected record again in the next batch even though its data did not change (the
    rejection came from the receiving side, or the error was fixed there)."""
    record = get_record(db, actor, record_id)
    if record.state != CpfState.rejected:
        raise InvalidTransition("Seul un enregistrement rejeté peut être retransmis.", code="not_rejected",
                                details={"state": record.state})
    if not (reason or "").strip():
        raise ValidationFailed("Un motif est obligatoire.", code="reason_required")
    record.resend_requested = True
    record.updated_at = now()
    db.add(record)
    record_on(db, record, "request_resend", actor, reason=reason.strip())
    db.flush()
    return record


@dataclass
class _Due:
    record: CpfRecord
    element: ET.Element
    digest: str
    resend: bool
    registry: tuple[str, str] = ("", "")  # (type, code) of the holder's version of the référentiel


def _passages(db: Session, records: list[CpfRecord], settings: Settings) -> dict[int, ET.Element]:
    if not records:
        return {}
    certificates = {c.id: c for c in db.exec(
        select(Certificate).where(Certificate.id.in_([r.certificate_id for r in records])))}
    candidates = {c.id: c for c in db.exec(
        select(Candidate).where(Candidate.id.in_({c.candidate_id for c in certificates.values()})))}
    juries = {j.id: j for j in db.exec(
        select(JurySession).where(JurySession.id.in_({c.session_id for c in certificates.values()})))}
    out = {}
    for r in records:
        c = certificates[r.certificate_id]
        out[r.id] = passage_element(c, candidates.get(c.candidate_id), juries.get(c.session_id), settings)
    return out


def due_for_batch(db: Session, cert: Certification, settings: Settings | None = None) -> list[_Due]:
    """What the next batch of ``cert`` would carry: pending records, and rejected ones corrected
    since (or whose re-sending the officer asked for), except those held back for missing data.
    Accepted records never come back."""
    settings = settings or get_settings()
    records = refresh_holds(db, cert.id)
    elements = _passages(db, records, settings)
    registries = _registries(db, cert, records)
    due = []
    for record in records:
        element = elements[record.id]
        registry = registries[record.id]
        digest = passage_digest(element, registry[1])
        if record.state == CpfState.pending:
            due.append(_Due(record, element, digest, resend=False, registry=registry))
        elif digest != record.payload_sha256 or record.resend_requested:
            due.append(_Due(record, element, digest, resend=True, registry=registry))
    return due


def _registries(db: Session, cert: Certification, records: list[CpfRecord]) -> dict[int, tuple[str, str]]:
    """Each record's registry (type, code): the one of its holder's version of the référentiel."""
    out: dict[int, tuple[str, str]] = {}
    by_version: dict[int | None, tuple[str, str]] = {}
    for record in records:
        certificate = db.get(Certificate, record.certificate_id)
        candidate = db.get(Candidate, certificate.candidate_id) if certificate else None
        version = version_of(db, candidate) if candidate else None
        key = version.id if version else None
        if key not in by_version:
            by_version[key] = registry_of(cert, version)
        out[record.id] = by_version[key]
    return out


def prepare_batch(db: Session, actor: Actor, certification_code: str,
                  settings: Settings | None = None) -> tuple[CpfExportBatch, bytes] | None:
    """Record the next batch of ``certification_code`` and return it with its XML, or None when
    nothing is to be sent. The caller writes the file before committing."""
    officer_only(actor)
    settings = settings or get_settings()
    cert = get_certification(db, certification_code)
    registry_of(cert, current_or_latest(db, cert.id))  # a code to declare under, before anything else
    sync_records(db, cert.id)
    due = due_for_batch(db, cert, settings)
    if not due:
        return None
    groups: dict[tuple[str, str], list[ET.Element]] = {}
    for d in due:  # one « certification » per record code (holders of versions recorded elsewhere)
        groups.setdefault(d.registry, []).append(d.element)
    (registry_type, registry_code), *_ = groups
    if len(groups) > 1:
        registry_type = ",".join(dict.fromkeys(kind for kind, _ in groups))[:10]
        registry_code = ",".join(code for _, code in groups)[:40]
    created = now()
    year = created.astimezone(PARIS).year
    short = cert.code.removeprefix("CQP_")
    reference = f"CPF-{short}-{year}-{next_value(db, f'cpf-export-{cert.code}', year):04d}"
    filename = f"{reference}.xml"
    (first_type, first_code), *others = groups
    data = build_flux(reference, created, first_type, first_code, groups[(first_type, first_code)], settings,
                      more=[(kind, code, groups[(kind, code)]) for kind, code in others])
    validate_flux(data, reference)  # before anything of the batch is recorded (the caller rolls back)
    batch = CpfExportBatch(
        reference=reference, certification_id=cert.id, registry_type=registry_type, registry_code=registry_code,
        state=BATCH_GENERATED, record_count=len(due), resent_count=sum(d.resend for d in due), filename=filename,
        relative_path=f"exports/cpf/{cert.code}/{filename}", sha256=hashlib.sha256(data).hexdigest(),
        size=len(data), created_by_id=actor.user_id, created_at=created, updated_at=created,
    )
    db.add(batch)
    db.flush()
    for d in due:
        record = d.record
        apply_transition(
            db, CPF_RECORD, record, "resend" if d.resend else "send", actor,
            data={"batch": reference},
            changes={"last_batch_id": batch.id, "sent_count": record.sent_count + 1,
                     "first_sent_at": record.first_sent_at or created, "last_sent_at": created,
                     "payload_sha256": d.digest, "resend_requested": False},
        )
        db.add(CpfBatchItem(batch_id=batch.id, record_id=record.id, technical_id=record.technical_id,
                                 resend=d.resend, payload_sha256=d.digest))
    record_event(db, entity_type=BATCH_ENTITY, entity_id=batch.id, action="generate", actor=actor,
                 to_state=BATCH_GENERATED, data={"reference": reference, "records": len(due),
                                             "resent": batch.resent_count, "sha256": batch.sha256})
    db.flush()
    return batch, data


def declare_deposit(db: Session, actor: Actor, batch_id: int, deposited_on: date) -> CpfExportBatch:
    """The officer says on which day the batch's file was deposited on the Caisse des Dépôts
    platform (audited ``declare_deposit``, with the previous date when corrected; the same date
    again changes nothing). The records stay undeclared until the processing report says so."""
    batch = get_batch(db, actor, batch_id)
    produced, on = produced_on(batch), paris_today()
    if deposited_on < produced:
        raise ValidationFailed(
            f"Le lot {batch.reference} a été produit le {produced:%d/%m/%Y} : il ne peut pas avoir été déposé "
            "avant cette date.", code="deposit_before_batch", details={"produced_on": produced.isoformat()})
    if deposited_on > on:
        raise ValidationFailed("La date de dépôt ne peut pas être postérieure à aujourd'hui.",
                               code="deposit_in_future", details={"today": on.isoformat()})
    if batch.deposited_on == deposited_on:
        return batch
    previous = batch.deposited_on.isoformat() if batch.deposited_on else None
    record_on(db, batch, "declare_deposit", actor, data={"deposited_on": deposited_on.isoformat(), "previous": previous})
    batch.deposited_on = deposited_on
    batch.updated_at = now()
    db.add(batch)
    db.flush()
    return batch


@dataclass
class ReportOutcome:
    batch_id: int
    accepted: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # same outcome already recorded (re-import)
    superseded: list[str] = field(default_factory=list)  # sent again since in a later batch
    ignored: list[str] = field(default_factory=list)  # contradicts a final outcome already recorded
    unknown: list[str] = field(default_factory=list)  # not in this batch


def import_report(db: Session, actor: Actor, batch_id: int, data: bytes, *, filename: str = "",
                  stored_path: str | None = None) -> ReportOutcome:
    """Apply the processing report of batch ``batch_id``: accepted records become final, rejected
    ones wait for a correction. Importing the same report twice changes nothing."""
    batch = get_batch(db, actor, batch_id)
    parsed = parse_report(data)
    if parsed.flux_id and parsed.flux_id != batch.reference:
        raise ValidationFailed(
            f"Ce compte rendu porte sur le flux « {parsed.flux_id} », pas sur le lot {batch.reference}.",
            code="report_for_another_batch", details={"flux_id": parsed.flux_id, "batch": batch.reference})
    items = {i.technical_id: i for i in items_of(db, batch.id)}
    outcome = ReportOutcome(batch.id)
    at = now()
    for line in parsed.lines:
        item = items.get(line.technical_id)
        if item is None:
            outcome.unknown.append(line.technical_id)
            continue
        message = clean_text(line.message, 2000) or None
        record = db.get(CpfRecord, item.record_id)
        if item.outcome == line.outcome and (item.message or None) == message:
            outcome.unchanged.append(line.technical_id)
            continue
        if record.last_batch_id != batch.id:
            item.outcome, item.message, item.reported_at = line.outcome, message, at
            db.add(item)
            outcome.superseded.append(line.technical_id)
            continue
        if record.state not in (CpfState.sent, CpfState.resent):
            if record.state == CpfState.rejected and line.outcome == "rejected":
                item.message, item.reported_at = message, at  # a new wording of the same rejection
                record.error_message = message
                db.add_all([item, record])
                outcome.unchanged.append(line.technical_id)
            else:
                outcome.ignored.append(line.technical_id)
            continue
        if line.outcome == "accepted":
            apply_transition(db, CPF_RECORD, record, "accept", actor, data={"batch": batch.reference},
                             changes={"accepted_at": at, "error_message": None})
            outcome.accepted.append(line.technical_id)
        else:
            apply_transition(db, CPF_RECORD, record, "reject", actor, reason=message,
                             data={"batch": batch.reference},
                             changes={"rejected_at": at, "error_message": message})
            outcome.rejected.append(line.technical_id)
        item.outcome, item.message, item.reported_at = line.outcome, message, at
        db.add(item)
    db.flush()
    all_items = items_of(db, batch.id)
    batch.accepted_count = sum(i.outcome == "accepted" for i in all_items)
    batch.rejected_count = sum(i.outcome == "rejected" for i in all_items)
    previous_state, batch.state = batch.state, BATCH_REPORTED
    batch.report_imported_at = at
    batch.report_filename = clean_text(filename, 200) or None
    batch.report_sha256 = hashlib.sha256(data).hexdigest()
    if stored_path:
        batch.report_relative_path = stored_path
    batch.updated_at = at
    db.add(batch)
    record_event(db, entity_type=BATCH_ENTITY, entity_id=batch.id, action="import_report", actor=actor,
                 from_state=previous_state, to_state=BATCH_REPORTED,
                 data={"file": batch.report_filename, "sha256": batch.report_sha256, "format": parsed.kind,
                       "accepted": len(outcome.accepted), "rejected": len(outcome.rejected),
                       "unchanged": len(outcome.unchanged), "superseded": len(outcome.superseded),
                       "ignored": len(outcome.ignored), "unknown": outcome.unknown[:50]})
    db.flush()
    return outcome
