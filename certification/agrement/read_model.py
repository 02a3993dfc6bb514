"""The read models of the agrément (issue #11), one per dossier.

- An agrément request: the request, its structure, its certification and the titles of its blocs,
  its mandataire, its pieces (every round's), when each round was submitted, and the agrément it
  issued. The API's response (:func:`api.agrement.router.request_out`), the back-office page
  (:func:`api.agrement.pages.request_context`) and the letters' and e-mails' context
  (:func:`flows.context.request_context`) are mapped from one :class:`RequestView`.
- A granted agrément: the agrément, its structure and certification, the request that granted it
  and its mandataire, the open renewal request, the agrément that renewed it, and why it is in its
  state. The API's response (:func:`api.agrement.router_agrements.agrement_detail`), the
  back-office page (:func:`api.agrement.pages.agrement_context`) and the e-mails' context
  (:func:`flows.agrement_lifecycle.agrement_context`) are mapped from one :class:`AgrementView`.

None of these readers reads the rows of its view again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from certification.agrement.models import Agrement, AgrementRequest, Piece
from certification.agrement.queries import agrement_of, open_renewal_of, pieces_of, successor_of
from certification.clock import today
from certification.reading import referenced
from certification.models import AuditEvent, Bloc, Certification, Structure, User
from certification.services.referential import blocs_of

@dataclass(frozen=True)
class RequestView:
    """An agrément request as every reader shows it (see the module's docstring)."""

    request: AgrementRequest
    agrement: Agrement | None  # the agrément the request issued, once granted
    structure: Structure
    certification: Certification
    mandataire: User
    pieces: Sequence[Piece]  # every round's, in the order uploaded
    complements_at: Sequence[datetime]  # when the compléments of rounds 2, 3… were provided
    bloc_titles: Mapping[str, str]  # code -> title as the version in force words it, else the latest having it

    @property
    def scope(self) -> list[str]:
        """The blocs covered: the agrément's once granted, else those requested."""
        return self.agrement.scope if self.agrement else self.request.scope

    def pieces_of_round(self, round: int) -> list[Piece]:
        return [p for p in self.pieces if p.round == round]

    def submitted_at(self, round: int) -> datetime | None:
        """When round ``round`` was submitted: the first submission, or its compléments."""
        if round <= 1:
            return self.request.submitted_at
        if len(self.complements_at) >= round - 1:
            return self.complements_at[round - 2]
        return self.request.last_submitted_at


@dataclass(frozen=True)
class AgrementView:
    """A granted agrément as every reader shows it (see the module's docstring)."""

    agrement: Agrement
    request: AgrementRequest | None  # the request that granted it
    mandataire: User | None  # that request's mandataire
    structure: Structure
    certification: Certification
    renewal: AgrementRequest | None  # its renewal request still open, if any
    successor: Agrement | None  # the agrément granted on its renewal, if any
    last_reason: str | None  # the reason of the transition that led to its current state

    @property
    def days_left(self) -> int:
        """Days until its end date (negative once past)."""
        return (self.agrement.end_date - today()).days


def _bloc_titles(db: Session, certification_id: int) -> dict[str, str]:
    """The certification's blocs titled as the version in force words them, else as the latest
    version having them (an agrément granted on an earlier version keeps its codes)."""
    blocs: dict[str, Bloc] = {b.code: b for b in db.exec(
        select(Bloc).where(Bloc.certification_id == certification_id).order_by(col(Bloc.id)))}
    blocs.update({b.code: b for b in blocs_of(db, certification_id)})
    return {code: bloc.title for code, bloc in blocs.items()}


def _complements_at(db: Session, request: AgrementRequest) -> list[datetime]:
    return list(db.exec(select(AuditEvent.at).where(
        AuditEvent.entity_type == AgrementRequest.__tablename__, AuditEvent.entity_id == request.id,
        AuditEvent.action == "provide_complements").order_by(col(AuditEvent.id))))


def request_view(db: Session, request: AgrementRequest) -> RequestView:
    """The request read at once."""
    assert request.id is not None  # a stored request
    return RequestView(
        request=request, structure=referenced(db, Structure, request.structure_id),
        certification=referenced(db, Certification, request.certification_id),
        mandataire=referenced(db, User, request.mandataire_id), agrement=agrement_of(db, request.id),
        pieces=pieces_of(db, request.id), complements_at=_complements_at(db, request),
        bloc_titles=_bloc_titles(db, request.certification_id),
    )


def _last_reason(db: Session, agrement: Agrement) -> str | None:
    """Why the agrément is in its current state (reason of the transition that led there)."""
    event = db.exec(
        select(AuditEvent)
        .where(
            AuditEvent.entity_type == Agrement.__tablename__, AuditEvent.entity_id == agrement.id,
            AuditEvent.to_state == agrement.state, col(AuditEvent.from_state).is_not(None),
        )
        .order_by(col(AuditEvent.id).desc())
    ).first()
    return event.reason if event else None


def agrement_view(db: Session, agrement: Agrement) -> AgrementView:
    """The agrément read at once."""
    assert agrement.id is not None  # a stored agrément
    request = db.get(AgrementRequest, agrement.request_id) if agrement.request_id else None
    return AgrementView(
        agrement=agrement, request=request, mandataire=db.get(User, request.mandataire_id) if request else None,
        structure=referenced(db, Structure, agrement.structure_id),
        certification=referenced(db, Certification, agrement.certification_id),
        renewal=open_renewal_of(db, agrement.id), successor=successor_of(db, agrement.id),
        last_reason=_last_reason(db, agrement),
    )
