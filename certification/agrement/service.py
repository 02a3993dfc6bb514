"""Services of the agrément requests: submission (initial or renewal, one way of creating a
request), the instruction, the decision; each applies one transition and its audit event in the
caller's transaction (the caller commits). The life of a granted agrément is in
:mod:`certification.agrement.lifecycle`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, select

from certification.agrement.lifecycle import mark_renewed
from certification.agrement.models import Agrement, AgrementRequest, Piece
from certification.agrement.queries import get_agrement, get_request, open_renewal_of, open_request_for, pieces_of
from certification.agrement.states import (
    AGREMENT_REQUEST,
    AGREMENT_STATE_LABELS,
    PIECE_KINDS,
    VALID_AGREMENT_STATES,
    AgrementState,
    RequestState,
)
from certification.audit import SYSTEM, Actor, apply_transition, compare_and_set, record_event
from certification.clock import now, today
from certification.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from certification.models import Certification, LinkKind, Role, Structure
from certification.numbering import next_value
from certification.services import conflicts
from certification.services.files import PieceIn
from certification.services.referential import blocs_of, get_certification
from certification.settings import get_settings
from certification.siret import validate_siret
from certification.training.queries import epsp_trained

ENTITY = AgrementRequest.__tablename__


@dataclass(frozen=True)
class StructureIn:
    siret: str
    name: str
    region: str = ""
    address: str = ""
    email: str = ""


def _acting_on(db: Session, actor: Actor, request_id: int) -> AgrementRequest:
    request = get_request(db, actor, request_id)
    if actor.role is Role.structure:
        raise Forbidden("Une structure ne peut pas agir sur la demande.", code="role_not_allowed")
    return request


# --- writing -------------------------------------------------------------------------------


# Messages and bounds of the instruction, shared with the back-office's forms.
PIECES_REQUIRED = "Joignez au moins le dossier de demande (PDF)."
EMPTY_COMPLEMENTS = "Joignez au moins une pièce ou un commentaire."
AVIS_REASON_REQUIRED = "Un avis défavorable doit être motivé."
DEADLINE_DAYS_MIN, DEADLINE_DAYS_MAX = 1, 180
BAD_DEADLINE = f"Le délai de réponse doit être compris entre {DEADLINE_DAYS_MIN} et {DEADLINE_DAYS_MAX} jours."


def validate_pieces(pieces: Sequence[PieceIn]) -> None:
    """At most ``upload_max_files`` pieces per sending, each of a known kind."""
    limit = get_settings().upload_max_files
    if len(pieces) > limit:
        raise ValidationFailed(f"{limit} pièces au plus par envoi.", code="too_many_files")
    for piece in pieces:
        if piece.kind not in PIECE_KINDS:
            raise ValidationFailed(
                f"Type de pièce inconnu : « {piece.kind} ». Types acceptés : {', '.join(PIECE_KINDS)}.",
                code="unknown_piece_kind",
            )


def add_pieces(db: Session, request: AgrementRequest, actor: Actor, pieces: Sequence[PieceIn]) -> None:
    """Attach stored ``pieces`` to the request's current round (in the caller's transaction)."""
    for piece in pieces:
        db.add(
            Piece(
                request_id=request.id,
                round=request.round,
                kind=piece.kind,
                original_name=piece.original_name,
                content_type=piece.content_type,
                size=piece.size,
                sha256=piece.sha256,
                relative_path=piece.relative_path,
                uploaded_by_id=actor.user_id,
            )
        )


def _upsert_structure(db: Session, data: StructureIn) -> Structure:
    siret = validate_siret(data.siret)
    name = data.name.strip()
    if not name:
        raise ValidationFailed("Le nom de la structure est obligatoire.", code="structure_name_required")
    structure = db.exec(select(Structure).where(Structure.siret == siret)).first()
    if structure is None:
        structure = Structure(
            siret=siret, name=name, region=data.region.strip(), address=data.address.strip(),
            email=data.email.strip(),
        )
        db.add(structure)
        db.flush()
    return structure


def _resolve_scope(db: Session, cert: Certification, scope: Sequence[str] | None) -> list[str]:
    codes = [b.code for b in blocs_of(db, cert.id)]
    if not scope:
        return codes
    unknown = sorted(set(scope) - set(codes))
    if unknown:
        raise ValidationFailed(
            f"Blocs inconnus pour {cert.title} : {', '.join(unknown)}.", code="unknown_bloc"
        )
    return [c for c in codes if c in set(scope)]


def submit_request(
    db: Session,
    actor: Actor,
    *,
    structure: StructureIn,
    certification_code: str,
    pieces: Sequence[PieceIn],
    scope: Sequence[str] | None = None,
    motivation: str = "",
    previous_agrement_id: int | None = None,
) -> AgrementRequest:
    """A mandataire files an agrément request for a structure, with its pieces."""
    if actor.role is not Role.mandataire:
        raise Forbidden("Seul un mandataire peut déposer une demande d'agrément.", code="role_not_allowed")
    validate_pieces(pieces)
    if not pieces:
        raise ValidationFailed(PIECES_REQUIRED, code="pieces_required")
    cert = get_certification(db, certification_code)
    struct = _upsert_structure(db, structure)
    open_request = open_request_for(db, struct.id, cert.id)
    if open_request is not None:
        raise Conflict(
            f"Une demande est déjà en cours pour cette structure et cette certification "
            f"({open_request.reference}).",
            code="request_already_open",
            details={"reference": open_request.reference},
        )
    kind = "initial"
    if previous_agrement_id is not None:
        previous = db.get(Agrement, previous_agrement_id)
        if previous is None or previous.structure_id != struct.id or previous.certification_id != cert.id:
            raise ValidationFailed("Agrément à renouveler introuvable pour cette structure.", code="bad_renewal")
        _check_renewable(previous)
        kind = "renewal"
    return create_request(
        db, actor, structure_id=struct.id, certification_id=cert.id, kind=kind,
        previous_agrement_id=previous_agrement_id, scope=_resolve_scope(db, cert, scope),
        motivation=motivation, pieces=pieces,
    )


def create_request(
    db: Session,
    actor: Actor,
    *,
    structure_id: int,
    certification_id: int,
    kind: str,
    previous_agrement_id: int | None,
    scope: list[str],
    motivation: str,
    pieces: Sequence[PieceIn],
    copied: Sequence[Piece] = (),
    data: dict | None = None,
) -> AgrementRequest:
    """A submitted request (``initial`` or ``renewal``), numbered, with its pieces in round 1 (the
    ``copied`` ones of a previous request first, same stored files), the mandataire linked to the
    structure, and its audit row. The caller has checked that it may be made."""
    year = now().year
    reference = f"DA-{year}-{next_value(db, 'agrement_request', year):05d}"
    request = AgrementRequest(
        reference=reference, structure_id=structure_id, certification_id=certification_id,
        mandataire_id=actor.user_id, kind=kind, previous_agrement_id=previous_agrement_id,
        state=RequestState.submitted.value, scope=scope, motivation=motivation.strip(),
    )
    db.add(request)
    db.flush()
    for piece in copied:
        db.add(Piece(
            request_id=request.id, round=1, kind=piece.kind, original_name=piece.original_name,
            content_type=piece.content_type, size=piece.size, sha256=piece.sha256,
            relative_path=piece.relative_path, uploaded_by_id=piece.uploaded_by_id, uploaded_at=piece.uploaded_at,
        ))
    add_pieces(db, request, actor, pieces)
    conflicts.link(db, actor.user_id, structure_id, LinkKind.mandataire)
    record_event(
        db, entity_type=ENTITY, entity_id=request.id, action="submit", actor=actor, from_state=None,
        to_state=request.state, data={"reference": reference, "pieces": len(pieces), "kind": kind, **(data or {})},
    )
    db.flush()
    return request


def request_complements(
    db: Session, actor: Actor, request_id: int, message: str, *, deadline_days: int | None = None
) -> AgrementRequest:
    request = _acting_on(db, actor, request_id)
    days = deadline_days if deadline_days is not None else get_settings().complements_deadline_days
    if not DEADLINE_DAYS_MIN <= days <= DEADLINE_DAYS_MAX:
        raise ValidationFailed(BAD_DEADLINE, code="bad_deadline")
    deadline = today() + timedelta(days=days)
    apply_transition(
        db, AGREMENT_REQUEST, request, "request_complements", actor,
        reason=message.strip() if message else message,
        data={"deadline": deadline.isoformat(), "round": request.round},
        changes={
            "complement_request": (message or "").strip(),
            "complements_requested_at": now(),
            "complements_deadline": deadline,
        },
    )
    return request


def provide_complements(
    db: Session, actor: Actor, request_id: int, *, comment: str = "", pieces: Sequence[PieceIn] = ()
) -> AgrementRequest:
    request = _acting_on(db, actor, request_id)
    if actor.role is Role.mandataire and not pieces and not comment.strip():
        raise ValidationFailed(EMPTY_COMPLEMENTS, code="empty_complements")
    validate_pieces(pieces)
    new_round = request.round + 1
    apply_transition(
        db, AGREMENT_REQUEST, request, "provide_complements", actor,
        reason=comment.strip() or None,
        data={"round": new_round, "pieces": len(pieces)},
        changes={"round": new_round, "last_submitted_at": now()},
    )
    add_pieces(db, request, actor, pieces)
    db.flush()
    return request


def declare_admissible(
    db: Session, actor: Actor, request_id: int, comment: str = "", *, avis_deadline_days: int | None = None,
) -> AgrementRequest:
    request = _acting_on(db, actor, request_id)
    kinds = {p.kind for p in pieces_of(db, request.id)}
    apply_transition(
        db, AGREMENT_REQUEST, request, "declare_admissible", actor,
        reason=comment.strip() or None,
        context={"piece_kinds": kinds, "epsp_trained": epsp_trained(db, request.structure_id)},
    )
    # Opening the review needs nothing from outside: it happens in the same transaction, so the
    # mandataire may give the avis as soon as the officer's answer is back.
    return start_review(db, SYSTEM, request.id, avis_deadline_days=avis_deadline_days)


def start_review(
    db: Session, actor: Actor, request_id: int, *, avis_deadline_days: int | None = None
) -> AgrementRequest:
    request = _acting_on(db, actor, request_id)
    days = avis_deadline_days if avis_deadline_days is not None else get_settings().avis_deadline_days
    deadline = today() + timedelta(days=days)
    apply_transition(
        db, AGREMENT_REQUEST, request, "start_review", actor,
        data={"avis_deadline": deadline.isoformat()}, changes={"avis_deadline": deadline},
    )
    return request


AVIS_VALUES = {"favorable": "favorable", "defavorable": "défavorable"}


def give_avis(db: Session, actor: Actor, request_id: int, avis: str, comment: str = "") -> AgrementRequest:
    request = _acting_on(db, actor, request_id)
    if avis not in AVIS_VALUES:
        raise ValidationFailed("L'avis doit être « favorable » ou « defavorable ».", code="bad_avis")
    if avis == "defavorable" and not comment.strip():
        raise ValidationFailed(AVIS_REASON_REQUIRED, code="reason_required")
    apply_transition(
        db, AGREMENT_REQUEST, request, "give_avis", actor,
        reason=comment.strip() or None, data={"avis": avis},
        changes={"avis": avis, "avis_comment": comment.strip() or None, "avis_at": now()},
    )
    return request


def grant(
    db: Session,
    actor: Actor,
    request_id: int,
    *,
    start_date: date | None = None,
    end_date: date | None = None,
    scope: Sequence[str] | None = None,
    comment: str = "",
) -> tuple[AgrementRequest, Agrement]:
    """Grant the agrément: the request is decided and the agrément created, in one transaction.

    On a renewal request the new agrément starts, by default, the day after the end of the
    previous one (today if that day is past), and the previous one is marked renewed in the
    same transaction.
    """
    request = _acting_on(db, actor, request_id)
    previous = _renewed_agrement(db, request)
    start = start_date or (_renewal_start(previous) if previous else today())
    years = get_settings().agrement_validity_years
    end = end_date or _add_years(start, years) - timedelta(days=1)
    if end <= start:
        raise ValidationFailed("La date de fin doit suivre la date de début.", code="bad_dates")
    cert = db.get(Certification, request.certification_id)
    granted_scope = _resolve_scope(db, cert, scope) if scope else list(request.scope)
    if not set(granted_scope) <= set(request.scope):
        raise ValidationFailed("Le périmètre accordé dépasse le périmètre demandé.", code="scope_too_wide")
    apply_transition(
        db, AGREMENT_REQUEST, request, "grant", actor,
        reason=comment.strip() or None,
        data={"start_date": start.isoformat(), "end_date": end.isoformat(), "scope": granted_scope},
        changes={"decided_at": now(), "decided_by_id": actor.user_id, "decision_reason": comment.strip() or None},
    )
    year = now().year
    number = f"AGR-{cert.code.removeprefix('CQP_')}-{year}-{next_value(db, 'agrement', year):04d}"
    agrement = Agrement(
        number=number,
        structure_id=request.structure_id,
        certification_id=request.certification_id,
        request_id=request.id,
        state=AgrementState.active.value,
        start_date=start,
        end_date=end,
        scope=granted_scope,
    )
    db.add(agrement)
    db.flush()
    data = {"number": number, "request": request.reference}
    if previous is not None:
        data["renews"] = previous.number
    record_event(
        db, entity_type=Agrement.__tablename__, entity_id=agrement.id, action="create",
        actor=actor, from_state=None, to_state=agrement.state, data=data,
    )
    if previous is not None and previous.state in VALID_AGREMENT_STATES:
        mark_renewed(db, actor, previous.id, by_agrement_id=agrement.id)
    db.flush()
    return request, agrement


def _renewed_agrement(db: Session, request: AgrementRequest) -> Agrement | None:
    """The agrément a renewal request renews; it must not be suspended or withdrawn."""
    if request.previous_agrement_id is None:
        return None
    previous = db.get(Agrement, request.previous_agrement_id)
    if previous.state in (AgrementState.suspended, AgrementState.withdrawn, AgrementState.renewed):
        raise InvalidTransition(
            f"Renouvellement impossible : l'agrément n° {previous.number} est "
            f"« {AGREMENT_STATE_LABELS[previous.state]} ».",
            code="not_renewable", details={"state": previous.state},
        )
    return previous


def _renewal_start(previous: Agrement) -> date:
    """The day after the previous agrément ends, or today if that day is already past."""
    return max(previous.end_date + timedelta(days=1), today())


def refuse(db: Session, actor: Actor, request_id: int, reason: str) -> AgrementRequest:
    request = _acting_on(db, actor, request_id)
    apply_transition(
        db, AGREMENT_REQUEST, request, "refuse", actor, reason=(reason or "").strip(),
        changes={"decided_at": now(), "decided_by_id": actor.user_id, "decision_reason": (reason or "").strip()},
    )
    return request


def close_unanswered(db: Session, actor: Actor, request_id: int) -> AgrementRequest:
    request = _acting_on(db, actor, request_id)
    deadline = request.complements_deadline
    reason = (
        f"Aucune réponse à la demande de compléments avant le {deadline:%d/%m/%Y}." if deadline else
        "Aucune réponse à la demande de compléments."
    )
    apply_transition(
        db, AGREMENT_REQUEST, request, "close_unanswered", actor, reason=reason,
        context={"today": today()}, changes={"decided_at": now(), "decision_reason": reason},
    )
    return request


def withdraw(db: Session, actor: Actor, request_id: int, reason: str) -> AgrementRequest:
    request = _acting_on(db, actor, request_id)
    apply_transition(db, AGREMENT_REQUEST, request, "withdraw", actor, reason=(reason or "").strip())
    return request


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


# --- renewal ---------------------------------------------------------------------------------


def _check_renewable(agrement: Agrement) -> None:
    """A renewal (a submission of kind ``renewal``) is asked while the agrément is in force or
    arriving at échéance."""
    if agrement.state not in VALID_AGREMENT_STATES:
        raise Conflict(
            f"Renouvellement impossible : l'agrément est « {AGREMENT_STATE_LABELS[agrement.state]} ».",
            code="not_renewable", details={"state": agrement.state},
        )


def _claim(db: Session, agrement: Agrement) -> None:
    """Compare-and-set on the agrément's version: of two concurrent renewal requests, one wins."""
    compare_and_set(
        db, agrement, {"version": agrement.version + 1, "updated_at": now()},
        conflict="L'agrément a été modifié entre-temps par une autre action ; rechargez-le et recommencez.",
    )


def request_renewal(
    db: Session,
    actor: Actor,
    agrement_id: int,
    *,
    pieces: Sequence[PieceIn] = (),
    motivation: str = "",
) -> AgrementRequest:
    """A mandataire asks for the renewal of an agrément he can see, reusing its file.

    The new request (kind ``renewal``) takes the structure, certification and scope of the
    agrément; the pieces of the previous request are copied (same stored files) and the new
    pieces added, all in round 1. Allowed while the agrément is in force or arriving at
    échéance, once: a second renewal cannot be opened while one is under way.
    """
    if actor.role is not Role.mandataire:
        raise Forbidden("Seul un mandataire peut demander le renouvellement d'un agrément.", code="role_not_allowed")
    agrement = get_agrement(db, actor, agrement_id)  # 404 when the mandataire may not see it
    _check_renewable(agrement)
    validate_pieces(pieces)
    pending = open_renewal_of(db, agrement.id)
    if pending is not None:
        raise Conflict(
            f"Une demande de renouvellement est déjà en cours ({pending.reference}).",
            code="renewal_already_open", details={"reference": pending.reference},
        )
    other = open_request_for(db, agrement.structure_id, agrement.certification_id)
    if other is not None:
        raise Conflict(
            f"Une demande est déjà en cours pour cette structure et cette certification ({other.reference}).",
            code="request_already_open", details={"reference": other.reference},
        )
    previous_pieces = pieces_of(db, agrement.request_id) if agrement.request_id else []
    if not previous_pieces and not pieces:
        raise ValidationFailed(PIECES_REQUIRED, code="pieces_required")
    _claim(db, agrement)
    request = create_request(
        db, actor, structure_id=agrement.structure_id, certification_id=agrement.certification_id,
        kind="renewal", previous_agrement_id=agrement.id, scope=list(agrement.scope), motivation=motivation,
        pieces=pieces, copied=previous_pieces,
        data={"previous_agrement": agrement.number, "pieces_copied": len(previous_pieces)},
    )
    record_event(
        db, entity_type=Agrement.__tablename__, entity_id=agrement.id, action="renewal_requested", actor=actor,
        data={"request_id": request.id, "reference": request.reference},
    )
    db.flush()
    return request
