"""The inbox: pending human steps, built from the database through the same services as the API
(so each role only sees what its services let it see), overdue first, then by deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from certification.audit import Actor
from certification.clock import now, today
from certification.controle import queries as controle_queries
from certification.controle.states import CONTROLE_STATE_LABELS, ControleState
from certification.errors import Forbidden
from certification.models import ROLE_LABELS_FR, Certification, Role, Structure, User
from certification.candidates.models import Candidate
from certification.agrement.states import AGREMENT_STATE_LABELS, REQUEST_STATE_LABELS, AgrementState, RequestState
from certification.jury.states import JURY_STATE_LABELS, JuryState
from certification.appeals.states import APPEAL_STATE_LABELS, AppealState
from certification.candidates.states import CANDIDATE_STATE_LABELS, CandidateState
from certification.training.states import (
    APPUI_STATE_LABELS,
    TRAINING_STATE_LABELS,
    AppuiState,
    EnrollmentState,
    TrainingState,
)
from certification.agrement import queries as agrement_queries
from certification.appeals import queries as appeal_queries
from certification.candidates import queries as candidate_queries
from certification.candidates import service as candidates_svc
from certification.jury import queries as jury_queries
from certification.jury.actions import jury_actions
from certification.training import queries as training_queries
from certification.vae import queries as vae_queries
from certification.vae.states import VAE_STATE_LABELS, VaeState
from documents.formatting import date_fr, to_local


@dataclass(frozen=True)
class InboxItem:
    kind: str  # demande | agrement | controle | jury | recours | candidats | formation | appui
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
    alert: bool = False  # an incident of the automatic processing: on top until resolved

    @property
    def who_label(self) -> str:
        return ROLE_LABELS_FR[self.who]

    def overdue(self, on: date) -> bool:
        return self.due is not None and self.due < on

    def days_left(self, on: date) -> int | None:
        return None if self.due is None else (self.due - on).days


def sort_key(item: InboxItem, on: date) -> tuple:
    """Alerts first, then overdue steps, then the nearest deadline, then the steps without a deadline."""
    return (not item.alert, not item.overdue(on), item.due is None, item.due or date.max, item.kind, item.reference)


class _Names:
    """Small per-request cache of the names shown in the inbox."""

    def __init__(self, db: Session):
        self.db = db
        self._structures: dict[int, str] = {}
        self._certifications: dict[int, str] = {}

    def structure(self, structure_id: int) -> str:
        if structure_id not in self._structures:
            row = self.db.get(Structure, structure_id)
            self._structures[structure_id] = row.name if row else "?"
        return self._structures[structure_id]

    def certification(self, certification_id: int) -> str:
        if certification_id not in self._certifications:
            row = self.db.get(Certification, certification_id)
            self._certifications[certification_id] = row.code.replace("_", " ") if row else "?"
        return self._certifications[certification_id]


def _requests(db: Session, actor: Actor, names: _Names) -> list[InboxItem]:
    items = []
    for r in agrement_queries.list_requests(db, actor):
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


def _controles(db: Session, actor: Actor, names: _Names) -> list[InboxItem]:
    items = []
    at = now()
    for c in controle_queries.list_controles(db, actor):
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
            evidence = controle_queries.files_of(db, c.id, "evidence")
            if evidence and actor.role is Role.officer:
                items.append(InboxItem(**common, step="Examiner les preuves et clôturer le plan d'actions",
                                       who=Role.officer, note=f"{len(evidence)} preuve(s) déposée(s)"))
    return items


JURY_STEPS = {
    JuryState.planned: ("Composer le jury et convoquer les membres", Role.officer),
    JuryState.convened: ("Vérifier la composition du jury", Role.officer),
    JuryState.composition_checked: ("Délibérer : enregistrer les résultats", Role.officer),
    JuryState.deliberated: ("Signer le procès-verbal", Role.officer),
}


def _juries(db: Session, actor: Actor, names: _Names) -> list[InboxItem]:
    items = []
    for j in jury_queries.list_sessions(db, actor):
        state = JuryState(j.state)
        if state not in JURY_STEPS:
            continue
        step, who = JURY_STEPS[state]
        if actor.role is Role.jury_member:
            if not jury_actions(db, actor, j):  # among the members, the president's steps only
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


def _appeals(db: Session, actor: Actor, names: _Names) -> list[InboxItem]:
    items = []
    for a in appeal_queries.list_appeals(db, actor):
        state = AppealState(a.state)
        if state not in (AppealState.filed, AppealState.admissible):
            continue
        candidate = db.get(Candidate, a.candidate_id)
        step = "Examiner la recevabilité du recours" if state is AppealState.filed else \
            "Statuer sur le recours (fondé ou rejeté)"
        items.append(InboxItem(
            kind="recours", kind_label="Recours", url=f"/app/recours/{a.id}", reference=a.reference,
            subject=f"{candidate.first_names} {candidate.last_name} — {names.structure(candidate.structure_id)}",
            step=step, who=Role.officer, state_label=APPEAL_STATE_LABELS[state],
            note=f"déposé le {date_fr(a.filed_at)}",
        ))
    return items


def _agrements(db: Session, actor: Actor, names: _Names) -> list[InboxItem]:
    """Agréments arriving at échéance without a renewal request (the mandataire's step) and suspended
    agréments (the officer decides: reinstate or withdraw)."""
    items = []
    for a in agrement_queries.list_agrements(db, actor):
        state = AgrementState(a.state)
        common = dict(kind="agrement", kind_label="Agrément", url=f"/app/agrements/{a.id}", reference=a.number,
                      subject=names.structure(a.structure_id), state_label=AGREMENT_STATE_LABELS[state])
        if state is AgrementState.expiring and agrement_queries.open_renewal_of(db, a.id) is None:
            items.append(InboxItem(**common, step="Demander le renouvellement de l'agrément", who=Role.mandataire,
                                   due=a.end_date, due_label="échéance de l'agrément le"))
        elif state is AgrementState.suspended:
            items.append(InboxItem(**common, step="Statuer sur la suspension : la lever ou retirer l'agrément",
                                   who=Role.officer))
    return items


def _ready_candidates(db: Session, actor: Actor, names: _Names) -> list[InboxItem]:
    """Officer: candidates ready for a jury and registered in no pending session, per certification,
    with the session to register them in (or the planning of one)."""
    if actor.role is not Role.officer:
        return []
    by_certification: dict[int, list[Candidate]] = {}
    for c in jury_queries.unplaced_ready_candidates(db):
        by_certification.setdefault(c.certification_id, []).append(c)
    items = []
    open_sessions = [j for j in jury_queries.list_sessions(db, actor) if j.state in (JuryState.planned,
                                                                                       JuryState.convened)]
    for certification_id, candidates in by_certification.items():
        target = next((j for j in open_sessions if j.certification_id == certification_id), None)
        structures = sorted({names.structure(c.structure_id) for c in candidates})
        items.append(InboxItem(
            kind="candidats", kind_label="Candidats prêts", reference=names.certification(certification_id),
            url=f"/app/jurys/{target.id}#form-candidats" if target else "/app/jurys#form-planifier",
            subject=f"{len(candidates)} candidat(s) : " + ", ".join(structures),
            step=f"Inscrire les candidats à la session {target.reference}" if target
            else "Planifier une session de jury pour les candidats prêts",
            who=Role.officer, state_label=CANDIDATE_STATE_LABELS[CandidateState.ready_for_jury],
            note="prêts pour le jury, sans session",
        ))
    return items


def _candidates(db: Session, actor: Actor, names: _Names) -> list[InboxItem]:
    """The structure's candidates in training whose blocs to present are all evaluated « acquis »."""
    if actor.role not in (Role.structure, Role.officer):
        return []
    items = []
    for c in candidate_queries.list_candidates(db, actor, state=CandidateState.in_training.value):
        blocs = candidates_svc.ready_to_present(db, c)
        if blocs:
            items.append(InboxItem(
                kind="candidat", kind_label="Candidat", url=f"/app/candidats/{c.id}", reference=c.reference,
                subject=f"{c.first_names} {c.last_name} — {names.structure(c.structure_id)}",
                step="Présenter au jury (blocs évalués)", who=Role.structure,
                state_label=CANDIDATE_STATE_LABELS[CandidateState(c.state)], note="blocs : " + ", ".join(blocs),
            ))
    return items


VAE_STEPS = {
    VaeState.demande_deposee: ("Décider de la recevabilité de la demande de VAE", Role.officer),
    VaeState.recevable: ("Déposer le livret 2", Role.structure),
    VaeState.livret2_depose: ("Inscrire le candidat à une session de jury, puis tenir l'entretien", Role.officer),
}


def _vae(db: Session, actor: Actor, names: _Names) -> list[InboxItem]:
    """The dossiers de VAE waiting for a human: the recevabilité (with its deadline), the livret 2, the jury."""
    items = []
    for d in vae_queries.list_dossiers(db, actor):
        step = VAE_STEPS.get(VaeState(d.state))
        if step is None:
            continue
        waiting = VaeState(d.state) is VaeState.demande_deposee
        items.append(InboxItem(
            kind="vae", kind_label="Dossier de VAE", url=f"/app/vae/{d.id}", reference=d.reference,
            subject=names.structure(d.structure_id), step=step[0], who=step[1],
            state_label=VAE_STATE_LABELS[VaeState(d.state)], due=d.recevabilite_due_on if waiting else None,
            due_label="décision avant le",
        ))
    return items


def _trainings(db: Session, actor: Actor, names: _Names) -> list[InboxItem]:
    items = []
    for t in training_queries.list_sessions(db, actor):
        state = TrainingState(t.state)
        common = dict(kind="formation", kind_label="Formation EPSP", url=f"/app/formations/{t.id}",
                      reference=t.reference, subject=t.place, who=Role.formateur,
                      state_label=TRAINING_STATE_LABELS[state])
        if state is TrainingState.planned:
            enrolled = sum(1 for e in training_queries.enrollments_of(db, t.id)
                           if e.state == EnrollmentState.registered)
            items.append(InboxItem(**common, step="Tenir la session : inscriptions, puis première journée",
                                   due=t.start_date, due_label="première journée le",
                                   note=f"{enrolled} inscrit(s) sur {t.capacity}"))
        elif state is TrainingState.in_progress:
            pending = sum(1 for e in training_queries.enrollments_of(db, t.id)
                          if e.state == EnrollmentState.registered)
            step = ("Relever les présences et enregistrer les résultats" if pending
                    else "Clôturer la session (tous les résultats sont enregistrés)")
            items.append(InboxItem(**common, step=step, due=t.end_date, due_label="dernière journée le",
                                   note=f"{pending} résultat(s) à enregistrer" if pending else ""))
    return items


def _appuis(db: Session, actor: Actor, names: _Names) -> list[InboxItem]:
    items = []
    at = now()
    for a in training_queries.list_appuis(db, actor):
        state = AppuiState(a.state)
        common = dict(kind="appui", kind_label="Appui pédagogique", url=f"/app/appuis/{a.id}", reference=a.reference,
                      subject=f"{names.structure(a.structure_id)} — {a.subject}", state_label=APPUI_STATE_LABELS[state])
        if state is AppuiState.requested:
            items.append(InboxItem(**common, step="Confier l'appui à un formateur", who=Role.officer,
                                   note=f"demandé le {date_fr(a.created_at)}"))
        elif state is AppuiState.assigned:
            items.append(InboxItem(**common, step="Programmer la visite", who=Role.formateur))
        elif state is AppuiState.scheduled and a.visit_at is not None and a.visit_at <= at:
            items.append(InboxItem(**common, step="Déposer le compte rendu de l'appui", who=Role.formateur,
                                   note=f"visite du {date_fr(a.visit_at)}"))
    return items


def _alerts(db: Session, actor: Actor, _names: _Names) -> list[InboxItem]:
    """The open incidents of the automatic processing (``flows.monitoring``), for the officers."""
    from api.web.operations import dossier_label, dossier_url
    from flows import monitoring

    if actor.role is not Role.officer:
        raise Forbidden("Alertes réservées aux chargés de certification.")
    items = [InboxItem(
        kind="alerte", kind_label="Alerte", url=dossier_url(r.process, r.entity_id) or "/app/operations",
        reference=dossier_label(r.process, r.entity_id), subject=r.error or "",
        step=f"Traitement automatique en échec ({r.failures_in_a_row} fois de suite) : corriger la cause, "
             "puis le relancer depuis la page Opérations",
        who=Role.officer, state_label="alerte", alert=True,
    ) for r in monitoring.open_flow_incidents(db)]
    items += [InboxItem(
        kind="alerte", kind_label="Alerte", url=f"/app/operations#mail-{m.id}", reference=f"Courriel n° {m.id}",
        subject=m.subject, step=f"Courriel non distribué après {m.attempts} tentatives : vérifier l'adresse ou "
                                "le serveur de messagerie, puis le renvoyer depuis la page Opérations",
        who=Role.officer, state_label="alerte", alert=True, note=m.last_error or "",
    ) for m in monitoring.undeliverable(db)]
    return items


SOURCES = (_alerts, _requests, _agrements, _controles, _vae, _juries, _appeals, _ready_candidates, _candidates,
           _trainings, _appuis)


def build_inbox(db: Session, user: User, actor: Actor, *, mine_only: bool = False) -> list[InboxItem]:
    """The pending human steps ``actor`` may see. An officer sees every pending step (he follows the
    processes); other roles see only the steps they have to take, on their own dossiers."""
    names = _Names(db)
    items: list[InboxItem] = []
    for source in SOURCES:
        try:
            items += source(db, actor, names)
        except Forbidden:  # the service refuses this role this kind of dossier
            continue
    if actor.role is not Role.officer or mine_only:
        items = [i for i in items if i.who is actor.role]
    on = today()
    return sorted(items, key=lambda i: sort_key(i, on))
