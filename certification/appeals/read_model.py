"""The one read model of an appeal (issue #11): the recours, the jury session it challenges and
its certification, the candidate and his structure, and the candidate's registration in the session
(blocs assessed, outcome) with his results there.

The API's response (:func:`api.appeals.router.appeal_out`), the back-office page
(:func:`api.appeals.pages.appeal_context`) and the letters' and e-mails' context
(:func:`flows.appeals.appeal_context`) are mapped from one :class:`AppealView`; none of them reads
these rows again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from certification.appeals.models import Appeal
from certification.appeals.service import deadline_of
from certification.candidates.models import Candidate
from certification.jury import queries as jury_queries
from certification.jury.models import JuryCandidate, JurySession
from certification.models import Certification, Structure
from certification.reading import referenced
from certification.services.referential import bloc_titles


@dataclass(frozen=True)
class AppealView:
    """An appeal as every reader shows it (see the module's docstring)."""

    appeal: Appeal
    jury: JurySession
    certification: Certification
    candidate: Candidate
    structure: Structure
    registration: JuryCandidate | None  # the candidate in the session: blocs assessed, outcome
    results: Mapping[str, str]  # bloc code -> the session's result, in the order recorded
    bloc_titles: Mapping[str, str]  # as the candidate's version of the référentiel words them

    @property
    def candidate_name(self) -> str:
        return f"{self.candidate.first_names} {self.candidate.last_name}"

    @property
    def deadline(self) -> date | None:
        """The last day to file an appeal against the session's results."""
        return deadline_of(self.jury)


def appeal_view(db: Session, appeal: Appeal) -> AppealView:
    """The appeal read at once."""
    jury = referenced(db, JurySession, appeal.session_id)
    candidate = referenced(db, Candidate, appeal.candidate_id)
    registration = db.exec(
        select(JuryCandidate).where(
            JuryCandidate.session_id == appeal.session_id, JuryCandidate.candidate_id == appeal.candidate_id
        )
    ).first()
    results = {d.bloc_code: d.result for d in jury_queries.deliberations_of(db, appeal.session_id, appeal.candidate_id)}
    return AppealView(
        appeal=appeal,
        jury=jury,
        certification=referenced(db, Certification, jury.certification_id),
        candidate=candidate,
        structure=referenced(db, Structure, candidate.structure_id),
        registration=registration,
        results=results,
        bloc_titles=bloc_titles(db, candidate),
    )
