"""Contrôle d'agrément services: planning, independence, visit, report, decisions, action plan."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlmodel import select

from certification.audit import SYSTEM, timeline
from certification.controle import queries as controle_queries
from certification.controle import service as svc
from certification.controle.models import Controle
from certification.db import session_scope
from certification.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from certification.models import Role, Structure
from certification.agrement.models import Agrement
from certification.agrement import queries as agrement_queries
from certification.services import conflicts
from certification.services.files import PieceIn
from tests.factories import add_user, grant_agrement, make_users, transitions

T0 = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
FINDINGS = [
    {"criterion": "Encadrants formés à l'EPSP", "status": "conforme", "comment": "2 encadrants sur 2"},
    {"criterion": "Livret d'évaluation des blocs", "status": "non_conforme", "comment": "Absent pour 3 salariés"},
]
EVIDENCE = [PieceIn("evidence", "livrets.pdf", "application/pdf", 100, "c" * 64, "uploads/cc/cc/c.pdf")]


@pytest.fixture
def world():
    with time_machine.travel(T0, tick=False):
        people = make_users()
        people["controleur2"] = add_user("bruno.lemaitre@cqp.test", "Bruno Lemaître", Role.controleur)
        agrement_id = grant_agrement(people)
    return people, agrement_id


def officer(people):
    return people["officer"]["actor"]


def plan(people, agrement_id, reason="Signalement d'un partenaire"):
    with session_scope() as db:
        return svc.plan_controle(db, officer(people), agrement_id, reason=reason).id


def to_report(people, agrement_id) -> int:
    """Plan, assign, schedule and report a contrôle (time travels past the visit)."""
    cid = plan(people, agrement_id)
    ctrl = people["controleur"]["actor"]
    with time_machine.travel(T0, tick=False):
        with session_scope() as db:
            svc.assign(db, officer(people), cid, ctrl.user_id)
        with session_scope() as db:
            svc.schedule_visit(db, ctrl, cid, visit_at=T0 + timedelta(days=10), place="Atelier de Saint-Étienne")
    with time_machine.travel(T0 + timedelta(days=11), tick=False), session_scope() as db:
        svc.submit_report(db, ctrl, cid, findings=FINDINGS, summary="Écarts mineurs sur le suivi des blocs.")
    return cid


def test_full_path_with_audit_trail(world):
    people, agrement_id = world
    cid = to_report(people, agrement_id)
    with time_machine.travel(T0 + timedelta(days=12), tick=False), session_scope() as db:
        svc.decide(db, officer(people), cid, decision="compliant", reason="Écarts corrigés sur place")
    with session_scope() as db:
        c = db.get(Controle, cid)
        assert c.reference.startswith("CTL-") and c.reference.endswith("-0001") and c.state == "compliant"
        assert c.findings[1]["status"] == "non_conforme"
        steps = transitions(db, "controles", cid)
    assert steps == [
        ("plan", None, "planned", "officer"),
        ("assign", "planned", "assigned", "officer"),
        ("schedule_visit", "assigned", "visit_scheduled", "controleur"),
        ("submit_report", "visit_scheduled", "report_submitted", "controleur"),
        ("conclude_compliant", "report_submitted", "compliant", "officer"),
    ]


def test_one_open_controle_per_agrement_and_only_valid_agrements(world):
    people, agrement_id = world
    plan(people, agrement_id)
    with pytest.raises(Conflict, match="déjà en cours"):
        plan(people, agrement_id)
    with session_scope() as db:
        with pytest.raises(Forbidden):
            svc.plan_controle(db, people["controleur"]["actor"], agrement_id, reason="x")
        with pytest.raises(NotFound):
            svc.plan_controle(db, officer(people), 999, reason="x")


def test_conflict_of_interest_is_refused(world):
    people, agrement_id = world
    cid = plan(people, agrement_id)
    ctrl = people["controleur"]
    with session_scope() as db:
        structure = db.exec(select(Structure)).one()
        conflicts.declare_link(db, officer(people), user_id=ctrl["id"], structure_id=structure.id,
                               kind="mandataire", reason="A accompagné la structure en 2024")
    with session_scope() as db, pytest.raises(conflicts.ConflictOfInterest) as exc:
        svc.assign(db, officer(people), cid, ctrl["id"])
    assert "Gaëlle Le Goff" in exc.value.message and "mandataire" in exc.value.message
    assert exc.value.status_code == 409
    with session_scope() as db:
        svc.assign(db, officer(people), cid, people["controleur2"]["id"])  # an independent one is fine
        assert db.get(Controle, cid).state == "assigned"


def test_the_mandataire_who_instructed_the_file_is_linked(world):
    people, _ = world
    with session_scope() as db:
        structure = db.exec(select(Structure)).one()
        links = conflicts.conflicting_links(db, people["mandataire"]["id"], structure.id)
    assert [link.kind for link in links] == ["mandataire"]


def test_only_the_assigned_controleur_acts_and_sees(world):
    people, agrement_id = world
    cid = plan(people, agrement_id)
    with session_scope() as db:
        svc.assign(db, officer(people), cid, people["controleur"]["id"])
    other = people["controleur2"]["actor"]
    with session_scope() as db:
        assert controle_queries.list_controles(db, other) == []
        with pytest.raises(NotFound):
            svc.schedule_visit(db, other, cid, visit_at=datetime.now(UTC) + timedelta(days=3), place="x")
        with pytest.raises(Forbidden):
            controle_queries.list_controles(db, people["mandataire"]["actor"])
        assert [c.id for c in controle_queries.list_controles(db, people["controleur"]["actor"])] == [cid]


def test_visit_rules_and_report_guard(world):
    people, agrement_id = world
    cid = plan(people, agrement_id)
    ctrl = people["controleur"]["actor"]
    with time_machine.travel(T0, tick=False):
        with session_scope() as db:
            svc.assign(db, officer(people), cid, ctrl.user_id)
        with session_scope() as db, pytest.raises(ValidationFailed, match="futur"):
            svc.schedule_visit(db, ctrl, cid, visit_at=T0 - timedelta(hours=1), place="Lyon")
        with session_scope() as db:
            svc.schedule_visit(db, ctrl, cid, visit_at=T0 + timedelta(days=5), place="Lyon")
        with session_scope() as db:
            svc.schedule_visit(db, ctrl, cid, visit_at=T0 + timedelta(days=6), place="Lyon, salle 2")
        with session_scope() as db:
            assert db.get(Controle, cid).visit_sequence == 1
        with session_scope() as db, pytest.raises(InvalidTransition, match="après la visite"):
            svc.submit_report(db, ctrl, cid, findings=FINDINGS, summary="trop tôt")
    with time_machine.travel(T0 + timedelta(days=7), tick=False), session_scope() as db:
        with pytest.raises(ValidationFailed, match="Constat n°1"):
            svc.submit_report(db, ctrl, cid, findings=[{"criterion": "", "status": "conforme"}], summary="x")


def test_action_plan_then_evidence_then_closure(world):
    people, agrement_id = world
    cid = to_report(people, agrement_id)
    with time_machine.travel(T0 + timedelta(days=12), tick=False):
        with session_scope() as db, pytest.raises(ValidationFailed):
            svc.decide(db, officer(people), cid, decision="action_plan", action_plan_items="Livrets")
        with session_scope() as db:
            svc.decide(db, officer(people), cid, decision="action_plan", reason="Écarts",
                       action_plan_items="Tenir les livrets à jour", action_plan_deadline=date(2027, 5, 1))
        with session_scope() as db, pytest.raises(InvalidTransition, match="Aucune preuve"):
            svc.close_action_plan(db, officer(people), cid)
        with session_scope() as db, pytest.raises(InvalidTransition, match="pas échu"):
            svc.escalate(db, SYSTEM, cid)
    structure_user = add_user("direction@aci1.example.org", "Direction ACI", Role.structure,
                              structure_id=_structure_id())
    with session_scope() as db:
        svc.add_evidence(db, structure_user["actor"], cid, EVIDENCE, "Livrets mis à jour")
        svc.close_action_plan(db, officer(people), cid, "Preuves suffisantes")
    with session_scope() as db:
        c = db.get(Controle, cid)
        assert c.state == "closed" and c.closed_at is not None
        assert [f.kind for f in controle_queries.files_of(db, cid)] == ["evidence"]
        assert db.get(Agrement, agrement_id).state == "active"


def _structure_id() -> int:
    with session_scope() as db:
        return db.exec(select(Structure)).one().id


def test_suspension_decision_suspends_the_agrement_and_blocks_registrations(world):
    people, agrement_id = world
    cid = to_report(people, agrement_id)
    with session_scope() as db:
        a = db.get(Agrement, agrement_id)
        assert agrement_queries.registration_allowed(db, a.structure_id, a.certification_id, date(2027, 6, 1))
    with session_scope() as db, pytest.raises(ValidationFailed):
        svc.decide(db, officer(people), cid, decision="suspension", reason=" ")
    with session_scope() as db:
        svc.decide(db, officer(people), cid, decision="suspension", reason="Encadrement absent")
    with session_scope() as db:
        a = db.get(Agrement, agrement_id)
        assert db.get(Controle, cid).state == "suspended" and a.state == "suspended"
        assert not agrement_queries.registration_allowed(db, a.structure_id, a.certification_id, date(2027, 6, 1))
        (event,) = [e for e in timeline(db, "agrements", agrement_id) if e.action == "suspend"]
        assert event.actor_role == "officer" and "CTL-" in event.reason


def test_withdrawal_decision_withdraws_the_agrement(world):
    people, agrement_id = world
    cid = to_report(people, agrement_id)
    with session_scope() as db:
        svc.decide(db, officer(people), cid, decision="withdrawal", reason="Manquements graves")
    with session_scope() as db:
        assert db.get(Agrement, agrement_id).state == "withdrawn"


def test_sampling_is_reproducible_and_skips_busy_agrements(world):
    people, first = world
    others = [grant_agrement(people, n) for n in (2, 3, 4, 5)]
    plan(people, others[0])  # already under contrôle
    with session_scope() as db:
        drawn = [c.agrement_id for c in svc.sample_controles(db, officer(people), count=2, seed=42)]
        db.rollback()
    with session_scope() as db:
        again = [c.agrement_id for c in svc.sample_controles(db, officer(people), count=2, seed=42)]
        reasons = {c.reason for c in db.exec(select(Controle).where(Controle.kind == "sampled"))}
    assert drawn == again and len(set(drawn)) == 2 and others[0] not in drawn
    assert reasons == {"Échantillonnage : 2 agrément(s) tiré(s) parmi 4 (graine 42)."}


def test_periodic_controles_are_planned_once(world, settings):
    people, agrement_id = world
    later = T0 + timedelta(days=settings.controle_periodic_after_days + 1)
    with time_machine.travel(T0 + timedelta(days=10), tick=False), session_scope() as db:
        assert svc.plan_periodic_controles(db, SYSTEM) == []
    with time_machine.travel(later, tick=False):
        with session_scope() as db:
            assert [c.agrement_id for c in svc.plan_periodic_controles(db, SYSTEM)] == [agrement_id]
        with session_scope() as db:
            assert svc.plan_periodic_controles(db, SYSTEM) == []
