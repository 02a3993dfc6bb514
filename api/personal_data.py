"""Right of access (RGPD art. 15): everything the engine holds about one candidate, as a ZIP of
JSON and PDFs — identity and contract, evaluations with their evidence, jury results per bloc,
blocs acquired, certificates and attestations (their PDFs), appeals, e-mails sent about them and
the audit trail of these dossiers. Documents shared with other people (the PV of a jury, which
lists every candidate) are left out: only what is about this person goes in."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from sqlmodel import Session, SQLModel, select

from certification.clock import now
from certification.errors import NotFound
from certification.models import AuditEvent, Certification, Structure
from certification.candidates.models import Candidate, Evaluation
from certification.jury.models import BlocAcquisition, Certificate, Deliberation, JuryCandidate, JurySession
from certification.appeals.models import Appeal
from certification.vae.queries import dossier_of_candidate
from documents.models import GeneratedDocument
from notifications.models import OutboxMessage

AUDIT_FIELDS = ("entity_type", "entity_id", "action", "from_state", "to_state", "actor_role", "at", "reason", "data")


def _row(row: SQLModel, *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: v for k, v in row.model_dump(mode="json").items() if k not in drop}


def _all(db: Session, model, *where) -> list:
    return list(db.exec(select(model).where(*where).order_by(model.id)))


def personal_data(db: Session, candidate_id: int) -> tuple[dict, list[tuple[str, Path]]]:
    """The JSON document and the files (name in the ZIP, path under data_dir) about a candidate."""
    candidate = db.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFound("Candidat introuvable.", code="candidate_not_found")
    certificates = _all(db, Certificate, Certificate.candidate_id == candidate.id)
    appeals = _all(db, Appeal, Appeal.candidate_id == candidate.id)
    evaluations = _all(db, Evaluation, Evaluation.candidate_id == candidate.id)
    juries = {
        j.id: j.reference
        for j in db.exec(
            select(JurySession).where(
                JurySession.id.in_(select(JuryCandidate.session_id).where(JuryCandidate.candidate_id == candidate.id))
            )
        )
    }
    vae = dossier_of_candidate(db, candidate.id)
    entities = {
        ("candidates", candidate.id),
        *(("certificates", c.id) for c in certificates),
        *(("appeals", a.id) for a in appeals),
        *((("vae_dossiers", vae.id),) if vae else ()),
    }
    events = [
        e
        for e in _all(db, AuditEvent, AuditEvent.entity_id.in_([i for _, i in entities]))
        if (e.entity_type, e.entity_id) in entities
    ]
    documents = [
        d
        for d in _all(db, GeneratedDocument, GeneratedDocument.entity_id.in_([i for _, i in entities]))
        if (d.entity_type, d.entity_id) in entities
    ]
    emails = [
        m
        for m in _all(db, OutboxMessage, OutboxMessage.entity_id.in_([i for _, i in entities]))
        if (m.entity_type, m.entity_id) in entities and m.to_addrs == [candidate.email]
    ]
    structure = db.get(Structure, candidate.structure_id)
    document = {
        "exported_at": now().isoformat(),
        "candidate": _row(candidate),
        "certification": db.get(Certification, candidate.certification_id).code,
        "structure": {"siret": structure.siret, "name": structure.name} if structure else None,
        "evaluations": [_row(e) for e in evaluations],
        "jury_sessions": [
            {"reference": juries[r.session_id], "blocs": r.blocs, "outcome": r.outcome}
            for r in _all(db, JuryCandidate, JuryCandidate.candidate_id == candidate.id)
        ],
        "bloc_results": [
            {**_row(d, drop=("recorded_by_id",)), "session": juries.get(d.session_id)}
            for d in _all(db, Deliberation, Deliberation.candidate_id == candidate.id)
        ],
        "blocs_acquired": [_row(b) for b in _all(db, BlocAcquisition, BlocAcquisition.candidate_id == candidate.id)],
        "certificates": [_row(c) for c in certificates],
        "appeals": [_row(a, drop=("filed_by_id",)) for a in appeals],
        "vae_dossier": _row(vae, drop=("filed_by_id", "decided_by_id", "interview_recorded_by_id", "livret2_path"))
        if vae
        else None,
        "emails": [
            {
                "subject": m.subject,
                "to": m.to_addrs,
                "status": m.status,
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                "body": m.body_text,
            }
            for m in emails
        ],
        "audit_trail": [{k: v for k, v in _row(e).items() if k in AUDIT_FIELDS} for e in events],
    }
    files = [
        (f"documents/{d.entity_type}-{d.entity_id}-v{d.version}-{d.filename}", Path(d.relative_path)) for d in documents
    ]
    for evaluation in evaluations:
        for index, f in enumerate(evaluation.files or ()):
            files.append(
                (
                    f"preuves/evaluation-{evaluation.id}-{index}-{Path(f['original_name']).name}",
                    Path(f["relative_path"]),
                )
            )
    if vae is not None and vae.livret2_path:
        files.append((f"vae/livret2-{Path(vae.livret2_name or 'livret2.pdf').name}", Path(vae.livret2_path)))
    return document, files


def personal_data_zip(db: Session, candidate_id: int, data_dir: Path) -> bytes:
    document, files = personal_data(db, candidate_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        missing = []
        for name, relative in files:
            path = data_dir / relative
            if path.is_file():
                archive.write(path, name)
            else:
                missing.append(name)
        document["missing_files"] = missing
        archive.writestr("donnees.json", json.dumps(document, indent=2, ensure_ascii=False))
    return buffer.getvalue()
