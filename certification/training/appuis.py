"""Services of the appuis pédagogiques: requested by a structure (or an officer on its behalf),
entrusted to a formateur EPSP by an officer, visit scheduled and reported by the formateur.
Each applies one transition and its audit event in the caller's transaction (the caller commits)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from certification import visits
from certification.audit import Actor, apply_transition, record_event
from certification.clock import now
from certification.errors import Conflict, Forbidden, NotFound, ValidationFailed
from certification.models import LinkKind, Role, Structure
from certification.numbering import next_value
from certification.services.files import PieceIn
from certification.training.models import Appui
from certification.training.queries import active_formateur, get_appui
from certification.visibility import structure_of
from certification.training.states import APPUI, AppuiState

ENTITY = Appui.__tablename__


# --- request -------------------------------------------------------------------------------


def request_appui(
    db: Session, actor: Actor, *, subject: str, need: str, structure_id: int | None = None
) -> Appui:
    """A structure asks for an appui pédagogique (an officer may ask on its behalf)."""
    if actor.role is Role.structure:
        own = structure_of(db, actor)
        if structure_id not in (None, own):
            raise Forbidden("Une structure ne demande un appui que pour elle-même.", code="role_not_allowed")
        structure_id = own
    elif actor.role is not Role.officer:
        raise Forbidden("Seule une structure ou un·e chargé·e de certification demande un appui pédagogique.",
                        code="role_not_allowed")
    if structure_id is None:
        raise ValidationFailed("Indiquez la structure concernée.", code="structure_required")
    structure = db.get(Structure, structure_id)
    if structure is None:
        raise NotFound("Structure introuvable.", code="structure_not_found")
    if not subject.strip() or not need.strip():
        raise ValidationFailed("L'objet et la description du besoin sont obligatoires.", code="need_required")
    year = now().year
    appui = Appui(
        reference=f"AP-{year}-{next_value(db, 'appui', year):04d}",
        structure_id=structure.id, subject=subject.strip(), need=need.strip(), requested_by_id=actor.user_id,
        state=AppuiState.requested.value,
    )
    db.add(appui)
    db.flush()
    record_event(db, entity_type=ENTITY, entity_id=appui.id, action="request", actor=actor,
                 to_state=appui.state, reason=appui.subject,
                 data={"reference": appui.reference, "structure_id": structure.id, "structure": structure.name})
    return appui


# --- instruction ---------------------------------------------------------------------------


def _acting_on(db: Session, actor: Actor, appui_id: int) -> Appui:
    appui = get_appui(db, actor, appui_id)
    if actor.role is Role.structure:
        raise Forbidden("Une structure ne peut pas agir sur l'appui, seulement l'annuler tant qu'il n'est pas confié.",
                        code="role_not_allowed")
    return appui


def assign(db: Session, actor: Actor, appui_id: int, formateur_id: int) -> Appui:
    """Entrust the appui to a formateur EPSP (who is then linked to the structure)."""
    appui = _acting_on(db, actor, appui_id)
    if actor.role is not Role.officer:
        raise Forbidden("Seul·e un·e chargé·e de certification confie un appui à un formateur.",
                        code="role_not_allowed")
    formateur = active_formateur(db, formateur_id)
    if formateur.id == appui.formateur_id:
        raise Conflict(f"L'appui est déjà confié à {formateur.full_name}.", code="already_assigned")
    visits.entrust(db, APPUI, appui, actor, formateur, LinkKind.formateur)
    return appui


def schedule_visit(
    db: Session, actor: Actor, appui_id: int, *, visit_at: datetime, place: str, notes: str = "",
    duration_minutes: int | None = None,
) -> Appui:
    appui = _acting_on(db, actor, appui_id)
    visits.schedule(db, APPUI, appui, actor, visit_at=visit_at, place=place, notes=notes,
                    duration_minutes=duration_minutes)
    return appui


REPORT_REQUIRED = "Le compte rendu est obligatoire."


def report(db: Session, actor: Actor, appui_id: int, *, text: str, file: PieceIn | None = None) -> Appui:
    """The formateur's compte rendu of the visit (text, and optionally a PDF)."""
    appui = _acting_on(db, actor, appui_id)
    if not text.strip():
        raise ValidationFailed(REPORT_REQUIRED, code="report_required")
    stored = None
    if file is not None:
        stored = {"original_name": file.original_name, "content_type": file.content_type, "size": file.size,
                  "sha256": file.sha256, "relative_path": file.relative_path}
    apply_transition(
        db, APPUI, appui, "report", actor,
        data={"file": file.original_name if file else None, "length": len(text.strip())},
        changes={"report_text": text.strip(), "report_file": stored, "reported_at": now()},
    )
    return appui


def cancel(db: Session, actor: Actor, appui_id: int, reason: str) -> Appui:
    """An officer cancels; the structure may withdraw its request until it is entrusted to a formateur."""
    appui = get_appui(db, actor, appui_id)
    if actor.role is Role.structure and appui.state != AppuiState.requested:
        raise Forbidden("L'appui est déjà confié à un formateur : adressez-vous au certificateur pour l'annuler.",
                        code="role_not_allowed")
    reason = (reason or "").strip()
    apply_transition(db, APPUI, appui, "cancel", actor, reason=reason, changes={"cancel_reason": reason or None})
    return appui
