"""The one read model of a jury session (issue #11): the session, its certification, its members
and its candidates (with their structure, version of the référentiel, blocs, results, outcome and
document), read at once in a bounded number of queries.

The API's response (:func:`api.jury.router.jury_out`), the back-office page
(:func:`api.jury.pages.jury_page_context`) and the documents' context (:func:`flows.jury.jury_context`)
are mapped from one :class:`JuryView`; none of them reads these rows again. The appeals against the
session are not part of it (the jury's domain does not know them): the documents read the upheld
ones themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session, col, select

from certification.candidates.models import Candidate
from certification.candidates.service import held_by_equivalence
from certification.jury import queries as jury_queries
from certification.jury import service as jury_svc
from certification.jury.models import Certificate, JuryCandidate, JuryMember, JurySession
from certification.jury.states import JuryState
from certification.models import Bloc, Certification, CertificationVersion, Structure, User
from certification.reading import referenced, rows_by_id, stored_id
from certification.services.referential import candidate_blocs, version_of

# While the composition may still change, the view says what keeps the jury from deliberating.
DELIBERATING = (JuryState.planned, JuryState.convened, JuryState.composition_checked)


@dataclass(frozen=True)
class MemberView:
    """A member of the session and his account (name, e-mail, sex)."""

    member: JuryMember
    user: User


@dataclass(frozen=True)
class CandidateView:
    """A candidate of the session: his registration in it (blocs assessed, outcome), his structure,
    the version of the référentiel he is on and its blocs, his results, the session's valid
    certificate or attestation, and the blocs he holds by equivalence (when read)."""

    row: JuryCandidate
    candidate: Candidate
    structure: Structure
    version: CertificationVersion | None
    blocs: Mapping[str, Bloc]
    results: Mapping[str, str]
    certificate: Certificate | None
    equivalent: frozenset[str]

    @property
    def bloc_titles(self) -> dict[str, str]:
        """The titles of the blocs as the candidate's version words them."""
        return {code: bloc.title for code, bloc in self.blocs.items()}


@dataclass(frozen=True)
class JuryView:
    """A jury session as every reader shows it (see the module's docstring)."""

    jury: JurySession
    certification: Certification
    members: tuple[MemberView, ...]
    candidates: tuple[CandidateView, ...]
    signer: User | None
    composition_problems: tuple[str, ...]
    missing_results: tuple[str, ...]

    @property
    def president(self) -> MemberView | None:
        return next((m for m in self.members if m.member.is_president), None)

    @property
    def mixed_versions(self) -> bool:
        """Whether the candidates are not all on one version (the PV then names each one's)."""
        return len({c.version.id if c.version else None for c in self.candidates}) > 1

    @property
    def structures(self) -> list[Structure]:
        """The structures of the candidates, by id (the members must be independent of each)."""
        by_id = {c.candidate.structure_id: c.structure for c in self.candidates}
        return [by_id[i] for i in sorted(by_id)]

    @property
    def bloc_titles(self) -> dict[str, str]:
        """The titles of every candidate's blocs, each as his version words them."""
        return {code: title for c in self.candidates for code, title in c.bloc_titles.items()}


def _certificates(db: Session, jury_session_id: int) -> dict[int, Certificate]:
    """Candidate id -> the first valid certificate or attestation of the session."""
    certificates: dict[int, Certificate] = {}
    for c in db.exec(select(Certificate).where(
            Certificate.session_id == jury_session_id, Certificate.state == "valid").order_by(col(Certificate.id))):
        certificates.setdefault(c.candidate_id, c)
    return certificates


def _candidates(db: Session, jury: JurySession, *, equivalences: bool) -> tuple[CandidateView, ...]:
    """The session's candidates, their structures, results and certificates read at once; their
    version and its blocs read once per version (all the candidates of a version share them)."""
    session_id = stored_id(jury)
    rows = jury_queries.candidates_of(db, session_id)
    people: dict[int, Candidate] = rows_by_id(db, Candidate, {r.candidate_id for r in rows})
    structures: dict[int, Structure] = rows_by_id(db, Structure, {c.structure_id for c in people.values()})
    results = jury_queries.results_by_candidate(db, session_id)
    certificates = _certificates(db, session_id)
    versions: dict[tuple[int | None, int], tuple[CertificationVersion | None, dict[str, Bloc]]] = {}
    out = []
    for row in rows:
        candidate = people[row.candidate_id]
        key = (candidate.certification_version_id, candidate.certification_id)
        if key not in versions:
            versions[key] = (version_of(db, candidate), candidate_blocs(db, candidate))
        version, blocs = versions[key]
        equivalent = frozenset(held_by_equivalence(db, candidate, on=jury.scheduled_at.date())) \
            if equivalences else frozenset()
        out.append(CandidateView(row, candidate, structures[candidate.structure_id], version, blocs,
                                 results.get(row.candidate_id, {}), certificates.get(row.candidate_id), equivalent))
    return tuple(out)


def jury_view(db: Session, jury: JurySession, *, equivalences: bool = False, checks: bool = True) -> JuryView:
    """The session read at once. ``equivalences``: read too the blocs each candidate holds by
    equivalence (only the documents show them: a query or two per candidate); ``checks``: what keeps
    the jury from deliberating or closing, by the domain's rules (the API and the page show them,
    the documents do not)."""
    members = jury_queries.members_of(db, stored_id(jury))
    users: dict[int, User] = rows_by_id(db, User, {m.user_id for m in members} | (
        {jury.pv_signed_by_id} if jury.pv_signed_by_id else set()))
    certification = referenced(db, Certification, jury.certification_id)
    return JuryView(
        jury=jury, certification=certification,
        members=tuple(MemberView(m, users[m.user_id]) for m in members),
        candidates=_candidates(db, jury, equivalences=equivalences),
        signer=users[jury.pv_signed_by_id] if jury.pv_signed_by_id else None,
        composition_problems=tuple(jury_svc.composition_problems(db, jury)
                                   if checks and jury.state in DELIBERATING else ()),
        missing_results=tuple(jury_svc.missing_results(db, jury)
                              if checks and jury.state == JuryState.composition_checked else ()),
    )
