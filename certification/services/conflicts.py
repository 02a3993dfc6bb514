"""Conflicts of interest: whoever accompanied, trained or works for a structure does not audit
it nor sit on its jury."""

from __future__ import annotations

from sqlmodel import Session, select

from certification.audit import Actor, record_event
from certification.errors import Conflict, NotFound, ValidationFailed
from certification.models import ROLE_LABELS_FR, LinkKind, Role, Structure, StructureLink, User

# Links that make a person non-independent from a structure.
CONFLICTING = frozenset({LinkKind.mandataire, LinkKind.formateur, LinkKind.employee})
LINK_LABELS = {
    LinkKind.mandataire: "a accompagné la structure comme mandataire",
    LinkKind.formateur: "a formé le personnel de la structure",
    LinkKind.employee: "travaille pour la structure",
    LinkKind.controleur: "a contrôlé la structure",
}


class ConflictOfInterest(Conflict):
    code = "conflict_of_interest"


def conflicting_links(db: Session, user_id: int, structure_id: int) -> list[StructureLink]:
    return list(
        db.exec(
            select(StructureLink).where(
                StructureLink.user_id == user_id,
                StructureLink.structure_id == structure_id,
                StructureLink.kind.in_([k.value for k in CONFLICTING]),
            )
        )
    )


def ensure_independent(db: Session, user: User, structure: Structure, *, purpose: str) -> None:
    """Raise ConflictOfInterest (409) when ``user`` is linked to ``structure``."""
    links = conflicting_links(db, user.id, structure.id)
    if links:
        reasons = "; ".join(LINK_LABELS[LinkKind(link.kind)] for link in links)
        raise ConflictOfInterest(
            f"Conflit d'intérêts : {user.full_name} ne peut pas {purpose} « {structure.name} » ({reasons}).",
            details={"user_id": user.id, "structure_id": structure.id, "links": [link.kind for link in links]},
        )


def link(db: Session, user_id: int, structure_id: int, kind: LinkKind) -> StructureLink:
    """Record that ``user_id`` is linked to ``structure_id`` (idempotent)."""
    row = db.exec(
        select(StructureLink).where(
            StructureLink.user_id == user_id,
            StructureLink.structure_id == structure_id,
            StructureLink.kind == kind.value,
        )
    ).first()
    if row is None:
        row = StructureLink(user_id=user_id, structure_id=structure_id, kind=kind.value)
        db.add(row)
        db.flush()
    return row


def declare_link(
    db: Session, actor: Actor, *, user_id: int, structure_id: int, kind: str, reason: str
) -> StructureLink:
    """An officer declares a known link (e.g. a contrôleur who once accompanied the structure)."""
    if actor.role is not Role.officer:
        raise ValidationFailed("Seul un·e chargé·e de certification déclare un lien.", code="role_not_allowed")
    try:
        link_kind = LinkKind(kind)
    except ValueError:
        raise ValidationFailed(f"Type de lien inconnu : {kind}.", code="unknown_link_kind") from None
    user, structure = db.get(User, user_id), db.get(Structure, structure_id)
    if user is None or structure is None:
        raise NotFound("Utilisateur ou structure introuvable.", code="not_found")
    if not reason.strip():
        raise ValidationFailed("Précisez la nature du lien.", code="reason_required")
    row = link(db, user_id, structure_id, link_kind)
    record_event(
        db, entity_type=Structure.__tablename__, entity_id=structure_id, action="declare_link",
        actor=actor, reason=reason.strip(),
        data={"user_id": user_id, "user": user.full_name, "role": ROLE_LABELS_FR[Role(user.role)],
              "kind": link_kind.value},
    )
    return row


def record_refusal(db: Session, actor: Actor, exc: ConflictOfInterest, *, entity_type: str, entity_id: int,
                   action: str) -> None:
    """Keep a trace of a refused assignment (in its own transaction: the refused one rolls back)."""
    record_event(
        db, entity_type=entity_type, entity_id=entity_id, action=f"{action}_refused", actor=actor,
        reason=exc.message, data=exc.details,
    )
