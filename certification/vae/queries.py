"""What an actor may read of the dossiers de VAE: the officer and the system everything, a
structure those of its candidates, a jury member those of the candidates of his own sessions
(the livret 2 he assesses); 404 for any other dossier (its existence does not leak)."""

from __future__ import annotations

from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from certification.audit import Actor
from certification.candidates.models import Candidate
from certification.candidates.queries import candidates_of_jury_member
from certification.candidates.states import CandidateState
from certification.models import Role
from certification.jury.models import JuryCandidate, JuryMember, JurySession
from certification.jury.states import PENDING_JURY_STATES
from certification.vae.models import VaeDossier
from certification.vae.states import VAE_STATE_LABELS
from certification.visibility import in_state, seen_by, structure_of, visible_one


def _query(db: Session, actor: Actor) -> SelectOfScalar[VaeDossier]:
    return seen_by(actor, select(VaeDossier).order_by(VaeDossier.id.desc()), {
        Role.structure: lambda: VaeDossier.structure_id == (structure_of(db, actor) or -1),
        Role.jury_member: lambda: VaeDossier.candidate_id.in_(candidates_of_jury_member(actor.user_id)),
    }, refused="Votre rôle ne donne pas accès aux dossiers de VAE.")


def list_dossiers(db: Session, actor: Actor, *, state: str | None = None) -> list[VaeDossier]:
    return list(db.exec(in_state(_query(db, actor), VaeDossier, state, VAE_STATE_LABELS)))


def get_dossier(db: Session, actor: Actor, dossier_id: int) -> VaeDossier:
    """The dossier if ``actor`` may see it; 404 otherwise."""
    return visible_one(db, actor, _query, VaeDossier, dossier_id, missing="Dossier de VAE introuvable.",
                       code="vae_dossier_not_found")


def dossier_of_candidate(db: Session, candidate_id: int) -> VaeDossier | None:
    return db.exec(select(VaeDossier).where(VaeDossier.candidate_id == candidate_id)).first()


def vae_dossier_id(db: Session, candidate_id: int) -> int | None:
    """The id of the candidate's dossier de VAE (links from the candidate's page and read)."""
    return db.exec(select(VaeDossier.id).where(VaeDossier.candidate_id == candidate_id)).first()


def presides(db: Session, user_id: int | None, jury_session_id: int) -> bool:
    """Whether the user is the president of the jury session."""
    return db.exec(select(JuryMember.id).where(
        JuryMember.session_id == jury_session_id, JuryMember.user_id == user_id,
        JuryMember.is_president == True,  # noqa: E712 (SQL)
    )).first() is not None


def open_jury_session_of(db: Session, candidate_id: int) -> JurySession | None:
    """The jury session still pending (PV not signed, not cancelled) the candidate is presented to, if any."""
    return db.exec(select(JurySession).join(JuryCandidate, JuryCandidate.session_id == JurySession.id)
                        .where(JuryCandidate.candidate_id == candidate_id,
                               JurySession.state.in_([s.value for s in PENDING_JURY_STATES]))
                        .order_by(JurySession.id.desc())).first()


def sitting_holding(db: Session, candidate_id: int) -> JurySession | None:
    """The pending jury session that holds a candidate made ready for the jury by his livret 2, if
    any: his VAE may not be abandoned before its deliberation (he may be withdrawn from it)."""
    candidate = db.get(Candidate, candidate_id)
    if candidate is None or candidate.state != CandidateState.ready_for_jury:
        return None
    return open_jury_session_of(db, candidate_id)


def jury_sessions_of(db: Session, candidate_id: int) -> list[int]:
    """The jury sessions the candidate is presented to, most recent last."""
    return list(db.exec(select(JuryCandidate.session_id).where(JuryCandidate.candidate_id == candidate_id)
                             .order_by(JuryCandidate.id)))
