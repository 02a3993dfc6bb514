"""EPSP training and appuis pédagogiques: state machines, roles, audit trail, the agrément
prerequisite and the conflict of interest created by a training."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlmodel import select

from certification.audit import SYSTEM, timeline
from certification.controle import service as controle_svc
from certification.db import session_scope
from certification.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from certification.models import Role, StructureLink, User
from certification.training import queries as training_queries
from certification.training.models import Appui, Encadrant, TrainingEnrollment, TrainingSession
from certification.agrement import service as agrement_svc
from certification.training import appuis as ap
from certification.services import conflicts
from certification.training import service as tr
from certification.services.files import PieceIn
from tests.factories import (
    transitions,
    add_structure,
    add_user,
    completed_training,
    enroll_encadrant,
    grant_agrement,
    make_users,
    plan_training,
    siret,
    structure_account,
    structure_id_of,
    submit_request,
)

T0 = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
D1, D2 = date(2027, 3, 8), date(2027, 3, 9)


@pytest.fixture
def world():
    with time_machine.travel(T0, tick=False):
        people = make_users()
        people["formateur2"] = add_user("yann.kerleau@cqp.test", "Yann Kerléau", Role.formateur)
        s1 = add_structure(1, name="Les Jardins de l'Étang")
        s2 = add_structure(2, name="Régie <b>du</b> Quartier")
        structure_account(people, siret(1), "structure1")
        structure_account(people, siret(2), "structure2")
        sid = plan_training(people, days=[D1, D2])
    return people, sid, s1, s2


def actor(people, key="formateur"):
    return people[key]["actor"]


def test_full_training_path_with_audit_trail(world):
    people, sid, s1, s2 = world
    with time_machine.travel(T0, tick=False):
        e1 = enroll_encadrant(people, sid, s1)
        e2 = enroll_encadrant(
            people, sid, s2, first_names="Marc", last_name="D'Alembert", email="marc@regie.example.org"
        )
        with session_scope() as db, pytest.raises(ValidationFailed, match="à l'avance"):
            tr.record_attendance(db, actor(people), sid, day=D1, present={e1: True})
        with session_scope() as db, pytest.raises(InvalidTransition, match="ne commence que"):
            tr.start(db, actor(people), sid)
    with time_machine.travel(datetime(2027, 3, 8, 9, tzinfo=UTC), tick=False), session_scope() as db:
        tr.record_attendance(db, actor(people), sid, day=D1, present={e1: True, e2: True})  # opens the session
    with time_machine.travel(datetime(2027, 3, 9, 17, tzinfo=UTC), tick=False):
        with session_scope() as db:
            tr.record_attendance(db, actor(people), sid, day=D2, present={e1: True, e2: False})
        with session_scope() as db, pytest.raises(InvalidTransition, match="présence à chaque journée"):
            tr.record_outcome(db, actor(people), sid, e2, completed=True)
        with session_scope() as db, pytest.raises(ValidationFailed, match="motif"):
            tr.record_outcome(db, actor(people), sid, e2, completed=False)
        with session_scope() as db, pytest.raises(InvalidTransition, match="Résultat à enregistrer"):
            tr.close(db, actor(people), sid)
        with session_scope() as db:
            tr.record_outcome(db, actor(people), sid, e2, completed=False, reason="Absent le 9 mars (maladie)")
            tr.record_outcome(db, actor(people), sid, e1, completed=True)
        with session_scope() as db:
            tr.close(db, actor(people), sid, "Session close")
    with session_scope() as db:
        training = db.get(TrainingSession, sid)
        first, second = db.get(TrainingEnrollment, e1), db.get(TrainingEnrollment, e2)
        assert training.state == "closed" and training.reference == "FEPSP-2027-0001"
        assert first.state == "completed" and first.attestation_number == "AF-EPSP-2027-0001"
        assert first.attendance == {"2027-03-08": True, "2027-03-09": True}
        assert second.state == "not_completed" and second.attestation_number is None
        trained = {e.email: e.epsp_trained_on for e in db.exec(select(Encadrant))}
        assert trained == {"zoe.lhopital@aci.example.org": D2, "marc@regie.example.org": None}
        assert training_queries.epsp_trained(db, s1) and not training_queries.epsp_trained(db, s2)
        steps = transitions(db, "training_sessions", sid)
        assert steps == [
            ("plan", None, "planned", "formateur"),
            ("enroll", "planned", "planned", "formateur"),
            ("enroll", "planned", "planned", "formateur"),
            ("start", "planned", "in_progress", "formateur"),
            ("record_attendance", "in_progress", "in_progress", "formateur"),
            ("record_attendance", "in_progress", "in_progress", "formateur"),
            ("close", "in_progress", "closed", "formateur"),
        ]
        assert [(e.action, e.to_state) for e in timeline(db, "training_enrollments", e1)] == [
            ("register", "registered"),
            ("complete", "completed"),
        ]
        assert timeline(db, "training_enrollments", e2)[-1].reason == "Absent le 9 mars (maladie)"
        links = db.exec(
            select(StructureLink.structure_id, StructureLink.kind).where(
                StructureLink.user_id == people["formateur"]["id"]
            )
        ).all()
        assert links == [(s1, "formateur")]  # the structure whose encadrant completed, only


def test_a_formateur_sees_and_acts_on_his_own_sessions_only(world):
    people, sid, s1, s2 = world
    other = actor(people, "formateur2")
    with time_machine.travel(T0, tick=False):
        with session_scope() as db:
            assert training_queries.list_sessions(db, other) == []
            with pytest.raises(NotFound):
                training_queries.get_training_session(db, other, sid)
            with pytest.raises(NotFound):
                tr.enroll(db, other, sid, structure_id=s1, last_name="X", first_names="Y", email="x@y.org")
            with pytest.raises(Forbidden):
                tr.plan_session(db, other, days=[D1], place="Brest", formateur_id=people["formateur"]["id"])
            for role in ("mandataire", "controleur"):
                with pytest.raises(Forbidden):
                    training_queries.list_sessions(db, actor(people, role))
                with pytest.raises(Forbidden):
                    tr.plan_session(db, actor(people, role), days=[D1], place="Brest")
            assert [t.id for t in training_queries.list_sessions(db, actor(people))] == [sid]
            assert [t.id for t in training_queries.list_sessions(db, actor(people, "officer"))] == [sid]
            with pytest.raises(ValidationFailed, match="Désignez le formateur"):
                tr.plan_session(db, actor(people, "officer"), days=[D1], place="Brest")
            with pytest.raises(ValidationFailed, match="formateur EPSP actif"):
                tr.plan_session(
                    db, actor(people, "officer"), days=[D1], place="Brest", formateur_id=people["controleur"]["id"]
                )
            by_officer = tr.plan_session(
                db, actor(people, "officer"), days=[D1], place="Brest", formateur_id=people["formateur2"]["id"]
            )
            assert [t.id for t in training_queries.list_sessions(db, other)] == [by_officer.id]
        e1 = enroll_encadrant(people, sid, s1)
        enroll_encadrant(people, sid, s2, email="autre@regie.example.org")
        with session_scope() as db:
            structure1 = actor(people, "structure1")
            assert [t.id for t in training_queries.list_sessions(db, structure1)] == [sid]
            assert [e.id for e in training_queries.enrollments_of(db, sid, structure1)] == [e1]
            assert [e.structure_id for e in training_queries.list_encadrants(db, structure1)] == [s1]
            assert len(training_queries.list_encadrants(db, actor(people, "officer"))) == 2
            assert training_queries.list_encadrants(db, other) == []
            with pytest.raises(Forbidden):
                tr.enroll(db, structure1, sid, structure_id=s1, last_name="X", first_names="Y", email="x@y.org")
            with pytest.raises(Forbidden):
                training_queries.list_encadrants(db, actor(people, "mandataire"))


def test_enrollment_rules(world):
    people, sid, s1, s2 = world
    with time_machine.travel(T0, tick=False):
        with session_scope() as db:
            small = tr.plan_session(db, actor(people), days=[D1], place="Vannes", capacity=1).id
        enroll_encadrant(people, small, s1)
        with pytest.raises(Conflict, match="complète"):
            enroll_encadrant(people, small, s2, email="autre@example.org")
        enroll_encadrant(people, sid, s1, email="ZOE.lhopital@aci.example.org ")  # same person, other session
        with pytest.raises(Conflict, match="déjà inscrit"):
            enroll_encadrant(people, sid, s1)
        with session_scope() as db:
            assert len(db.exec(select(Encadrant)).all()) == 1
            with pytest.raises(ValidationFailed, match="pas une journée"):
                tr.record_attendance(db, actor(people), sid, day=date(2027, 3, 10), present={1: True})
            with pytest.raises(ValidationFailed, match="à venir"):
                tr.plan_session(db, actor(people), days=[date(2027, 2, 1)], place="Vannes")
            with pytest.raises(ValidationFailed, match="deux fois"):
                tr.plan_session(db, actor(people), days=[D1, D1], place="Vannes")


def test_reschedule_and_cancel(world):
    people, sid, s1, s2 = world
    with time_machine.travel(T0, tick=False):
        e1 = enroll_encadrant(people, sid, s1)
        with session_scope() as db:
            tr.reschedule(db, actor(people), sid, days=[D1, date(2027, 3, 15)], place="Rennes, salle Ouessant")
        with session_scope() as db, pytest.raises(ValidationFailed, match="Rien ne change"):
            tr.reschedule(db, actor(people), sid, days=[D1, date(2027, 3, 15)], place="Rennes, salle Ouessant")
        with session_scope() as db:
            training = db.get(TrainingSession, sid)
            assert training.schedule_sequence == 1 and training.end_date == date(2027, 3, 15)
        with session_scope() as db, pytest.raises(ValidationFailed, match="motif"):
            tr.cancel(db, actor(people), sid, " ")
        with session_scope() as db:
            tr.cancel(db, actor(people, "officer"), sid, "Formateur indisponible")
        with session_scope() as db:
            assert db.get(TrainingSession, sid).state == "cancelled"
            enrollment = db.get(TrainingEnrollment, e1)
            assert enrollment.state == "withdrawn" and "Formateur indisponible" in enrollment.outcome_reason
            assert [e.actor_role for e in timeline(db, "training_enrollments", e1)][-1] == "officer"
    # A session where someone completed cannot be cancelled any more.
    done, _ = completed_training(people, add_structure(3))
    with session_scope() as db, pytest.raises(InvalidTransition, match="ne peut plus être annulée"):
        tr.cancel(db, actor(people), done, "Erreur")


def test_completion_is_the_agrement_prerequisite_in_place_of_the_attestation_piece(world):
    people, _, _, _ = world
    dossier_only = [PieceIn("dossier", "dossier.pdf", "application/pdf", 1200, "a" * 64, "uploads/aa/aa/a.pdf")]
    rid = submit_request(actor(people, "mandataire"), 7, pieces_in=dossier_only)
    with session_scope() as db, pytest.raises(InvalidTransition, match="attestation de formation EPSP"):
        agrement_svc.declare_admissible(db, actor(people, "officer"), rid)
    structure_id = structure_id_of(7)
    # An encadrant trained for another structure does not count.
    completed_training(people, add_structure(8))
    with session_scope() as db, pytest.raises(InvalidTransition, match="attestation de formation EPSP"):
        agrement_svc.declare_admissible(db, actor(people, "officer"), rid)
    completed_training(people, structure_id, formateur="formateur2", email="chef.atelier@aci7.example.org")
    with session_scope() as db:
        request = agrement_svc.declare_admissible(db, actor(people, "officer"), rid)
        assert request.state == "under_review"  # admissible, and the review opened at once


def test_a_formateur_who_trained_a_structure_cannot_audit_it_nor_sit_on_its_jury(world):
    people, _, _, _ = world
    agrement_id = grant_agrement(people, 9)
    structure_id = structure_id_of(9)
    completed_training(people, structure_id)
    formateur = people["formateur"]
    # The same person later becomes a contrôleur (and jury member): the link stays with him.
    with session_scope() as db:
        db.get(User, formateur["id"]).role = Role.controleur.value
    with session_scope() as db:
        controle_id = controle_svc.plan_controle(db, actor(people, "officer"), agrement_id, reason="Sur demande").id
    with session_scope() as db, pytest.raises(conflicts.ConflictOfInterest) as exc:
        controle_svc.assign(db, actor(people, "officer"), controle_id, formateur["id"])
    assert exc.value.status_code == 409 and "a formé le personnel de la structure" in exc.value.message
    with session_scope() as db:
        from certification.models import Structure

        user, structure = db.get(User, formateur["id"]), db.get(Structure, structure_id)
        with pytest.raises(conflicts.ConflictOfInterest, match="siéger au jury"):
            conflicts.ensure_independent(db, user, structure, purpose="siéger au jury d'un candidat de")
        controle_svc.assign(db, actor(people, "officer"), controle_id, people["controleur"]["id"])  # independent


def test_system_opens_a_session_on_its_first_day_only(world):
    people, sid, _, _ = world
    with time_machine.travel(T0, tick=False), session_scope() as db, pytest.raises(InvalidTransition):
        tr.start(db, SYSTEM, sid)
    with time_machine.travel(datetime(2027, 3, 8, 6, tzinfo=UTC), tick=False), session_scope() as db:
        tr.start(db, SYSTEM, sid)
        assert db.get(TrainingSession, sid).state == "in_progress"


# --- appuis pédagogiques -------------------------------------------------------------------


def test_appui_path_roles_and_audit(world):
    people, _, s1, s2 = world
    structure1, officer, formateur = actor(people, "structure1"), actor(people, "officer"), actor(people)
    with time_machine.travel(T0, tick=False):
        with session_scope() as db:
            with pytest.raises(Forbidden):
                ap.request_appui(db, actor(people, "mandataire"), subject="x", need="y")
            with pytest.raises(Forbidden):
                ap.request_appui(db, structure1, subject="x", need="y", structure_id=s2)
            appui = ap.request_appui(
                db, structure1, subject="Évaluation des blocs", need="Aide à l'évaluation <en situation> de production"
            )
            aid = appui.id
            assert appui.reference == "AP-2027-0001" and appui.structure_id == s1
        with session_scope() as db:
            assert training_queries.list_appuis(db, actor(people, "structure2")) == []
            assert training_queries.list_appuis(db, formateur) == []
            with pytest.raises(NotFound):
                training_queries.get_appui(db, actor(people, "structure2"), aid)
            with pytest.raises(Forbidden):
                training_queries.list_appuis(db, actor(people, "controleur"))
            with pytest.raises(Forbidden):
                ap.assign(db, structure1, aid, formateur.user_id)
            with pytest.raises(ValidationFailed, match="formateur EPSP actif"):
                ap.assign(db, officer, aid, people["controleur"]["id"])
        with session_scope() as db:
            ap.assign(db, officer, aid, formateur.user_id)
        with session_scope() as db:
            with pytest.raises(Forbidden):  # assigned: the structure can no longer cancel
                ap.cancel(db, structure1, aid, "Plus besoin")
            with pytest.raises(NotFound):
                ap.schedule_visit(db, actor(people, "formateur2"), aid, visit_at=T0 + timedelta(days=3), place="x")
            with pytest.raises(Forbidden):
                ap.assign(db, formateur, aid, formateur.user_id)
            link = db.exec(select(StructureLink).where(StructureLink.user_id == formateur.user_id)).one()
            assert (link.structure_id, link.kind) == (s1, "formateur")
        with session_scope() as db:
            ap.schedule_visit(db, formateur, aid, visit_at=T0 + timedelta(days=3), place="Atelier de l'Étang")
        with session_scope() as db, pytest.raises(InvalidTransition, match="après la visite"):
            ap.report(db, formateur, aid, text="trop tôt")
    with time_machine.travel(T0 + timedelta(days=4), tick=False):
        with session_scope() as db, pytest.raises(ValidationFailed):
            ap.report(db, formateur, aid, text="  ")
        with session_scope() as db, pytest.raises(Forbidden):
            ap.report(db, officer, aid, text="Compte rendu")
        with session_scope() as db:
            ap.report(db, formateur, aid, text="Grille d'évaluation remise ; suivi dans 3 mois.")
    with session_scope() as db:
        appui = db.get(Appui, aid)
        assert appui.state == "reported" and appui.reported_at == T0 + timedelta(days=4)
        steps = transitions(db, "appuis", aid)
    assert steps == [
        ("request", None, "requested", "structure"),
        ("assign", "requested", "assigned", "officer"),
        ("schedule_visit", "assigned", "scheduled", "formateur"),
        ("report", "scheduled", "reported", "formateur"),
    ]


def test_a_structure_cancels_its_request_before_assignment(world):
    people, _, s1, _ = world
    with session_scope() as db:
        aid = ap.request_appui(
            db, actor(people, "officer"), subject="Tutorat", need="Former un tuteur", structure_id=s1
        ).id
    with session_scope() as db:
        ap.cancel(db, actor(people, "structure1"), aid, "Besoin couvert en interne")
    with session_scope() as db:
        appui = db.get(Appui, aid)
        assert appui.state == "cancelled" and appui.cancel_reason == "Besoin couvert en interne"
        assert [e.actor_role for e in timeline(db, "appuis", aid)] == ["officer", "structure"]
