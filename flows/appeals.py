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

from certification.appeals.models import Appeal
from certification.appeals.read_model import AppealView, appeal_view
from certification.appeals.states import APPEAL_STATE_LABELS, AppealState
from certification.effects import OwedEffect
from certification.settings import get_settings
from flows.context import letter_context, state_fields
from flows.effects import Effects

APPEAL_ENTITY = Appeal.__tablename__
APPEAL_FINAL = {
    AppealState.inadmissible: "inadmissible",
    AppealState.rejected: "rejected",
    AppealState.upheld: "upheld",
}


def letter_template(kind: str) -> str:
    """The template of the appeals' letter ``kind`` (its document kind stays ``kind``)."""
    return f"appeals/{kind}.html"


def appeal_context(view: AppealView) -> dict[str, Any]:
    """The appeal as its letter and e-mails show it, mapped from its read model
    (:mod:`certification.appeals.read_model`)."""
    appeal, jury = view.appeal, view.jury
    return letter_context(
        recours={
            "reference": appeal.reference,
            "candidate_name": view.candidate_name,
            "candidate_sex": view.candidate.sex,
            "structure_name": view.structure.name,
            "jury_reference": jury.reference,
            "jury_date": jury.scheduled_at.date(),
            "certification_title": view.certification.title,
            "filed_at": appeal.filed_at,
            "grounds": appeal.grounds,
            **state_fields(appeal, APPEAL_STATE_LABELS),
            "decision": APPEAL_FINAL.get(AppealState(appeal.state)),
            "decision_reason": appeal.decision_reason,
            "deadline": view.deadline,
        },
    )


def appeal_step(db: Session, effect: OwedEffect) -> Effects:
    """What one step of an appeal owes: its filing the acknowledgement, its decision the letter and
    its e-mail (each once: keyed by the appeal and its name)."""
    settings = get_settings()
    appeal = db.get(Appeal, effect.entity_id)
    view = appeal_view(db, appeal)
    ctx = appeal_context(view)
    to = [view.structure.email, view.candidate.email]
    fx = Effects(db, APPEAL_ENTITY, appeal.id, appeal.reference)
    if effect.step == "file":
        fx.mail(ctx, "received", "appeals/recours_recu", to, cc=[settings.officers_mailbox])
    else:
        letter = fx.letter(ctx, "recours_decision", template=letter_template("recours_decision"))
        fx.mail(ctx, "decision", "appeals/recours_decision", to, cc=[settings.officers_mailbox], attach=[letter])
    return fx
