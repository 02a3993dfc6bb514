"""The one read model of an agrément request (issue #11): the request, its structure, its
certification and the titles of its blocs, its mandataire, its pieces (every round's), when each
round was submitted, and the agrément it issued.

The API's response (:func:`api.agrement.router.request_out`), the back-office page
(:func:`api.agrement.pages.request_context`) and the letters' and e-mails' context
(:func:`flows.context.request_context`) are mapped from one :class:`RequestView`; none of them
reads these rows again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlmodel import Session, col, select

from certification.agrement.models import Agrement, AgrementRequest, Piece
from certification.agrement.queries import agrement_of, pieces_of
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


T = TypeVar("T")


def _get(db: Session, model: type[T], ident: int) -> T:
    row = db.get(model, ident)
    assert row is not None  # a foreign key
    return row


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
        request=request, structure=_get(db, Structure, request.structure_id),
        certification=_get(db, Certification, request.certification_id),
        mandataire=_get(db, User, request.mandataire_id), agrement=agrement_of(db, request.id),
        pieces=pieces_of(db, request.id), complements_at=_complements_at(db, request),
        bloc_titles=_bloc_titles(db, request.certification_id),
    )
