"""The timeline of a dossier as shown on its page: audit events with French labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, select

from certification.audit import timeline
from certification.controle.states import CONTROLE
from certification.models import ROLE_LABELS_FR, Role
from certification.agrement.states import AGREMENT, AGREMENT_REQUEST
from certification.jury.states import CERTIFICATE, JURY
from certification.appeals.states import APPEAL
from certification.candidates.states import CANDIDATE
from certification.training.states import APPUI, ENROLLMENT, TRAINING_SESSION
from certification.vae.states import VAE
from certification.statemachine import StateMachine
from documents.formatting import date_fr, datetime_fr
from notifications.models import OutboxMessage

MACHINES: dict[str, StateMachine] = {
    "agrement_requests": AGREMENT_REQUEST,
    "agrements": AGREMENT,
    "controles": CONTROLE,
    "jury_sessions": JURY,
    "candidates": CANDIDATE,
    "certificates": CERTIFICATE,
    "appeals": APPEAL,
    "training_sessions": TRAINING_SESSION,
    "training_enrollments": ENROLLMENT,
    "appuis": APPUI,
    "vae_dossiers": VAE,
}

# Audited actions that are not transitions of the machine.
OTHER_ACTIONS = {
    "submit": "dépôt de la demande",
    "create": "création",
    "plan": "planification",
    "register": "inscription",
    "add_evidence": "dépôt de preuves",
    "assign_refused": "affectation refusée (conflit d'intérêts)",
    "add_member": "désignation d'un membre",
    "add_candidates": "inscription de candidats",
    "record_attendance": "émargement",
    "attendance": "émargement",
    "evaluation": "évaluation",
    "issue": "délivrance",
    "credentials_issued": "délivrance des badges numériques (Open Badges)",
    "credentials_revoked": "révocation des badges numériques (Open Badges)",
    "declare_link": "déclaration d'un lien",
    "renewal_requested": "demande de renouvellement",
    "flag": "signalement",
    "file": "dépôt du recours",
    "enroll": "inscription d'un encadrant",
    "withdraw_enrollment": "désinscription d'un encadrant",
    "request": "demande d'appui",
    "add_member_refused": "désignation refusée (conflit d'intérêts)",
    "add_candidates_refused": "inscription refusée (conflit d'intérêts)",
}

# Titles of the generated documents (``document_generated`` events name their kind).
DOCUMENT_TITLES = {
    "accuse_reception": "accusé de réception",
    "demande_complements": "demande de compléments",
    "classement_sans_suite": "lettre de classement sans suite",
    "decision_agrement": "décision d'agrément",
    "refus_agrement": "décision de refus d'agrément",
    "rapport_controle": "rapport de contrôle",
    "decision_maintien": "décision de maintien de l'agrément",
    "decision_plan_actions": "décision de plan d'actions",
    "decision_suspension": "décision de suspension",
    "decision_retrait": "décision de retrait",
    "pv_jury": "procès-verbal de jury",
    "certificat": "certificat de qualification professionnelle",
    "attestation_blocs": "attestation de blocs de compétences",
    "recours_decision": "décision sur recours",
    "attestation_formation_epsp": "attestation de formation EPSP",
    "rapport_activite": "rapport d'activité",
    "decision_recevabilite": "décision de recevabilité de la demande de VAE",
    "decision_non_recevabilite": "décision de non-recevabilité de la demande de VAE",
}

# Keys of ``AuditEvent.data`` worth showing, with their French label.
DETAILS = {
    "deadline": "échéance",
    "avis_deadline": "avis attendu avant le",
    "controleur": "contrôleur",
    "avis": "avis",
    "decision": "décision",
    "number": "numéro",
    "start_date": "début",
    "end_date": "fin",
    "visit_at": "visite",
    "place": "lieu",
    "round": "envoi n°",
    "pieces": "pièces",
    "day": "journée",
    "encadrant": "encadrant",
    "formateur": "formateur",
    "name": "nom",
    "attestation_number": "attestation",
    "reference": "référence",
    "days": "journées",
    "previous_days": "journées précédentes",
    "previous_place": "lieu précédent",
    "bloc": "bloc",
    "version": "version du document",
}


@dataclass(frozen=True)
class TimelineRow:
    at: datetime
    what: str
    actor: str
    role: str
    from_label: str | None
    to_label: str | None
    reason: str | None
    details: list[tuple[str, str]]
    entity: str


def _label(machine: StateMachine | None, state: str | None) -> str | None:
    if state is None:
        return None
    return machine.states.get(state, state) if machine else state


EFFECT_ACTIONS = frozenset({"document_generated", "mail_queued"})  # labelled from their data (_effect)


def action_label(entity_type: str, action: str) -> str | None:
    """The French label of an audited action on a dossier of ``entity_type``; None when none is known."""
    machine = MACHINES.get(entity_type)
    if machine is not None:
        t = next((t for t in machine.transitions if t.name == action), None)
        if t is not None:
            return t.label
        if action in machine.events:
            return machine.events[action]
    return OTHER_ACTIONS.get(action)


def _what(entity_type: str, action: str) -> str:
    return action_label(entity_type, action) or action.replace("_", " ")


def _effect(db: Session, action: str, data: dict) -> str | None:
    """What a recorded effect is about: the document's title, the mail's subject and recipients."""
    if action == "document_generated":
        kind = str(data.get("kind", ""))
        version = data.get("version")
        title = DOCUMENT_TITLES.get(kind, kind.replace("_", " "))
        return f"Document généré : {title}" + (f" (version {version})" if version and version != 1 else "")
    if action == "mail_queued":
        message = db.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == data.get("key"))).first()
        subject = message.subject if message else str(data.get("template", ""))
        recipients = ", ".join(data.get("to") or []) or "destinataire non renseigné"
        return f"Courriel mis en file : « {subject} » à {recipients}"
    return None


def _value(value) -> str:
    """A detail as shown: ISO dates and times in French, lists joined."""
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-":
        try:
            return date_fr(date.fromisoformat(value)) if len(value) == 10 else datetime_fr(datetime.fromisoformat(value))
        except ValueError:
            pass
    return str(value)


def rows(db: Session, *entities: tuple[str, int, str]) -> list[TimelineRow]:
    """Timeline of one or several entities ``(entity_type, id, label)``, merged by date."""
    out = []
    for entity_type, entity_id, entity_label in entities:
        machine = MACHINES.get(entity_type)
        for e in timeline(db, entity_type, entity_id):
            try:
                role = ROLE_LABELS_FR[Role(e.actor_role)]
            except ValueError:
                role = e.actor_role
            details = [(DETAILS[k], _value(v)) for k, v in (e.data or {}).items()
                       if k in DETAILS and v not in (None, "", [])]
            out.append(TimelineRow(
                at=e.at, what=_effect(db, e.action, e.data or {}) or _what(entity_type, e.action),
                actor=e.actor_label, role=role,
                from_label=_label(machine, e.from_state), to_label=_label(machine, e.to_state),
                reason=e.reason, details=details, entity=entity_label if len(entities) > 1 else "",
            ))
    return sorted(out, key=lambda r: r.at)
