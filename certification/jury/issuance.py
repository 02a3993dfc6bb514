"""Issuance of certificates (all blocs held) and attestations de blocs (partial validation), their
duplicates, corrections and revocation, and the public verification of a number."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from typing import Literal

from pydantic import BaseModel
from sqlmodel import Session, select

from certification import chronology
from certification.audit import SYSTEM, Actor, apply_transition, compare_and_set, record_event, record_on
from certification.clock import now
from certification.errors import NotFound, ValidationFailed
from certification.candidates.models import Candidate
from certification.models import Certification
from certification.jury.models import BlocAcquisition, Certificate, JurySession
from certification.jury.queries import get_certificate
from certification.numbering import next_value
from certification.jury.states import CERTIFICATE, KIND_LABELS, CertificateState
from certification.candidates import service as cand
from certification.services import credentials
from certification.services.referential import bloc_titles, version_of, version_title
from certification.settings import get_settings

ENTITY = Certificate.__tablename__


def checksum(number: str) -> str:
    """The key printed in the QR code: without it, a number guessed or forged is not shown."""
    secret = get_settings().verification_secret.get_secret_value().encode()
    return hmac.new(secret, number.encode(), hashlib.sha256).hexdigest()[:16]


def verification_url(number: str) -> str:
    return f"{get_settings().public_base_url}/verify/{number}?c={checksum(number)}"


def issue_for(db: Session, jury_session_id: int, candidate_id: int) -> Certificate | None:
    """Issue what the candidate's results call for, once (re-running returns the same document)."""
    jury = db.get(JurySession, jury_session_id)
    candidate = db.get(Candidate, candidate_id)
    if jury is None or candidate is None:
        raise NotFound("Session de jury ou candidat introuvable.", code="not_found")
    return issue_all(db, jury, [candidate])[0]


def _due(db: Session, jury: JurySession, candidate: Candidate) -> tuple[str, list[str]] | None:
    """(kind, blocs) of the document the candidate's results in ``jury`` call for; None if none."""
    held = cand.held_blocs(db, candidate, on=jury.scheduled_at.date())
    if not any(a.session_id == jury.id for a in held.values()):
        return None
    if set(candidate.blocs) <= set(held):
        return "certificate", list(candidate.blocs)
    return "attestation", [b for b in candidate.blocs if b in held]


def issue_all(db: Session, jury: JurySession, candidates: list[Candidate]) -> list[Certificate | None]:
    """For each candidate (in order), what its results in ``jury`` call for, issued once: the
    certificate or attestation already issued for this session, else a new one numbered in this
    transaction (the numbers of a certification and year reserved in one step, in this order)."""
    issued: dict[tuple[int | None, str], Certificate] = {}
    for row in db.exec(select(Certificate).where(Certificate.session_id == jury.id).order_by(Certificate.id)):
        issued.setdefault((row.candidate_id, row.kind), row)
    issued_on = chronology.issue_date(jury.scheduled_at, jury.pv_signed_at)
    due = [_due(db, jury, candidate) for candidate in candidates]
    new: dict[int, list[int]] = {}  # certification id -> positions of the new documents
    for position, (candidate, plan) in enumerate(zip(candidates, due, strict=True)):
        if plan is not None and (candidate.id, plan[0]) not in issued:
            new.setdefault(candidate.certification_id, []).append(position)
    numbers: dict[int, str] = {}
    certifications = {cid: db.get(Certification, cid) for cid in new}
    for cid, positions in new.items():
        last = next_value(db, f"certificate-{certifications[cid].code}", issued_on.year, count=len(positions))
        short = certifications[cid].code.removeprefix("CQP_")
        numbers.update({p: f"{short}-{issued_on.year}-{last - len(positions) + 1 + i:06d}"
                        for i, p in enumerate(positions)})
    out: list[Certificate | None] = []
    for position, (candidate, plan) in enumerate(zip(candidates, due, strict=True)):
        if plan is None:
            out.append(None)
        elif position not in numbers:
            out.append(issued[(candidate.id, plan[0])])
        else:
            out.append(_issue(db, jury, candidate, plan, numbers[position], issued_on,
                              certifications[candidate.certification_id]))
    return out


def _issue(db: Session, jury: JurySession, candidate: Candidate, plan: tuple[str, list[str]], number: str,
           issued_on: date, cert: Certification) -> Certificate:
    kind, blocs = plan
    row = Certificate(
        number=number, kind=kind, certification_id=cert.id,
        candidate_id=candidate.id, session_id=jury.id, blocs=blocs,
        holder_last_name=candidate.last_name, holder_first_names=candidate.first_names,
        holder_birth_date=candidate.birth_date, holder_sex=candidate.sex, issued_on=issued_on,
        state=CertificateState.valid.value,
    )
    db.add(row)
    db.flush()
    record_event(db, entity_type=ENTITY, entity_id=row.id, action="issue", actor=SYSTEM, from_state=None,
                 to_state=row.state, data={"number": row.number, "kind": kind, "jury": jury.reference})
    credentials.issue(db, row, new=True)  # its Open Badges, in the transaction that gives the number
    if kind == "certificate":  # an attestation of the same session (before an appeal) is replaced
        for old in db.exec(select(Certificate).where(
            Certificate.candidate_id == candidate.id, Certificate.session_id == jury.id,
            Certificate.kind == "attestation", Certificate.state == CertificateState.valid.value,
        )):
            apply_transition(db, CERTIFICATE, old, "supersede", SYSTEM, data={"by": row.number})
            credentials.revoke(db, old, "superseded")
    return row


# --- officer's actions -----------------------------------------------------------


def duplicate(db: Session, actor: Actor, certificate_id: int, reason: str) -> Certificate:
    """A duplicate: same number, new document version marked DUPLICATA."""
    row = get_certificate(db, actor, certificate_id)
    apply_transition(db, CERTIFICATE, row, "duplicate", actor, reason=(reason or "").strip(),
                     data={"version": row.version + 1, "duplicate": True}, changes={"version": row.version + 1})
    credentials.issue(db, row)  # re-issued for the new version; the former ones stay valid
    return row


NOTHING_TO_CORRECT = "Indiquez au moins une donnée à corriger."


def correct(db: Session, actor: Actor, certificate_id: int, *, reason: str, last_name: str | None = None,
            first_names: str | None = None, birth_date: date | None = None, sex: str | None = None) -> Certificate:
    """A correction of the holder's identity, the former values kept in history. A correction of
    what the document prints (names, birth date) makes a new version of it (same number); the sex,
    declared to the SI CPF but not printed, is corrected without a new document."""
    row = get_certificate(db, actor, certificate_id)
    printed = {k: v for k, v in {"holder_last_name": (last_name or "").strip() or None,
                                 "holder_first_names": (first_names or "").strip() or None,
                                 "holder_birth_date": birth_date}.items() if v is not None}
    changes = {**printed, **({"holder_sex": cand.check_sex(sex)} if sex is not None else {})}
    if not changes:
        raise ValidationFailed(NOTHING_TO_CORRECT, code="nothing_to_correct")
    before = {k: str(getattr(row, k)) for k in changes}
    after = {k: str(v) for k, v in changes.items()}
    reason = (reason or "").strip()
    if printed:  # a new version of the document (apply_transition increments it)
        apply_transition(db, CERTIFICATE, row, "correct", actor, reason=reason,
                         data={"version": row.version + 1, "before": before, "after": after}, changes=changes)
        credentials.revoke(db, row, "corrected", before_version=row.version)  # they name the holder wrongly
        credentials.issue(db, row)
    else:  # same checks and compare-and-set, without a new version
        CERTIFICATE.check("correct", row.state, actor.role, entity=row, reason=reason)
        compare_and_set(db, row, {**changes, "updated_at": now()}, Certificate.state == row.state,
                        conflict="Le certificat a été modifié entre-temps ; rechargez-le et recommencez.")
        record_on(db, row, "correct", actor, reason=reason,
                  data={"before": before, "after": after, "printed": False})
    candidate = db.get(Candidate, row.candidate_id)
    if "holder_sex" in changes and candidate.sex != row.holder_sex:  # a later issue copies it from there
        candidate.sex = row.holder_sex
        candidate.updated_at = now()
        db.add(candidate)
        db.flush()
    return row


def revoke(db: Session, actor: Actor, certificate_id: int, reason: str) -> Certificate:
    """Revocation: the number answers « révoqué » from now on; the blocs it carried are cancelled."""
    row = get_certificate(db, actor, certificate_id)
    apply_transition(db, CERTIFICATE, row, "revoke", actor, reason=(reason or "").strip(),
                     changes={"revoked_at": now(), "revoked_reason": (reason or "").strip()})
    credentials.revoke(db, row, "revoked")  # status bits set in the same transaction
    for acquisition in db.exec(select(BlocAcquisition).where(
        BlocAcquisition.candidate_id == row.candidate_id, BlocAcquisition.session_id == row.session_id,
    )):
        acquisition.cancelled = True
        db.add(acquisition)
    db.flush()
    return row


# --- public verification ---------------------------------------------------------------------


class Verification(BaseModel):
    """What the public verification of a number shows (the API's answer adds the certifier's name)."""

    status: Literal["valid", "revoked", "unknown"]
    number: str
    holder_initials: str | None = None
    certification_title: str | None = None
    kind_label: str | None = None
    issued_on: date | None = None
    revoked_on: date | None = None
    revoked_reason: str | None = None
    blocs: list[str] = []


def _initials(first_names: str, last_name: str) -> str:
    return f"{first_names.strip()[:1].upper()}. {last_name.strip()[:1].upper()}."


def verify(db: Session, number: str, key: str | None) -> Verification:
    """What anyone may know of a number: initials, certification, date, status. A number without
    its printed key (or a forged one) is « unknown », so numbers cannot be enumerated."""
    number = (number or "").strip()[:40]
    row = db.exec(select(Certificate).where(Certificate.number == number)).first()
    if row is None or not key or not hmac.compare_digest(checksum(number), key.strip()):
        return Verification(status="unknown", number=number)
    cert = db.get(Certification, row.certification_id)
    candidate = db.get(Candidate, row.candidate_id)
    titles = bloc_titles(db, candidate)
    status = "valid" if row.state == CertificateState.valid else "revoked"
    return Verification(
        status=status, number=row.number, holder_initials=_initials(row.holder_first_names, row.holder_last_name),
        certification_title=version_title(cert, version_of(db, candidate)), kind_label=KIND_LABELS[row.kind], issued_on=row.issued_on,
        revoked_on=(row.revoked_at or row.updated_at).date() if status == "revoked" else None,
        revoked_reason=row.revoked_reason if row.state == CertificateState.revoked
        else "Document remplacé à la suite d'une nouvelle décision du jury." if status == "revoked" else None,
        blocs=[f"{b} — {titles.get(b, b)}" for b in row.blocs],
    )
