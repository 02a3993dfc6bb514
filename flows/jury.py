"""The jury session flow (re-entrant from the database state); the certificates' documents and the
certificate flow (duplicates, corrections) are in :mod:`flows.certificates`.

A jury run sends the convocations (.ics), asks the president to sign, and once the PV is signed
applies the results candidate by candidate (blocs acquired, certificate or attestation with its
number), renders the PV and every document, notifies each candidate's results, then marks the
results notified. Each step is keyed: killed at candidate 77 of 130 and restarted, it finishes
the other 53 and redoes nothing. Appeals of the session get their acknowledgement and decision
letters from the same flow (their steps in :mod:`flows.appeals`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parseaddr
from typing import Any

from prefect import get_run_logger
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from certification.db import session_scope
from certification.errors import Conflict
from certification.models import Certification
from certification.candidates.models import Candidate
from certification.jury.models import Certificate
from certification.jury.models import JurySession
from certification.appeals.states import AppealState
from certification.jury.states import COLLEGES, DELIBERATION_RESULTS, OUTCOME_LABELS, JuryState
from certification.jury import service as svc
from certification.jury.read_model import CandidateView, MemberView, jury_view
from certification.appeals.models import Appeal
from certification.settings import get_settings
from documents import badge
from documents.french import agree
from documents.storage import DocumentStore
from flows.common import advance_task, deliver_task, dossier_flow, sweep_flow, while_delivering
from certification.effects import OwedEffect, owed
from flows.appeals import APPEAL_ENTITY, appeal_step
from flows.certificates import CERT_ENTITY, CERTIFICATE_TEMPLATES, certificate_context, letter_template, version_events
from flows.context import letter_context
from flows.effects import Effects, fulfil_owed, open_or_owed
from notifications.ics import build_invitation, ics_attachment

ENTITY = JurySession.__tablename__
PROCESS = "jury"
SIGNATURE_STEPS = ("sign_pv", "amend_after_appeal")
RESULTS_ATTACHMENTS_MAX = 20  # a structure's results e-mail attaches its documents up to this many


@dataclass
class JuryOutcome:
    session_id: int
    state: str = ""
    transitions: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    mails: list[str] = field(default_factory=list)
    certificates: list[str] = field(default_factory=list)


# --- contexts ------------------------------------------------------------------------------


def outcome_label(outcome: str, sex: str | None) -> str:
    """The jury's decision for a candidate, agreed with the candidate's sex (« absente »)."""
    return agree(sex, "absent", "absente") if outcome == "absent" else OUTCOME_LABELS[outcome]


def _bloc_entry(c: CandidateView, code: str) -> dict[str, Any]:
    """A bloc of the candidate's version and his result on it, as the PV and the e-mails show it."""
    result = c.results.get(code, "previously_acquired" if code not in c.row.blocs else None)
    label = DELIBERATION_RESULTS.get(result, "acquis antérieurement" if result == "previously_acquired" else "—")
    if result == "absent":  # the candidate was absent: « absente » for a woman
        label = agree(c.candidate.sex, "absent", "absente")
    if result == "previously_acquired" and code in c.equivalent:
        label = "acquis par équivalence"
    title = c.blocs[code].title if code in c.blocs else code
    return {"code": code, "title": title, "result": result or "absent", "result_label": label}


def candidate_entry(c: CandidateView, *, show_version: bool = False) -> dict[str, Any]:
    """A candidate as the PV and the results e-mails show them, with the blocs of the candidate's
    version; ``show_version``: the session mixes versions, so the PV names each one's."""
    candidate, version = c.candidate, c.version
    outcome = c.row.outcome or "none"
    return {
        "id": candidate.id,
        "reference": candidate.reference,
        "last_name": candidate.last_name,
        "first_names": candidate.first_names,
        "birth_date": candidate.birth_date,
        "email": candidate.email,
        "structure_id": candidate.structure_id,
        "sex": candidate.sex,
        "structure_name": c.structure.name,
        "structure_email": c.structure.email,
        "blocs": [_bloc_entry(c, code) for code in candidate.blocs],
        "outcome": outcome,
        "outcome_label": outcome_label(outcome, candidate.sex),
        "certificate_number": c.certificate.number if c.certificate else None,
        "version_label": version.label if version else None,
        "version_note": f"version {version.label}" if show_version and version else None,
    }


def _member_entry(m: MemberView) -> dict[str, Any]:
    user, member = m.user, m.member
    return {
        "user_id": user.id,
        "name": user.full_name,
        "email": user.email,
        "sex": user.sex,
        "college": member.college,
        "college_label": COLLEGES[member.college],
        "is_president": member.is_president,
        "present": member.present,
    }


def jury_context(db: Session, jury: JurySession) -> dict[str, Any]:
    """The session as its letters and e-mails show it, mapped from its read model
    (:mod:`certification.jury.read_model`), with the appeals upheld against it."""
    view = jury_view(db, jury, equivalences=True, checks=False)
    cert, president, signer, mixed = view.certification, view.president, view.signer, view.mixed_versions
    appeals = [
        a.reference
        for a in db.exec(select(Appeal).where(Appeal.session_id == jury.id, Appeal.state == AppealState.upheld.value))
    ]
    return letter_context(
        f"/app/jurys/{jury.id}",
        jury={
            "reference": jury.reference,
            "certification_code": cert.code,
            "certification_title": cert.title,
            "scheduled_at": jury.scheduled_at,
            "place": jury.place,
            "video_link": jury.video_link,
            "quorum": jury.quorum,
            "president_name": president.user.full_name if president else None,
            "members": [_member_entry(m) for m in view.members],
            "candidates": [candidate_entry(c, show_version=mixed) for c in view.candidates],
            "mixed_versions": mixed,
            "pv_version": jury.pv_version,
            "pv_signed_at": jury.pv_signed_at,
            "pv_signed_by": signer.full_name if signer else None,
            "recours_note": f"PV modificatif après recours {', '.join(appeals)}"
            if jury.pv_version > 1 and appeals
            else None,
        },
    )


# --- side effects --------------------------------------------------------------------------


def _convocations(db: Session, jury: JurySession, ctx: dict, fx: Effects) -> None:
    settings = get_settings()
    j = ctx["jury"]
    for member in j["members"]:
        name = f"convocation:u{member['user_id']}"
        if fx.sent(name):
            continue
        ics = build_invitation(
            uid=f"{jury.reference}@cqp-engine.local",
            sequence=0,
            start=jury.scheduled_at,
            end=jury.scheduled_at + timedelta(minutes=jury.duration_minutes),
            summary=f"Jury {j['certification_title']} — {jury.reference}",
            location=jury.place or jury.video_link or "",
            description=f"Session de jury {jury.reference}.",
            organizer=parseaddr(settings.mail_from)[1],
            attendees=[member["email"]],
        )
        attachment = ics_attachment(
            settings.data_dir, f"generated/{ENTITY}/{jury.id}/convocation-u{member['user_id']}.ics", ics
        )
        fx.mail(ctx, name, "jury/convocation_jury", [member["email"]], attach=[attachment], extra={"member": member})


def _notified_candidates(db: Session, jury: JurySession, pv_version: int) -> set[int] | None:
    """Who gets a results e-mail for this PV version: everyone at v1, appellants afterwards."""
    if pv_version == 1:
        return None
    return set(
        db.exec(
            select(Appeal.candidate_id).where(Appeal.session_id == jury.id, Appeal.state == AppealState.upheld.value)
        )
    )


def _certificate_document(
    db: Session,
    jury: JurySession,
    candidate_id: int,
    rendered: tuple[dict, bytes, list[tuple[str, bytes]]] | None = None,
) -> tuple[Any, dict | None, list[str], list[dict]]:
    """The candidate's certificate or attestation of this session, stored once, with its Open
    Badges (baked PNG attachments); (None, None, [], []) when the session issued none.
    ``rendered``: (context, PDF, [(badge path, image)]) made by a renderer process (``documents.pool``)."""
    certificate = db.exec(
        select(Certificate).where(
            Certificate.candidate_id == candidate_id, Certificate.session_id == jury.id, Certificate.state == "valid"
        )
    ).first()
    if certificate is None:
        return None, None, [], []
    data_dir = get_settings().data_dir
    if rendered is not None:
        cctx, pdf, images = rendered
        store = DocumentStore(data_dir)
        for relative, image in images:
            if store.digest(relative) is None:
                store.write(relative, image)
    else:
        cctx, pdf = certificate_context(db, certificate), None
    cfx = Effects(db, CERT_ENTITY, certificate.id, certificate.number)
    kind = CERTIFICATE_TEMPLATES[certificate.kind]
    document = cfx.letter(cctx, kind, certificate.version, pdf=pdf, template=f"{letter_template(kind)}.html")
    badges = badge.badge_attachments(db, certificate, data_dir)
    certificate_ctx = {
        **{k: v for k, v in cctx["certificate"].items() if k != "qr_svg"},
        "badges": len(badges),
        "credentials_verify_url": f"{get_settings().public_base_url}/credentials/verify",
    }
    return document, certificate_ctx, cfx.documents, badges


def _pending_certificates(db: Session, jury: JurySession, candidate_ids: list[int]) -> dict[int, tuple]:
    """candidate id → (template, context without the QR drawing, badge jobs) of the certificates
    whose document is not stored yet, in the order of ``candidate_ids``."""
    from documents.models import GeneratedDocument

    pending = {}
    data_dir = get_settings().data_dir
    certificates = list(
        db.exec(
            select(Certificate).where(
                Certificate.session_id == jury.id,
                Certificate.state == "valid",
                Certificate.candidate_id.in_(candidate_ids),
            )
        )
    )
    # held while the contexts are built (session.get then finds them in the identity map)
    held: list[Any] = list(db.exec(select(Candidate).where(Candidate.id.in_(candidate_ids))))
    held += list(db.exec(select(Certification).where(Certification.id.in_({c.certification_id for c in certificates}))))
    ids = [c.id for c in certificates]
    stored = {
        tuple(row)
        for row in db.exec(
            select(GeneratedDocument.entity_id, GeneratedDocument.kind, GeneratedDocument.version).where(
                GeneratedDocument.entity_type == CERT_ENTITY, GeneratedDocument.entity_id.in_(ids)
            )
        )
    }
    events = version_events(db, ids)
    for certificate in certificates:
        kind = CERTIFICATE_TEMPLATES[certificate.kind]
        if (certificate.id, kind, certificate.version) not in stored:
            context = certificate_context(db, certificate, qr=False, events=events[certificate.id])
            pending[certificate.candidate_id] = (
                letter_template(kind),
                context,
                badge.badge_jobs(db, certificate, data_dir),
            )
    return {cid: pending[cid] for cid in candidate_ids if cid in pending}


class _RunContexts:
    """The session's letter and e-mail context, built once per run and shared by its steps: a run
    changes nothing that context shows (the steps send, the signature's results were applied by
    the signature), so a fast client's three steps owed at once cost one reading of the session,
    as a paced client's one step does."""

    def __init__(self) -> None:
        self._contexts: dict[int, dict[str, Any]] = {}

    def of(self, db: Session, jury: JurySession) -> dict[str, Any]:
        if jury.id not in self._contexts:
            self._contexts[jury.id] = jury_context(db, jury)
        return self._contexts[jury.id]


def _results(engine: Engine | None, jury_id: int, pv_version: int, out: JuryOutcome, contexts: _RunContexts) -> None:
    """The PV of this version, every certificate's document, one results e-mail per structure
    (its candidates, documents attached) and one per candidate who has an address.

    The PV, the certificates and their badges are rendered on every core (a process pool,
    ``documents.pool``) while this process stores each one as it arrives and mails its
    candidate, one candidate per transaction: a restart resumes where it stopped.
    """
    from documents.pool import render_iter
    from documents.service import get_document

    with session_scope(engine) as db:
        jury = db.get(JurySession, jury_id)
        ctx = contexts.of(db, jury)
        pv_missing = get_document(db, entity_type=ENTITY, entity_id=jury.id, kind="pv_jury", version=pv_version) is None
        recipients = _notified_candidates(db, jury, pv_version)
        entries = [c for c in ctx["jury"]["candidates"] if recipients is None or c["id"] in recipients]
        pending = _pending_certificates(db, jury, [e["id"] for e in entries])
        reference = jury.reference
    work = ([(letter_template("pv_jury"), ctx, [])] if pv_missing else []) + list(pending.values())
    rendered = iter(render_iter(work))
    if pv_missing:
        pv_pdf, _ = next(rendered)
        with session_scope(engine) as db:
            fx = Effects(db, ENTITY, jury_id, reference)
            fx.letter(ctx, "pv_jury", pv_version, pdf=pv_pdf, template=f"{letter_template('pv_jury')}.html")
            out.documents += fx.documents
    by_structure: dict[int, list[dict]] = {}
    for entry in entries:  # one transaction per candidate: a restart resumes where it stopped
        made = None
        if entry["id"] in pending:
            _, context, jobs = pending[entry["id"]]
            pdf, images = next(rendered)
            made = (context, pdf, [(job[0], image) for job, image in zip(jobs, images, strict=True)])
        with session_scope(engine) as db:
            jury = db.get(JurySession, jury_id)
            document, certificate_ctx, documents, badges = _certificate_document(db, jury, entry["id"], made)
            out.documents += documents
            if certificate_ctx and certificate_ctx["number"] not in out.certificates:
                out.certificates.append(certificate_ctx["number"])
            fx = Effects(db, ENTITY, jury.id, jury.reference)
            if entry["email"]:
                fx.mail(
                    ctx,
                    f"results:c{entry['id']}:v{pv_version}",
                    "jury/resultats_jury",
                    [entry["email"]],
                    attach=[document, *badges] if document else [],
                    extra={
                        "candidate": entry,
                        "certificate": certificate_ctx,
                        "recipient_name": "",
                        "action_url": certificate_ctx["verification_url"] if certificate_ctx else "",
                    },
                )
            out.mails += fx.mails
        by_structure.setdefault(entry["structure_id"], []).append(
            {**entry, "certificate": certificate_ctx, "document": document}
        )
    for structure_id, listed in by_structure.items():
        with session_scope(engine) as db:
            jury = db.get(JurySession, jury_id)
            fx = Effects(db, ENTITY, jury.id, jury.reference)
            documents = [c["document"] for c in listed if c["document"] is not None]
            attach = documents if len(documents) <= RESULTS_ATTACHMENTS_MAX else []
            fx.mail(
                ctx,
                f"results:s{structure_id}:v{pv_version}",
                "jury/resultats_jury_structure",
                [listed[0]["structure_email"]],
                attach=attach,
                extra={
                    "structure_name": listed[0]["structure_name"],
                    "listed": [{k: v for k, v in c.items() if k != "document"} for c in listed],
                    "documents_attached": bool(attach),
                },
            )
            out.mails += fx.mails


def fulfil_step(db: Session, effect: OwedEffect, contexts: _RunContexts | None = None) -> list[Effects]:
    """What one step of the session (or of an appeal against it) owes, whatever its state now.

    The PV and results of a signature are done apart (``_results``: many transactions); here a
    signature step owes nothing more once they are. ``contexts``: the run's, shared by its steps.
    """
    settings = get_settings()
    contexts = contexts or _RunContexts()
    if effect.entity_type == APPEAL_ENTITY:
        return [appeal_step(db, effect)]
    jury = db.get(JurySession, effect.dossier_id)
    fx = Effects(db, ENTITY, jury.id, jury.reference)
    if effect.step == "convene":
        _convocations(db, jury, contexts.of(db, jury), fx)
    elif effect.step == "flag" and jury.flag_reason:
        digest = hashlib.sha256(jury.flag_reason.encode()).hexdigest()[:12]
        fx.mail(
            contexts.of(db, jury),
            f"flag:{digest}",
            "jury/jury_signale",
            [settings.officers_mailbox],
            extra={"flag_reason": jury.flag_reason},
        )
    elif effect.step == "close_deliberation":
        ctx = contexts.of(db, jury)
        pv_version = effect.payload.get("pv_version") or jury.pv_version
        president = [m["email"] for m in ctx["jury"]["members"] if m["is_president"]]
        fx.mail(ctx, f"pv-to-sign:v{pv_version}", "jury/pv_a_signer", president, cc=[settings.officers_mailbox])
    return [fx]


def advance_jury(session_id: int, engine: Engine | None = None) -> JuryOutcome:
    """Fulfil what the session's steps owe (plain function; Prefect wraps it).

    A signature (or a PV amended after an appeal) owes the PV, the documents and the results
    e-mails: they are produced before its owed row is marked done, then the session is marked
    « résultats notifiés ».
    """
    out = JuryOutcome(session_id)
    with session_scope(engine) as db:
        if db.get(JurySession, session_id) is None:
            raise LookupError(f"jury session {session_id} does not exist")
        signatures = [
            (e.id, e.payload.get("pv_version")) for e in owed(db, PROCESS, session_id) if e.step in SIGNATURE_STEPS
        ]
    contexts = _RunContexts()
    for _, pv_version in signatures:
        _results(engine, session_id, pv_version or 1, out, contexts)
    fulfil_owed(engine, PROCESS, session_id, lambda db, effect: fulfil_step(db, effect, contexts)).add_to(out)
    with session_scope(engine) as db:
        jury = db.get(JurySession, session_id)
        if signatures and jury.state == JuryState.pv_signed.value:
            try:
                svc.notify_results(db, session_id)
                out.transitions.append("notify_results")
            except Conflict:
                db.rollback()
    with session_scope(engine) as db:
        out.state = db.get(JurySession, session_id).state
    return out


def juries_needing_attention(engine: Engine | None = None) -> list[int]:
    """Sessions with effects still owed (lost runs), and signed ones whose results are not notified."""
    return open_or_owed(engine, PROCESS, JurySession, [JuryState.pv_signed.value])


# --- Prefect -------------------------------------------------------------------------------


advance_jury_task = advance_task("advance-jury", advance_jury, retries=1)


@dossier_flow("jury-session", process="jury")
async def jury_session_flow(session_id: int) -> dict:
    """Drive jury session ``session_id`` as far as it can go without a human."""
    # The results e-mails leave as their documents are stored, while the rest is still rendered.
    outcome, early = await while_delivering(advance_jury_task(session_id))
    delivery = await deliver_task()
    delivery["sent"] += early.sent
    delivery["retried"] += early.retried
    delivery["failed"] += early.failed
    get_run_logger().info(
        "jury %s: state=%s documents=%d mails=%d certificates=%d",
        session_id,
        outcome["state"],
        len(outcome["documents"]),
        len(outcome["mails"]),
        len(outcome["certificates"]),
    )
    return {**outcome, "delivery": delivery}


jury_sweep_flow = sweep_flow("jury-sweep", juries_needing_attention, advance_jury_task)
