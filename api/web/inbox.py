"""The inbox: pending human steps, built from the database through the same services as the API
(so each role only sees what its services let it see), overdue first, then by deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from certification.audit import Actor
from certification.clock import now, today
from certification.errors import Forbidden
from certification.models import ROLE_LABELS_FR, Candidate, Certification, Role, Structure, User
from certification.processes.agrement import REQUEST_STATE_LABELS, RequestState
from certification.processes.certification import APPEAL_STATE_LABELS, JURY_STATE_LABELS, AppealState, JuryState
from certification.processes.controle import CONTROLE_STATE_LABELS, ControleState
from certification.services import agrement as requests_svc
from certification.services import appeals as appeals_svc
from certification.services import controle as controles_svc
from certification.services import jury as jury_svc
from documents.formatting import date_fr, to_local


@dataclass(frozen=True)
class InboxItem:
    kind: str  # demande | controle | jury | recours
    kind_label: str
    url: str
    reference: str
    subject: str  # structure, certification…
    step: str  # what has to be done, in French
    who: Role  # the role expected to act
    state_label: str
    due: date | None = None
    due_label: str = "échéance"
    note: str = ""

    @property
    def who_label(self) -> str:
        return ROLE_LABELS_FR[self.who]

    def overdue(self, on: date) -> bool:
        return self.due is not None and self.due < on

    def days_left(self, on: date) -> int | None:
        return None if self.due is None else (self.due - on).days


def sort_key(item: InboxItem, on: date) -> tuple:
    """Overdue first, then the nearest deadline, then the steps without a deadline."""
    return (not item.overdue(on), item.due is None, item.due or date.max, item.kind, item.reference)


class _Names:
    """Small per-request cache of the names shown in the inbox."""

    def __init__(self, session: Session):
        self.session = session
        self._structures: dict[int, str] = {}
        self._certifications: dict[int, str] = {}

    def structure(self, structure_id: int) -> str:
        if structure_id not in self._structures:
            row = self.session.get(Structure, structure_id)
            self._structures[structure_id] = row.name if row else "?"
        return self._structures[structure_id]

    def certification(self, certification_id: int) -> str:
        if certification_id not in self._certifications:
            row = self.session.get(Certification, certification_id)
            self._certifications[certification_id] = row.code.replace("_", " ") if row else "?"
        return self._certifications[certification_id]


def _requests(session: Session, actor: Actor, names: _Names) -> list[InboxItem]:
    items = []
    for r in requests_svc.list_requests(session, actor):
        state = RequestState(r.state)
        common = dict(kind="demande", kind_label="Demande d'agrément", url=f"/app/demandes/{r.id}",
                      reference=r.reference, subject=names.structure(r.structure_id),
                      state_label=REQUEST_STATE_LABELS[state])
        if state is RequestState.submitted:
            items.append(InboxItem(**common, step="Examiner la recevabilité", who=Role.officer,
                                   note=f"compléments reçus (envoi n° {r.round})" if r.round > 1 else ""))
        elif state is RequestState.incomplete:
            items.append(InboxItem(**common, step="Transmettre les compléments demandés", who=Role.mandataire,
                                   due=r.complements_deadline, due_label="réponse attendue avant le"))
        elif state is RequestState.under_review and not r.avis:
            items.append(InboxItem(**common, step="Rendre l'avis", who=Role.mandataire, due=r.avis_deadline,
                                   due_label="avis attendu avant le"))
        elif state is RequestState.under_review:
            items.append(InboxItem(**common, step="Décider : accorder ou refuser l'agrément", who=Role.officer,
                                   note="avis " + ("favorable" if r.avis == "favorable" else "défavorable")))
    return items


def _controles(session: Session, actor: Actor, names: _Names) -> list[InboxItem]:
    items = []
    at = now()
    for c in controles_svc.list_controles(session, actor):
        state = ControleState(c.state)
        common = dict(kind="controle", kind_label="Contrôle d'agrément", url=f"/app/controles/{c.id}",
                      reference=c.reference, subject=names.structure(c.structure_id),
                      state_label=CONTROLE_STATE_LABELS[state])
        if state is ControleState.planned:
            items.append(InboxItem(**common, step="Confier le contrôle à un contrôleur", who=Role.officer))
        elif state is ControleState.assigned:
            items.append(InboxItem(**common, step="Programmer la visite", who=Role.controleur))
        elif state is ControleState.visit_scheduled and c.visit_at is not None and c.visit_at <= at:
            items.append(InboxItem(**common, step="Déposer le rapport de contrôle", who=Role.controleur,
                                   note=f"visite du {date_fr(c.visit_at)}"))
        elif state is ControleState.report_submitted:
            items.append(InboxItem(**common, step="Décider sur le rapport", who=Role.officer))
        elif state is ControleState.escalated:
            items.append(InboxItem(**common, step="Décider : plan d'actions échu", who=Role.officer,
                                   due=c.action_plan_deadline, due_label="plan d'actions à réaliser avant le"))
        elif state is ControleState.action_plan:
            items.append(InboxItem(**common, step="Réaliser le plan d'actions et déposer les preuves",
                                   who=Role.structure, due=c.action_plan_deadline,
                                   due_label="plan d'actions à réaliser avant le"))
    return items


JURY_STEPS = {
    JuryState.planned: ("Composer le jury et convoquer les membres", Role.officer),
    JuryState.convened: ("Vérifier la composition du jury", Role.officer),
    JuryState.composition_checked: ("Délibérer : enregistrer les résultats", Role.officer),
    JuryState.deliberated: ("Signer le procès-verbal", Role.officer),
}


def _juries(session: Session, actor: Actor, names: _Names) -> list[InboxItem]:
    items = []
    for j in jury_svc.list_sessions(session, actor):
        state = JuryState(j.state)
        if state not in JURY_STEPS:
            continue
        step, who = JURY_STEPS[state]
        if actor.role is Role.jury_member:
            # Among the members, only the president records results, closes and signs.
            president = any(m.user_id == actor.user_id and m.is_president for m in jury_svc.members_of(session, j.id))
            if not president or state in (JuryState.planned, JuryState.convened):
                continue
            who = Role.jury_member
        items.append(InboxItem(
            kind="jury", kind_label="Session de jury", url=f"/app/jurys/{j.id}", reference=j.reference,
            subject=names.certification(j.certification_id) + (f" — {j.place}" if j.place else " — visioconférence"),
            step=step, who=who, state_label=JURY_STATE_LABELS[state],
            due=to_local(j.scheduled_at).date() if state is not JuryState.deliberated else None,
            due_label="session du", note=j.flag_reason or "",
        ))
    return items


def _appeals(session: Session, actor: Actor, names: _Names) -> list[InboxItem]:
    items = []
    for a in appeals_svc.list_appeals(session, actor):
        state = AppealState(a.state)
        if state not in (AppealState.filed, AppealState.admissible):
            continue
        candidate = session.get(Candidate, a.candidate_id)
        step = "Examiner la recevabilité du recours" if state is AppealState.filed else \
            "Statuer sur le recours (fondé ou rejeté)"
        items.append(InboxItem(
            kind="recours", kind_label="Recours", url=f"/app/recours/{a.id}", reference=a.reference,
            subject=f"{candidate.first_names} {candidate.last_name} — {names.structure(candidate.structure_id)}",
            step=step, who=Role.officer, state_label=APPEAL_STATE_LABELS[state],
            note=f"déposé le {date_fr(a.filed_at)}",
        ))
    return items


SOURCES = (_requests, _controles, _juries, _appeals)


def build_inbox(session: Session, user: User, actor: Actor, *, mine_only: bool = False) -> list[InboxItem]:
    """The pending human steps ``actor`` may see. An officer sees every pending step (he follows the
    processes); other roles see only the steps they have to take, on their own dossiers."""
    names = _Names(session)
    items: list[InboxItem] = []
    for source in SOURCES:
        try:
            items += source(session, actor, names)
        except Forbidden:  # the service refuses this role this kind of dossier
            continue
    if actor.role is not Role.officer or mine_only:
        items = [i for i in items if i.who is actor.role]
    on = today()
    return sorted(items, key=lambda i: sort_key(i, on))
