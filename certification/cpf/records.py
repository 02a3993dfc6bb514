"""The records of the SI CPF export kept up to date: one per valid certificate (created when
missing, cancelled when the certificate is revoked before being accepted), and the owed ones held
back while their holder lacks data the dictionary requires (audited ``hold`` / ``release``)."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from certification.audit import SYSTEM, apply_transition, record_on
from certification.clock import now
from certification.cpf.flux import hold_reasons
from certification.cpf.models import CpfRecord
from certification.cpf.states import CPF_RECORD, OWED_STATES, CpfState, due_date
from certification.jury.models import Certificate
from certification.jury.states import CertificateState

def sync_records(db: Session, certification_id: int | None = None) -> int:
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
        for cid, cert_id, number, issued_on in db.exec(query)
    ]
    created = 0
    if rows:
        dialect = db.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        result = db.execute(
            insert(CpfRecord).values(rows).on_conflict_do_nothing(index_elements=["certificate_id"])
        )
        created = max(result.rowcount or 0, 0)
    stale = select(CpfRecord).join(Certificate, Certificate.id == CpfRecord.certificate_id).where(
        Certificate.state != CertificateState.valid.value,
        CpfRecord.state.in_([s.value for s in OWED_STATES]),
    )
    if certification_id is not None:
        stale = stale.where(CpfRecord.certification_id == certification_id)
    for record in list(db.exec(stale)):
        apply_transition(db, CPF_RECORD, record, "cancel", SYSTEM,
                         reason="Certificat révoqué ou remplacé avant son acceptation par la Caisse des Dépôts.",
                         changes={"held_reason": None, "held_since": None})
    db.flush()
    return created


HOLD_FIX = "corrigez le certificat (correction de l'identité du titulaire)"

def _set_hold(db: Session, record: CpfRecord, reasons: list[str]) -> None:
    """Hold ``record`` back (or release it) when what it lacks changed; each change is audited."""
    reason = f"Retenu : {' ; '.join(reasons)} — {HOLD_FIX}." if reasons else None
    if reason == record.held_reason:
        return
    record_on(db, record, "hold" if reason else "release", SYSTEM,
              reason=reason or "Données du titulaire complétées : enregistrement à transmettre.",
              data={"previous": record.held_reason} if record.held_reason else {})
    record.held_since = (record.held_since or now()) if reason else None
    record.held_reason = reason
    record.updated_at = now()
    db.add(record)


def refresh_holds(db: Session, certification_id: int | None = None) -> list[CpfRecord]:
    """Hold back the owed records whose holder lacks required data, release the corrected ones;
    returns the owed records of ``certification_id`` (all when None) that are not held."""
    query = select(CpfRecord, Certificate).join(Certificate, Certificate.id == CpfRecord.certificate_id).where(
        CpfRecord.state.in_([s.value for s in OWED_STATES])).order_by(CpfRecord.technical_id)
    if certification_id is not None:
        query = query.where(CpfRecord.certification_id == certification_id)
    free = []
    for record, certificate in db.exec(query).all():
        reasons = hold_reasons(certificate)
        _set_hold(db, record, reasons)
        if not reasons:
            free.append(record)
    db.flush()
    return free
