"""The one read model of a candidate (issue #11): the candidate, his structure, his certification,
the version of the référentiel he is on and its blocs' titles, his agrément, his evaluations, the
blocs he holds (and those he still misses), his jury sessions with his registration in each, his
certificates and attestations, and his dossier de VAE, read at once.

The API's response (:func:`api.candidates.router.candidate_out`) and the back-office page
(:func:`api.candidates.pages.candidate_context`) are mapped from one :class:`CandidateView`; none
of them reads these rows again. The candidate has no letter of his own (his jury's, his
certificate's and his appeal's documents are built from their own read models).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session, col, select

from certification.agrement.models import Agrement
from certification.candidates import queries as candidate_queries
from certification.candidates import service as candidates_svc
from certification.candidates.models import Candidate, Evaluation
from certification.jury.models import BlocAcquisition, Certificate, JuryCandidate, JurySession
from certification.models import Certification, CertificationVersion, Structure
from certification.reading import referenced, stored_id
from certification.services.referential import blocs_of
from certification.vae.queries import vae_dossier_id


@dataclass(frozen=True)
class CandidateView:
    """A candidate as every reader shows him (see the module's docstring)."""

    candidate: Candidate
    structure: Structure
    certification: Certification
    version: CertificationVersion | None
    agrement: Agrement
    bloc_titles: Mapping[str, str]  # as the candidate's version of the référentiel words them
    evaluations: tuple[Evaluation, ...]
    held: Mapping[str, BlocAcquisition]  # bloc code -> how he holds it today
    juries: tuple[tuple[JuryCandidate, JurySession], ...]  # his registrations, by the sessions' dates
    certificates: tuple[Certificate, ...]
    vae_dossier_id: int | None

    @property
    def missing(self) -> list[str]:
        """The blocs of his registration he does not hold (as :func:`candidates_svc.missing_blocs`)."""
        return [b for b in self.candidate.blocs if b not in self.held]


def candidate_view(db: Session, candidate: Candidate) -> CandidateView:
    """The candidate read at once."""
    candidate_id = stored_id(candidate)
    structure = referenced(db, Structure, candidate.structure_id)
    certification = referenced(db, Certification, candidate.certification_id)
    agrement = referenced(db, Agrement, candidate.agrement_id)
    version_id = candidate.certification_version_id
    juries = db.exec(
        select(JuryCandidate, JurySession).join(JurySession, col(JurySession.id) == JuryCandidate.session_id)
        .where(JuryCandidate.candidate_id == candidate_id).order_by(col(JurySession.scheduled_at))
    ).all()
    return CandidateView(
        candidate=candidate, structure=structure, certification=certification,
        version=db.get(CertificationVersion, version_id) if version_id else None, agrement=agrement,
        bloc_titles={b.code: b.title for b in blocs_of(db, stored_id(certification), version_id)},
        evaluations=tuple(candidate_queries.evaluations_of(db, candidate_id)),
        held=candidates_svc.held_blocs(db, candidate),
        juries=tuple((row, jury) for row, jury in juries),
        certificates=tuple(db.exec(select(Certificate).where(Certificate.candidate_id == candidate_id)
                                   .order_by(col(Certificate.id)))),
        vae_dossier_id=vae_dossier_id(db, candidate_id),
    )
