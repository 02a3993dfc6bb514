"""Export of certified holders to the Caisse des Dépôts (SI CPF « accrochage certificateurs »).

Every certificate (all blocs held) of a certification registered with France Compétences is
declared once to the SI CPF, within 3 months of its issue, in an XML flux of that certification.
Each certificate is followed by a :class:`CpfRecord` (technical id: the certificate number):

- ``pending``: to declare; a batch takes every pending record of the certification;
- ``sent`` / ``resent``: in a batch whose processing report (compte rendu) is awaited: not
  declared yet (overdue past the due date like a pending one). The officer may say on which day
  the batch was deposited on the platform (:func:`declare_deposit`); while its report is not
  imported, the batch is reminded to the officers ``report_reminder_days`` then twice that many
  days after it was produced (:func:`report_reminder_step`, sent by :mod:`flows.cpf_export`);
- ``accepted``: final, never sent again;
- ``rejected``: sent again in the next batch once corrected — the passage it would send differs
  from the one rejected (identity corrected on the certificate, registry code fixed…) — or when
  the officer asks for it (:func:`request_resend`, the error was on the receiving side);
- ``cancelled``: the certificate was revoked before being accepted.

The XML follows the public data dictionary of the Caisse des Dépôts (namespace
``urn:cdc:cpf:pc5:schema:1.0.0``): ``flux / emetteur / certificateurs / certificateur /
certifications / certification (type, code) / passageCertifications / passageCertification``.
What the engine does not hold is left out where the dictionary makes it optional (the second and
third given names when absent, the birth commune's name) or nil where it is nillable
(``nomUsage``, ``dateFinValidite`` — a CQP does not expire —, ``scoring``, ``mentionValidee``, the
birth postal code). Built with :mod:`xml.etree.ElementTree`: well-formed UTF-8, every value escaped.

A record whose holder lacks data the dictionary requires (``sexe``, a birth date within its
bounds, a name and a given name) is **held back**: it stays owed, with ``held_reason`` saying what
to correct (audited ``hold`` / ``release`` events), and goes in the next batch once the
certificate is corrected. Every flux is then validated against ``certification/schemas/
cpf-accrochage.xsd`` (the dictionary as an XML Schema) before its batch is recorded: a flux
that fails is neither recorded nor written, and the error names the record and the field.

Pure domain code: no file is written here; :mod:`flows.cpf_export` writes the batch file in the
transaction that records it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import xmlschema

import calendar
import csv
import hashlib
import io
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib.resources import files
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from certification.audit import SYSTEM, Actor, apply_transition, record_event, timeline
from certification.clock import now, today
from certification.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from certification.models import (
    AuditEvent,
    Candidate,
    Certificate,
    Certification,
    CertificationVersion,
    JurySession,
    Role,
)
from certification.models_reporting import CpfBatchItem, CpfExportBatch, CpfRecord
from certification.numbering import next_value
from certification.processes.certification import CertificateState
from certification.processes.cpf_export import (
    AWAITING_REPORT_STATES,
    CPF_RECORD,
    OWED_STATES,
    UNDECLARED_STATES,
    CpfState,
)
from certification.referentiel.service import current_or_latest
from certification.services.referential import (
    get_certification,
    parse_registry_code,
    version_of,
    version_registry_code,
)
from certification.settings import Settings, get_settings

NS = "urn:cdc:cpf:pc5:schema:1.0.0"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ET.register_namespace("cpf", NS)
ET.register_namespace("xsi", XSI)

PARIS = ZoneInfo("Europe/Paris")
BATCH_ENTITY = CpfExportBatch.__tablename__
BATCH_GENERATED, BATCH_REPORTED = "generated", "report_imported"  # CpfExportBatch.state
RECORD_ENTITY = CpfRecord.__tablename__
DUE_MONTHS = 3
REPORT_MAX_LINES = 100_000


# --- dates ---------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` months, clamped to the end of a shorter month (30/11 + 3 = 28/02)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(issued_on: date) -> date:
    return add_months(issued_on, DUE_MONTHS)


def is_overdue(record: CpfRecord, on: date | None = None) -> bool:
    """Past its due date and not declared yet: still owed, or sent in a batch whose processing
    report was not imported (nothing says the Caisse des Dépôts received and accepted it)."""
    return CpfState(record.state) in UNDECLARED_STATES and record.due_on < (on or today())


# --- the certification's registry code ------------------------------------------------------------


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


# --- records ---------------------------------------------------------------------------------------


def sync_records(session: Session, certification_id: int | None = None) -> int:
    """Create the record of every valid certificate not yet followed; cancel the records of revoked
    certificates not accepted yet. Idempotent, safe under concurrency. Returns the records created."""
    query = (
        select(Certificate.id, Certificate.certification_id, Certificate.number, Certificate.issued_on)
        .where(Certificate.kind == "certificate", Certificate.state == CertificateState.valid.value)
        .where(Certificate.id.not_in(select(CpfRecord.certificate_id)))
    )
    if certification_id is not None:
        query = query.where(Certificate.certification_id == certification_id)
    rows = [
        {"certificate_id": cid, "certification_id": cert_id, "technical_id": number, "state": CpfState.pending.value,
         "version": 1, "issued_on": issued_on, "due_on": due_date(issued_on), "sent_count": 0,
         "resend_requested": False, "created_at": now(), "updated_at": now()}
        for cid, cert_id, number, issued_on in session.exec(query)
    ]
    created = 0
    if rows:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        result = session.execute(
            insert(CpfRecord).values(rows).on_conflict_do_nothing(index_elements=["certificate_id"])
        )
        created = max(result.rowcount or 0, 0)
    stale = select(CpfRecord).join(Certificate, Certificate.id == CpfRecord.certificate_id).where(
        Certificate.state != CertificateState.valid.value,
        CpfRecord.state.in_([s.value for s in OWED_STATES]),
    )
    if certification_id is not None:
        stale = stale.where(CpfRecord.certification_id == certification_id)
    for record in list(session.exec(stale)):
        apply_transition(session, CPF_RECORD, record, "cancel", SYSTEM,
                         reason="Certificat révoqué ou remplacé avant son acceptation par la Caisse des Dépôts.",
                         changes={"held_reason": None, "held_since": None})
    session.flush()
    return created


def _officer_only(actor: Actor) -> None:
    if actor.role not in (Role.officer, Role.system):
        raise Forbidden("Les exports vers la Caisse des Dépôts sont réservés au certificateur.",
                        code="role_not_allowed")


def list_records(session: Session, actor: Actor, *, certification_code: str | None = None,
                 state: str | None = None, overdue: bool = False, held: bool | None = None,
                 on: date | None = None) -> list[CpfRecord]:
    """Records (created for any certificate not followed yet, holds brought up to date), optionally
    only the overdue ones: not declared yet (pending, rejected, or sent and awaiting the processing
    report) after their due date (3 months after issue); ``held``: only those held back (True) or
    not (False)."""
    _officer_only(actor)
    cert_id = get_certification(session, certification_code).id if certification_code else None
    sync_records(session, cert_id)
    refresh_holds(session, cert_id)
    query = select(CpfRecord).order_by(CpfRecord.due_on, CpfRecord.technical_id)
    if held is not None:
        query = query.where(CpfRecord.held_reason.is_not(None) if held else CpfRecord.held_reason.is_(None))
    if cert_id is not None:
        query = query.where(CpfRecord.certification_id == cert_id)
    if state:
        if state not in CpfState.__members__:
            raise ValidationFailed(f"État inconnu : {state}.", code="unknown_state")
        query = query.where(CpfRecord.state == state)
    if overdue:
        query = query.where(CpfRecord.state.in_([s.value for s in UNDECLARED_STATES]),
                            CpfRecord.due_on < (on or today()))
    return list(session.exec(query))


def overdue_records(session: Session, actor: Actor, *, certification_code: str | None = None,
                    on: date | None = None) -> list[CpfRecord]:
    return list_records(session, actor, certification_code=certification_code, overdue=True, on=on)


def attention_records(session: Session, actor: Actor, certification_code: str, *, on: date | None = None,
                      days_before: int | None = None) -> list[CpfRecord]:
    """What the officers must hear of: records still owed (pending or rejected) that are overdue or
    due within ``days_before`` days, every record held back for missing data, and the records sent
    whose batch has no imported report once they are overdue (before that, the batch's own
    reminders follow them: :func:`report_reminder_step`)."""
    on = on or today()
    days = get_settings().cpf_alert_days_before if days_before is None else days_before
    horizon = on + timedelta(days=days)
    return [r for r in list_records(session, actor, certification_code=certification_code)
            if (CpfState(r.state) in OWED_STATES and (r.due_on <= horizon or r.held_reason))
            or (CpfState(r.state) in AWAITING_REPORT_STATES and r.due_on < on)]


def get_record(session: Session, actor: Actor, record_id: int) -> CpfRecord:
    _officer_only(actor)
    record = session.get(CpfRecord, record_id)
    if record is None:
        raise NotFound("Enregistrement introuvable.", code="cpf_record_not_found")
    return record


def request_resend(session: Session, actor: Actor, record_id: int, reason: str) -> CpfRecord:
    """Send a rejected record again in the next batch even though its data did not change (the
    rejection came from the receiving side, or the error was fixed there)."""
    record = get_record(session, actor, record_id)
    if record.state != CpfState.rejected:
        raise InvalidTransition("Seul un enregistrement rejeté peut être retransmis.", code="not_rejected",
                                details={"state": record.state})
    if not (reason or "").strip():
        raise ValidationFailed("Un motif est obligatoire.", code="reason_required")
    record.resend_requested = True
    record.updated_at = now()
    session.add(record)
    record_event(session, entity_type=RECORD_ENTITY, entity_id=record.id, action="request_resend", actor=actor,
                 from_state=record.state, to_state=record.state, reason=reason.strip())
    session.flush()
    return record


# --- records held back for missing data -----------------------------------------------------------

HOLD_FIX = "corrigez le certificat (correction de l'identité du titulaire)"


def hold_reasons(certificate: Certificate) -> list[str]:
    """What the data dictionary requires and the certificate's holder lacks (empty: declarable)."""
    reasons = []
    if not clean_text(certificate.holder_last_name, 60):
        reasons.append("nom de naissance du titulaire vide ou illisible")
    if not split_given_names(certificate.holder_first_names):
        reasons.append("prénom du titulaire vide ou illisible")
    born = certificate.holder_birth_date
    if born is None or not 1900 <= born.year <= 2099:
        reasons.append("date de naissance du titulaire absente ou hors des bornes du dictionnaire (1900 à 2099)")
    if certificate.holder_sex not in ("M", "F"):
        reasons.append("sexe du titulaire non renseigné (M ou F), exigé par la Caisse des Dépôts")
    return reasons


def _set_hold(session: Session, record: CpfRecord, reasons: list[str]) -> None:
    """Hold ``record`` back (or release it) when what it lacks changed; each change is audited."""
    reason = f"Retenu : {' ; '.join(reasons)} — {HOLD_FIX}." if reasons else None
    if reason == record.held_reason:
        return
    record_event(session, entity_type=RECORD_ENTITY, entity_id=record.id, action="hold" if reason else "release",
                 actor=SYSTEM, from_state=record.state, to_state=record.state,
                 reason=reason or "Données du titulaire complétées : enregistrement à transmettre.",
                 data={"previous": record.held_reason} if record.held_reason else {})
    record.held_since = (record.held_since or now()) if reason else None
    record.held_reason = reason
    record.updated_at = now()
    session.add(record)


def refresh_holds(session: Session, certification_id: int | None = None) -> list[CpfRecord]:
    """Hold back the owed records whose holder lacks required data, release the corrected ones;
    returns the owed records of ``certification_id`` (all when None) that are not held."""
    query = select(CpfRecord, Certificate).join(Certificate, Certificate.id == CpfRecord.certificate_id).where(
        CpfRecord.state.in_([s.value for s in OWED_STATES])).order_by(CpfRecord.technical_id)
    if certification_id is not None:
        query = query.where(CpfRecord.certification_id == certification_id)
    free = []
    for record, certificate in session.exec(query).all():
        reasons = hold_reasons(certificate)
        _set_hold(session, record, reasons)
        if not reasons:
            free.append(record)
    session.flush()
    return free


# --- XML -------------------------------------------------------------------------------------------

_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean_text(value: str | None, max_length: int) -> str:
    """NFC, without characters XML 1.0 forbids, whitespace folded, cut to the schema's length."""
    text = unicodedata.normalize("NFC", value or "")
    text = _XML_INVALID.sub("", text)
    text = " ".join(text.split())
    return text[:max_length].rstrip()


def _el(parent: ET.Element | None, tag: str, text: str | None = None, *, nil: bool = False) -> ET.Element:
    name = f"{{{NS}}}{tag}"
    element = ET.Element(name) if parent is None else ET.SubElement(parent, name)
    if nil:
        element.set(f"{{{XSI}}}nil", "true")
    elif text is not None:
        element.text = text
    return element


def split_given_names(first_names: str) -> list[str]:
    """``prenom1``, ``prenom2``, ``prenom3`` (the rest of the names joined in the third)."""
    names = [n for n in re.split(r"[\s,]+", clean_text(first_names, 500)) if n]
    if len(names) > 3:
        names = names[:2] + [" ".join(names[2:])]
    return [clean_text(n, 60) for n in names]


def _local_date(value: datetime) -> date:
    return value.astimezone(PARIS).date()


def passage_element(certificate: Certificate, candidate: Candidate | None, jury: JurySession | None,
                    settings: Settings) -> ET.Element:
    """The ``passageCertification`` of a certificate (data dictionary order)."""
    p = _el(None, "passageCertification")
    _el(p, "idTechnique", clean_text(certificate.number, 255))
    _el(p, "obtentionCertification", "PAR_ADMISSION")
    _el(p, "donneeCertifiee", "true")
    if jury is not None:
        exam = _local_date(jury.scheduled_at).isoformat()
        _el(p, "dateDebutExamen", exam)
        _el(p, "dateFinExamen", exam)
    _el(p, "dateDebutValidite", certificate.issued_on.isoformat())  # date d'obtention
    _el(p, "dateFinValidite", nil=True)  # a CQP has no end of validity
    _el(p, "presenceNiveauLangueEuro", "false")
    _el(p, "presenceNiveauNumeriqueEuro", "false")
    _el(p, "scoring", nil=True)
    _el(p, "mentionValidee", nil=True)
    modalites = _el(p, "modalitesInscription")
    if candidate is not None and candidate.pathway == "vae":  # the VAE pathway (certification/vae/)
        _el(modalites, "modaliteAcces", "VAE")
        _el(modalites, "voieAccessVAE", "VAE_CLASSIQUE")
    else:
        _el(modalites, "modaliteAcces", settings.cpf_modalite_acces)
    holder = _el(_el(p, "identificationTitulaire"), "titulaire")
    _el(holder, "nomNaissance", clean_text(certificate.holder_last_name, 60))
    _el(holder, "nomUsage", nil=True)
    for i, name in enumerate(split_given_names(certificate.holder_first_names), start=1):
        _el(holder, f"prenom{i}", name)
    born = certificate.holder_birth_date
    _el(holder, "anneeNaissance", str(born.year))
    _el(holder, "moisNaissance", str(born.month))
    _el(holder, "jourNaissance", str(born.day))
    _el(holder, "sexe", certificate.holder_sex)  # M | F (a record without it is held back)
    place = _el(holder, "codeCommuneNaissance")
    _el(_el(place, "codePostalNaissance"), "codePostal", nil=True)
    birth_place = clean_text(candidate.birth_place if candidate else "", 60)
    if birth_place:
        _el(holder, "libelleCommuneNaissance", birth_place)
    return p


def passage_digest(element: ET.Element, registry_code: str) -> str:
    """What a record would send: its passage under its certification's registry code (a rejected
    record goes again when either changed)."""
    return hashlib.sha256(registry_code.encode() + b"\n" + ET.tostring(element, encoding="utf-8")).hexdigest()


def build_flux(reference: str, created_at: datetime, registry_type: str, registry_code: str,
               passages: list[ET.Element], settings: Settings,
               more: list[tuple[str, str, list[ET.Element]]] = ()) -> bytes:
    """The whole XML flux of one certification (UTF-8, with its declaration); ``more``: the
    passages of holders of other versions of its référentiel recorded under another code, one
    ``certification`` element each ((type, code, passages))."""
    root = _el(None, "flux")
    _el(root, "idFlux", clean_text(reference, 50))
    _el(root, "horodatage", created_at.astimezone(PARIS).replace(microsecond=0).isoformat())
    emitter = _el(root, "emetteur")
    _el(emitter, "idClient", clean_text(settings.cpf_id_client, 8))
    certifier = _el(_el(emitter, "certificateurs"), "certificateur")
    _el(certifier, "idClient", clean_text(settings.cpf_id_client, 8))
    _el(certifier, "idContrat", clean_text(settings.cpf_id_contrat, 20))
    certifications = _el(certifier, "certifications")
    for kind, code, elements in [(registry_type, registry_code, passages), *more]:
        certification = _el(certifications, "certification")
        _el(certification, "type", kind)
        _el(certification, "code", code)
        _el(certification, "natureDeposant", "CERTIFICATEUR")
        container = _el(certification, "passageCertifications")
        container.extend(elements)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


# --- validation against the data dictionary's schema ----------------------------------------------

SCHEMA_FILE = "cpf-accrochage.xsd"


@lru_cache
def flux_schema() -> xmlschema.XMLSchema10:
    """``certification/schemas/cpf-accrochage.xsd`` (package data), loaded once (xmlschema is
    imported here: a third of a second that the API's start does not need)."""
    import xmlschema

    with (files("certification") / "schemas" / SCHEMA_FILE).open("rb") as f:
        return xmlschema.XMLSchema10(f)


def _local_path(element: ET.Element, parents: dict[ET.Element, ET.Element]) -> list[str]:
    names = []
    while element is not None:
        names.append(_local(element.tag))
        element = parents.get(element)
    return names[::-1]


def flux_errors(data: bytes) -> list[dict[str, str | None]]:
    """Each way ``data`` departs from the schema: the record (``idTechnique`` of the passage, None
    outside any), the field (path of element names) and the validator's reason."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        return [{"technical_id": None, "field": None, "reason": f"XML mal formé : {exc}"}]
    parents = {child: parent for parent in root.iter() for child in parent}
    errors = []
    for error in flux_schema().iter_errors(root):
        element = error.elem
        if not isinstance(element, ET.Element) or (element is not root and element not in parents):
            element = None
        names = _local_path(element, parents) if element is not None else []
        technical_id, field_names = None, names[1:]
        if "passageCertification" in names:
            i = names.index("passageCertification")
            passage = element
            for _ in range(len(names) - 1 - i):
                passage = parents[passage]
            technical_id = passage.findtext(f"{{{NS}}}idTechnique") or "(sans idTechnique)"
            field_names = names[i + 1:]
        where = "/".join(field_names) or (names[0] if names else None)
        errors.append({"technical_id": technical_id, "field": where, "reason": error.reason or error.message})
    return errors


def validate_flux(data: bytes, reference: str = "") -> None:
    """Refuse (422) a flux that the data dictionary's schema does not accept, naming each record
    and field at fault."""
    errors = flux_errors(data)
    if not errors:
        return
    said = [(f"enregistrement {e['technical_id']}, " if e["technical_id"] else "")
            + (f"champ {e['field']} : " if e["field"] else "") + str(e["reason"]) for e in errors[:5]]
    raise ValidationFailed(
        f"Flux {reference or 'XML'} refusé par le schéma {SCHEMA_FILE} ({len(errors)} erreur(s)) : "
        + " ; ".join(said) + ("…" if len(errors) > 5 else "") + ". Aucun lot n'a été enregistré.",
        code="cpf_flux_invalid", details={"errors": errors[:50]})


# --- batches ---------------------------------------------------------------------------------------


@dataclass
class _Due:
    record: CpfRecord
    element: ET.Element
    digest: str
    resend: bool
    registry: tuple[str, str] = ("", "")  # (type, code) of the holder's version of the référentiel


def _passages(session: Session, records: list[CpfRecord], settings: Settings) -> dict[int, ET.Element]:
    if not records:
        return {}
    certificates = {c.id: c for c in session.exec(
        select(Certificate).where(Certificate.id.in_([r.certificate_id for r in records])))}
    candidates = {c.id: c for c in session.exec(
        select(Candidate).where(Candidate.id.in_({c.candidate_id for c in certificates.values()})))}
    juries = {j.id: j for j in session.exec(
        select(JurySession).where(JurySession.id.in_({c.session_id for c in certificates.values()})))}
    out = {}
    for r in records:
        c = certificates[r.certificate_id]
        out[r.id] = passage_element(c, candidates.get(c.candidate_id), juries.get(c.session_id), settings)
    return out


def due_for_batch(session: Session, cert: Certification, settings: Settings | None = None) -> list[_Due]:
    """What the next batch of ``cert`` would carry: pending records, and rejected ones corrected
    since (or whose re-sending the officer asked for), except those held back for missing data.
    Accepted records never come back."""
    settings = settings or get_settings()
    records = refresh_holds(session, cert.id)
    elements = _passages(session, records, settings)
    registries = _registries(session, cert, records)
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


def _registries(session: Session, cert: Certification, records: list[CpfRecord]) -> dict[int, tuple[str, str]]:
    """Each record's registry (type, code): the one of its holder's version of the référentiel."""
    out: dict[int, tuple[str, str]] = {}
    by_version: dict[int | None, tuple[str, str]] = {}
    for record in records:
        certificate = session.get(Certificate, record.certificate_id)
        candidate = session.get(Candidate, certificate.candidate_id) if certificate else None
        version = version_of(session, candidate) if candidate else None
        key = version.id if version else None
        if key not in by_version:
            by_version[key] = registry_of(cert, version)
        out[record.id] = by_version[key]
    return out


def prepare_batch(session: Session, actor: Actor, certification_code: str,
                  settings: Settings | None = None) -> tuple[CpfExportBatch, bytes] | None:
    """Record the next batch of ``certification_code`` and return it with its XML, or None when
    nothing is to be sent. The caller writes the file before committing."""
    _officer_only(actor)
    settings = settings or get_settings()
    cert = get_certification(session, certification_code)
    registry_of(cert, current_or_latest(session, cert.id))  # a code to declare under, before anything else
    sync_records(session, cert.id)
    due = due_for_batch(session, cert, settings)
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
    reference = f"CPF-{short}-{year}-{next_value(session, f'cpf-export-{cert.code}', year):04d}"
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
    session.add(batch)
    session.flush()
    for d in due:
        record = d.record
        apply_transition(
            session, CPF_RECORD, record, "resend" if d.resend else "send", actor,
            data={"batch": reference},
            changes={"last_batch_id": batch.id, "sent_count": record.sent_count + 1,
                     "first_sent_at": record.first_sent_at or created, "last_sent_at": created,
                     "payload_sha256": d.digest, "resend_requested": False},
        )
        session.add(CpfBatchItem(batch_id=batch.id, record_id=record.id, technical_id=record.technical_id,
                                 resend=d.resend, payload_sha256=d.digest))
    record_event(session, entity_type=BATCH_ENTITY, entity_id=batch.id, action="generate", actor=actor,
                 to_state=BATCH_GENERATED, data={"reference": reference, "records": len(due),
                                             "resent": batch.resent_count, "sha256": batch.sha256})
    session.flush()
    return batch, data


def list_batches(session: Session, actor: Actor, *, certification_code: str | None = None) -> list[CpfExportBatch]:
    _officer_only(actor)
    query = select(CpfExportBatch).order_by(CpfExportBatch.id.desc())
    if certification_code:
        query = query.where(CpfExportBatch.certification_id == get_certification(session, certification_code).id)
    return list(session.exec(query))


def get_batch(session: Session, actor: Actor, batch_id: int) -> CpfExportBatch:
    _officer_only(actor)
    batch = session.get(CpfExportBatch, batch_id)
    if batch is None:
        raise NotFound("Lot d'export introuvable.", code="cpf_batch_not_found")
    return batch


def batch_timeline(session: Session, actor: Actor, batch_id: int) -> list[AuditEvent]:
    """Generation, declared deposit, reminders, imported reports of a batch (its audit trail)."""
    return timeline(session, BATCH_ENTITY, get_batch(session, actor, batch_id).id)


def items_of(session: Session, batch_id: int) -> list[CpfBatchItem]:
    return list(session.exec(select(CpfBatchItem).where(CpfBatchItem.batch_id == batch_id)
                             .order_by(CpfBatchItem.technical_id)))


# --- after the batch: its deposit on the platform, its report awaited ------------------------------

REPORT_REMINDER_STEPS = 2  # reminders of a batch without report: N days after it was produced, then 2N


def produced_on(batch: CpfExportBatch) -> date:
    """The day (Paris) ``batch`` was produced."""
    return _local_date(batch.created_at)


def paris_today() -> date:
    return _local_date(now())


def declare_deposit(session: Session, actor: Actor, batch_id: int, deposited_on: date) -> CpfExportBatch:
    """The officer says on which day the batch's file was deposited on the Caisse des Dépôts
    platform (audited ``declare_deposit``, with the previous date when corrected; the same date
    again changes nothing). The records stay undeclared until the processing report says so."""
    batch = get_batch(session, actor, batch_id)
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
    record_event(session, entity_type=BATCH_ENTITY, entity_id=batch.id, action="declare_deposit", actor=actor,
                 from_state=batch.state, to_state=batch.state,
                 data={"deposited_on": deposited_on.isoformat(),
                       "previous": batch.deposited_on.isoformat() if batch.deposited_on else None})
    batch.deposited_on = deposited_on
    batch.updated_at = now()
    session.add(batch)
    session.flush()
    return batch


def report_reminder_step(batch: CpfExportBatch, on: date, every_days: int) -> int:
    """The reminder due for ``batch`` on ``on`` (a Paris day): 0 for none (report imported, too
    early, reminders off), 1 from ``every_days`` days after it was produced, 2 (the last) from
    twice that."""
    if batch.state != BATCH_GENERATED or every_days <= 0:
        return 0
    return min((on - produced_on(batch)).days // every_days, REPORT_REMINDER_STEPS)


def batches_awaiting_report(session: Session, actor: Actor, certification_id: int) -> list[CpfExportBatch]:
    _officer_only(actor)
    return list(session.exec(select(CpfExportBatch).where(
        CpfExportBatch.certification_id == certification_id, CpfExportBatch.state == BATCH_GENERATED,
    ).order_by(CpfExportBatch.id)))


def awaiting_records(session: Session, batch: CpfExportBatch) -> list[CpfRecord]:
    """The records whose last flux is ``batch`` and that wait for its report, earliest due first."""
    return list(session.exec(select(CpfRecord).where(
        CpfRecord.last_batch_id == batch.id, CpfRecord.state.in_([s.value for s in AWAITING_REPORT_STATES]),
    ).order_by(CpfRecord.due_on, CpfRecord.technical_id)))


# --- processing report (compte rendu de traitement) -------------------------------------------------

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


@dataclass
class ReportOutcome:
    batch_id: int
    accepted: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # same outcome already recorded (re-import)
    superseded: list[str] = field(default_factory=list)  # sent again since in a later batch
    ignored: list[str] = field(default_factory=list)  # contradicts a final outcome already recorded
    unknown: list[str] = field(default_factory=list)  # not in this batch


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


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _parse_xml(data: bytes) -> ParsedReport:
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise ValidationFailed("Compte rendu refusé : les déclarations DOCTYPE et ENTITY ne sont pas admises.",
                               code="report_doctype")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ValidationFailed(f"Compte rendu XML illisible : {exc}.", code="report_unreadable") from None
    flux_id = next((_text(e) for e in root.iter() if _key(_local(e.tag)) == "idflux"), None)
    lines, bad = [], []
    for element in root.iter():
        children: dict[str, ET.Element] = {}
        for child in element:
            children.setdefault(_key(_local(child.tag)), child)
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


def import_report(session: Session, actor: Actor, batch_id: int, data: bytes, *, filename: str = "",
                  stored_path: str | None = None) -> ReportOutcome:
    """Apply the processing report of batch ``batch_id``: accepted records become final, rejected
    ones wait for a correction. Importing the same report twice changes nothing."""
    batch = get_batch(session, actor, batch_id)
    parsed = parse_report(data)
    if parsed.flux_id and parsed.flux_id != batch.reference:
        raise ValidationFailed(
            f"Ce compte rendu porte sur le flux « {parsed.flux_id} », pas sur le lot {batch.reference}.",
            code="report_for_another_batch", details={"flux_id": parsed.flux_id, "batch": batch.reference})
    items = {i.technical_id: i for i in items_of(session, batch.id)}
    outcome = ReportOutcome(batch.id)
    at = now()
    for line in parsed.lines:
        item = items.get(line.technical_id)
        if item is None:
            outcome.unknown.append(line.technical_id)
            continue
        message = clean_text(line.message, 2000) or None
        record = session.get(CpfRecord, item.record_id)
        if item.outcome == line.outcome and (item.message or None) == message:
            outcome.unchanged.append(line.technical_id)
            continue
        if record.last_batch_id != batch.id:
            item.outcome, item.message, item.reported_at = line.outcome, message, at
            session.add(item)
            outcome.superseded.append(line.technical_id)
            continue
        if record.state not in (CpfState.sent, CpfState.resent):
            if record.state == CpfState.rejected and line.outcome == "rejected":
                item.message, item.reported_at = message, at  # a new wording of the same rejection
                record.error_message = message
                session.add_all([item, record])
                outcome.unchanged.append(line.technical_id)
            else:
                outcome.ignored.append(line.technical_id)
            continue
        if line.outcome == "accepted":
            apply_transition(session, CPF_RECORD, record, "accept", actor, data={"batch": batch.reference},
                             changes={"accepted_at": at, "error_message": None})
            outcome.accepted.append(line.technical_id)
        else:
            apply_transition(session, CPF_RECORD, record, "reject", actor, reason=message,
                             data={"batch": batch.reference},
                             changes={"rejected_at": at, "error_message": message})
            outcome.rejected.append(line.technical_id)
        item.outcome, item.message, item.reported_at = line.outcome, message, at
        session.add(item)
    session.flush()
    all_items = items_of(session, batch.id)
    batch.accepted_count = sum(i.outcome == "accepted" for i in all_items)
    batch.rejected_count = sum(i.outcome == "rejected" for i in all_items)
    previous_state, batch.state = batch.state, BATCH_REPORTED
    batch.report_imported_at = at
    batch.report_filename = clean_text(filename, 200) or None
    batch.report_sha256 = hashlib.sha256(data).hexdigest()
    if stored_path:
        batch.report_relative_path = stored_path
    batch.updated_at = at
    session.add(batch)
    record_event(session, entity_type=BATCH_ENTITY, entity_id=batch.id, action="import_report", actor=actor,
                 from_state=previous_state, to_state=BATCH_REPORTED,
                 data={"file": batch.report_filename, "sha256": batch.report_sha256, "format": parsed.kind,
                       "accepted": len(outcome.accepted), "rejected": len(outcome.rejected),
                       "unchanged": len(outcome.unchanged), "superseded": len(outcome.superseded),
                       "ignored": len(outcome.ignored), "unknown": outcome.unknown[:50]})
    session.flush()
    return outcome
