"""The jury session flow (re-entrant from the database state); the results of a signed PV (its
documents and e-mails, spread over the workers in the scale-out mode) are in
:mod:`flows.jury_results`; the certificates' documents and the certificate flow (duplicates,
corrections) in :mod:`flows.certificates`.

A jury run sends the convocations (.ics), asks the president to sign, and once the PV is signed
(the signature applied the results and numbered the certificates and attestations in its own
transaction) renders the PV and every document, notifies each candidate's results, then marks
the results notified. Each step is keyed: killed at candidate 77 of 130 and restarted, it finishes
the other 53 and redoes nothing. Appeals of the session get their acknowledgement and decision
letters from the same flow (their steps in :mod:`flows.appeals`).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from email.utils import parseaddr
from typing import Any

from prefect import get_run_logger
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from certification.db import session_scope
from certification.errors import Conflict
from certification.jury.models import JurySession
from certification.appeals.states import AppealState
from certification.jury.states import COLLEGES, DELIBERATION_RESULTS, OUTCOME_LABELS, JuryState
from certification.jury import service as svc
from certification.jury.read_model import CandidateView, MemberView, jury_view
from certification.appeals.models import Appeal
from certification.settings import get_settings
from documents.french import agree
from flows.common import advance_task, deliver_task, dossier_flow, sweep_flow, while_delivering
from certification.effects import OwedEffect, owed
from flows.appeals import APPEAL_ENTITY, appeal_step
from flows.context import letter_context
from flows.effects import Effects, fulfil_owed, open_or_owed
from flows.jury_results import JuryOutcome, results
from notifications.ics import build_invitation, ics_attachment

ENTITY = JurySession.__tablename__
PROCESS = "jury"
SIGNATURE_STEPS = ("sign_pv", "amend_after_appeal")
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
        results(engine, session_id, pv_version or 1, out, contexts.of)
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
