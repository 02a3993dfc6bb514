"""Services of the contrôle d'agrément: each applies one transition and its audit event in the
caller's transaction (the caller commits)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from certification import visits
from certification.audit import Actor, apply_transition, record_event, record_on
from certification.clock import now, today
from certification.controle.models import Controle, ControleFile
from certification.controle.queries import files_of, get_controle, open_controle_of
from certification.controle.states import (
    CONTROLE,
    DECISIONS,
    FINDING_STATUSES,
    KIND_LABELS,
    OPEN_CONTROLE_STATES,
    ControleState,
)
from certification.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from certification.models import LinkKind, Role, Structure, User
from certification.agrement.models import Agrement
from certification.numbering import next_value
from certification.agrement.states import AgrementState
from certification.services import conflicts
from certification.agrement import lifecycle
from certification.services.files import PieceIn
from certification.settings import get_settings

ENTITY = Controle.__tablename__
PLANNABLE_AGREMENT_STATES = frozenset({AgrementState.active, AgrementState.expiring, AgrementState.suspended})
MAX_FINDINGS = 100


# --- planning ------------------------------------------------------------------------------


def plan_controle(
    db: Session, actor: Actor, agrement_id: int, *, kind: str = "on_demand", reason: str = ""
) -> Controle:
    """Plan a contrôle of an agrément (officer: on demand or sampled; system: periodic, sampled)."""
    if kind not in KIND_LABELS:
        raise ValidationFailed(f"Type de contrôle inconnu : {kind}.", code="unknown_kind")
    allowed = {Role.officer} if kind == "on_demand" else {Role.officer, Role.system}
    if actor.role not in allowed:
        raise Forbidden("Seul·e un·e chargé·e de certification planifie un contrôle.", code="role_not_allowed")
    agrement = db.get(Agrement, agrement_id)
    if agrement is None:
        raise NotFound("Agrément introuvable.", code="agrement_not_found")
    if agrement.state not in PLANNABLE_AGREMENT_STATES:
        raise InvalidTransition(
            f"L'agrément {agrement.number} n'est pas en vigueur : il ne peut pas être contrôlé.",
            code="agrement_not_active",
        )
    current = open_controle_of(db, agrement.id)
    if current is not None:
        raise Conflict(
            f"Un contrôle est déjà en cours pour cet agrément ({current.reference}).",
            code="controle_already_open", details={"reference": current.reference},
        )
    year = now().year
    controle = Controle(
        reference=f"CTL-{year}-{next_value(db, 'controle', year):04d}",
        agrement_id=agrement.id,
        structure_id=agrement.structure_id,
        kind=kind,
        reason=reason.strip() or None,
        state=ControleState.planned.value,
    )
    db.add(controle)
    db.flush()
    record_event(
        db, entity_type=ENTITY, entity_id=controle.id, action="plan", actor=actor, from_state=None,
        to_state=controle.state, reason=controle.reason,
        data={"kind": kind, "agrement": agrement.number, "reference": controle.reference},
    )
    return controle


def sample_controles(db: Session, actor: Actor, *, count: int, seed: int | None = None) -> list[Controle]:
    """Plan ``count`` contrôles on active agréments drawn at random (seed kept in the audit trail)."""
    if not 1 <= count <= 500:
        raise ValidationFailed("Le nombre de contrôles doit être compris entre 1 et 500.", code="bad_count")
    busy = select(Controle.agrement_id).where(Controle.state.in_([s.value for s in OPEN_CONTROLE_STATES]))
    pool = list(
        db.exec(
            select(Agrement.id)
            .where(Agrement.state.in_([AgrementState.active.value, AgrementState.expiring.value]))
            .where(Agrement.id.not_in(busy))
            .order_by(Agrement.id)
        )
    )
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    drawn = random.Random(seed).sample(pool, min(count, len(pool)))
    reason = f"Échantillonnage : {len(drawn)} agrément(s) tiré(s) parmi {len(pool)} (graine {seed})."
    return [plan_controle(db, actor, agrement_id, kind="sampled", reason=reason) for agrement_id in sorted(drawn)]


def plan_periodic_controles(db: Session, actor: Actor, *, on: date | None = None) -> list[Controle]:
    """Plan the periodic contrôle of every agrément that reached the configured age without one."""
    on = on or today()
    cutoff = on - timedelta(days=get_settings().controle_periodic_after_days)
    had_periodic = select(Controle.agrement_id).where(Controle.kind == "periodic")
    busy = select(Controle.agrement_id).where(Controle.state.in_([s.value for s in OPEN_CONTROLE_STATES]))
    due = db.exec(
        select(Agrement.id)
        .where(Agrement.state.in_([AgrementState.active.value, AgrementState.expiring.value]))
        .where(Agrement.start_date <= cutoff)
        .where(Agrement.id.not_in(had_periodic))
        .where(Agrement.id.not_in(busy))
        .order_by(Agrement.id)
    ).all()
    reason = f"Contrôle périodique : agrément en vigueur depuis plus de {get_settings().controle_periodic_after_days} jours."
    return [plan_controle(db, actor, agrement_id, kind="periodic", reason=reason) for agrement_id in due]


# --- instruction ---------------------------------------------------------------------------


def _acting_on(db: Session, actor: Actor, controle_id: int) -> Controle:
    controle = get_controle(db, actor, controle_id)
    if actor.role is Role.structure:
        raise Forbidden("Une structure ne peut pas agir sur le contrôle.", code="role_not_allowed")
    return controle


def assign(db: Session, actor: Actor, controle_id: int, controleur_id: int) -> Controle:
    """Entrust the contrôle to a contrôleur, who must be independent from the structure."""
    controle = _acting_on(db, actor, controle_id)
    controleur = db.get(User, controleur_id)
    if controleur is None or controleur.role != Role.controleur.value or not controleur.active:
        raise ValidationFailed("Le compte désigné n'est pas un contrôleur actif.", code="not_a_controleur")
    if controleur.id == controle.controleur_id:
        raise Conflict(f"Le contrôle est déjà confié à {controleur.full_name}.", code="already_assigned")
    structure = db.get(Structure, controle.structure_id)
    conflicts.ensure_independent(db, controleur, structure, purpose="contrôler la structure")
    visits.entrust(db, CONTROLE, controle, actor, controleur, LinkKind.controleur)
    return controle


def _owner_or_officer(actor: Actor, controle: Controle) -> None:
    if actor.role is Role.controleur and controle.controleur_id != actor.user_id:
        raise NotFound("Contrôle introuvable.", code="controle_not_found")


def schedule_visit(
    db: Session,
    actor: Actor,
    controle_id: int,
    *,
    visit_at: datetime,
    place: str,
    notes: str = "",
    duration_minutes: int | None = None,
) -> Controle:
    controle = _acting_on(db, actor, controle_id)
    _owner_or_officer(actor, controle)
    visits.schedule(db, CONTROLE, controle, actor, visit_at=visit_at, place=place, notes=notes,
                    duration_minutes=duration_minutes)
    return controle


def _clean_findings(findings: Sequence[dict]) -> list[dict]:
    if len(findings) > MAX_FINDINGS:
        raise ValidationFailed(f"{MAX_FINDINGS} constats au plus.", code="too_many_findings")
    cleaned = []
    for i, finding in enumerate(findings, start=1):
        criterion = str(finding.get("criterion", "")).strip()
        status = finding.get("status")
        if not criterion or status not in FINDING_STATUSES:
            raise ValidationFailed(
                f"Constat n°{i} invalide : critère obligatoire, statut parmi {', '.join(FINDING_STATUSES)}.",
                code="bad_finding",
            )
        cleaned.append({"criterion": criterion, "status": status, "comment": str(finding.get("comment", "")).strip()})
    return cleaned


def _add_files(db: Session, controle: Controle, actor: Actor, files: Sequence[PieceIn], kind: str) -> None:
    for f in files:
        db.add(ControleFile(
            controle_id=controle.id, kind=kind, original_name=f.original_name, content_type=f.content_type,
            size=f.size, sha256=f.sha256, relative_path=f.relative_path, uploaded_by_id=actor.user_id,
        ))


SUMMARY_REQUIRED = "La synthèse du rapport est obligatoire."


def check_action_plan_deadline(deadline: date) -> None:
    """An action plan's deadline is in the future."""
    if deadline <= today():
        raise ValidationFailed("L'échéance du plan d'actions doit être dans le futur.", code="bad_deadline")


def submit_report(
    db: Session,
    actor: Actor,
    controle_id: int,
    *,
    findings: Sequence[dict],
    summary: str,
    files: Sequence[PieceIn] = (),
) -> Controle:
    controle = _acting_on(db, actor, controle_id)
    _owner_or_officer(actor, controle)
    cleaned = _clean_findings(findings)
    if not summary.strip():
        raise ValidationFailed(SUMMARY_REQUIRED, code="summary_required")
    counts = {s: sum(1 for f in cleaned if f["status"] == s) for s in FINDING_STATUSES}
    apply_transition(
        db, CONTROLE, controle, "submit_report", actor, context={"findings": cleaned},
        data={"findings": counts, "files": len(files)},
        changes={"findings": cleaned, "report_summary": summary.strip(), "report_submitted_at": now()},
    )
    _add_files(db, controle, actor, files, "rapport")
    db.flush()
    return controle


def decide(
    db: Session,
    actor: Actor,
    controle_id: int,
    *,
    decision: str,
    reason: str = "",
    action_plan_items: str = "",
    action_plan_deadline: date | None = None,
) -> Controle:
    """The officer's decision on the report; suspension and withdrawal apply to the agrément too."""
    controle = _acting_on(db, actor, controle_id)
    if decision not in DECISIONS:
        raise ValidationFailed(f"Décision inconnue : {decision}.", code="unknown_decision")
    changes = {"decision": decision, "decision_reason": reason.strip() or None, "decided_at": now(),
               "decided_by_id": actor.user_id}
    if decision == "action_plan":
        if not action_plan_items.strip() or action_plan_deadline is None:
            raise ValidationFailed("Un plan d'actions demande des actions et une échéance.", code="action_plan_required")
        check_action_plan_deadline(action_plan_deadline)
        changes |= {"action_plan_items": action_plan_items.strip(), "action_plan_deadline": action_plan_deadline}
        reason = reason or action_plan_items
    apply_transition(
        db, CONTROLE, controle, DECISIONS[decision], actor, reason=reason.strip() or None,
        data={"decision": decision, "deadline": action_plan_deadline.isoformat() if action_plan_deadline else None},
        changes=changes,
    )
    _apply_to_agrement(db, actor, controle, decision, reason)
    return controle


def _apply_to_agrement(db: Session, actor: Actor, controle: Controle, decision: str, reason: str) -> None:
    text = f"Contrôle {controle.reference} : {reason.strip()}"
    if decision == "suspension":
        lifecycle.suspend(db, actor, controle.agrement_id, text, controle_id=controle.id)
    elif decision == "withdrawal":
        lifecycle.withdraw(db, actor, controle.agrement_id, text, controle_id=controle.id)


def add_evidence(db: Session, actor: Actor, controle_id: int, files: Sequence[PieceIn], comment: str = "") -> Controle:
    """The structure (or the officer on its behalf) files evidence of the action plan."""
    controle = get_controle(db, actor, controle_id)
    if actor.role not in (Role.structure, Role.officer):
        raise Forbidden("Seule la structure ou le certificateur dépose les preuves.", code="role_not_allowed")
    if controle.state not in (ControleState.action_plan, ControleState.escalated):
        raise InvalidTransition("Aucun plan d'actions n'est en cours pour ce contrôle.", code="no_action_plan")
    if not files:
        raise ValidationFailed("Joignez au moins une preuve (PDF).", code="pieces_required")
    _add_files(db, controle, actor, files, "evidence")
    record_on(db, controle, "add_evidence", actor, reason=comment.strip() or None,
              data={"files": [f.original_name for f in files]})
    db.flush()
    return controle


def close_action_plan(db: Session, actor: Actor, controle_id: int, comment: str = "") -> Controle:
    controle = _acting_on(db, actor, controle_id)
    apply_transition(
        db, CONTROLE, controle, "close_action_plan", actor, reason=comment.strip() or None,
        context={"evidence_count": len(files_of(db, controle.id, "evidence"))},
        changes={"closed_at": now()},
    )
    return controle


def escalate(db: Session, actor: Actor, controle_id: int) -> Controle:
    controle = _acting_on(db, actor, controle_id)
    apply_transition(
        db, CONTROLE, controle, "escalate", actor,
        reason=f"Échéance du plan d'actions dépassée ({controle.action_plan_deadline:%d/%m/%Y}).",
        context={"grace_days": get_settings().action_plan_grace_days},
    )
    return controle


def cancel(db: Session, actor: Actor, controle_id: int, reason: str) -> Controle:
    controle = _acting_on(db, actor, controle_id)
    apply_transition(db, CONTROLE, controle, "cancel", actor, reason=(reason or "").strip())
    return controle
