"""The appeals' steps: a recours filed against a jury's decision gets its acknowledgement, and its
decision its letter (« Décision sur votre recours ») and e-mail, to the structure and the candidate
with the officers in copy.

An appeal has no flow of its own: its owed effects are recorded under the jury session it
challenges (process ``jury``), so the session's flow (:mod:`flows.jury`) fulfils them with
:func:`appeal_step`; an upheld appeal's amended PV and new results are the session's own.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from certification.appeals import service as appeal_svc
from certification.appeals.models import Appeal
from certification.appeals.states import APPEAL_STATE_LABELS, AppealState
from certification.candidates.models import Candidate
from certification.effects import OwedEffect
from certification.jury.models import JurySession
from certification.models import Certification, Structure
from certification.settings import get_settings
from flows.context import letter_context
from flows.effects import Effects

APPEAL_ENTITY = Appeal.__tablename__
APPEAL_FINAL = {AppealState.inadmissible: "inadmissible", AppealState.rejected: "rejected", AppealState.upheld: "upheld"}


def letter_template(kind: str) -> str:
    """The template of the appeals' letter ``kind`` (its document kind stays ``kind``)."""
    return f"appeals/{kind}.html"


def appeal_context(db: Session, appeal: Appeal) -> dict[str, Any]:
    jury = db.get(JurySession, appeal.session_id)
    candidate = db.get(Candidate, appeal.candidate_id)
    cert = db.get(Certification, jury.certification_id)
    return letter_context(
        recours={
            "reference": appeal.reference, "candidate_name": f"{candidate.first_names} {candidate.last_name}",
            "candidate_sex": candidate.sex,
            "structure_name": db.get(Structure, candidate.structure_id).name,
            "jury_reference": jury.reference, "jury_date": jury.scheduled_at.date(),
            "certification_title": cert.title, "filed_at": appeal.filed_at, "grounds": appeal.grounds,
            "state": appeal.state, "state_label": APPEAL_STATE_LABELS[appeal.state],
            "decision": APPEAL_FINAL.get(AppealState(appeal.state)), "decision_reason": appeal.decision_reason,
            "deadline": appeal_svc.deadline_of(jury),
        },
    )


def appeal_step(db: Session, effect: OwedEffect) -> Effects:
    """What one step of an appeal owes: its filing the acknowledgement, its decision the letter and
    its e-mail (each once: keyed by the appeal and its name)."""
    settings = get_settings()
    appeal = db.get(Appeal, effect.entity_id)
    ctx = appeal_context(db, appeal)
    candidate = db.get(Candidate, appeal.candidate_id)
    to = [db.get(Structure, candidate.structure_id).email, candidate.email]
    fx = Effects(db, APPEAL_ENTITY, appeal.id, appeal.reference)
    if effect.step == "file":
        fx.mail(ctx, "received", "appeals/recours_recu", to, cc=[settings.officers_mailbox])
    else:
        letter = fx.letter(ctx, "recours_decision", template=letter_template("recours_decision"))
        fx.mail(ctx, "decision", "appeals/recours_decision", to, cc=[settings.officers_mailbox], attach=[letter])
    return fx
