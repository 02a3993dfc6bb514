"""The one read model of an EPSP training session (certification/training/read_model.py): read in a
bounded number of queries whatever the number of encadrants, and the API's response, the
back-office page and the letters' context all mapped from it."""

from __future__ import annotations

from datetime import timedelta

from api.training.pages import training_context as page_context
from api.training.router import session_out
from api.web.pages import principal
from api.web.session import WebUser
from certification.clock import today
from certification.db import session_scope
from certification.models import Role, User
from certification.training.models import TrainingSession
from certification.training.read_model import training_view
from flows.training import enrollment_entry, training_context
from tests.factories import add_structure, enroll_encadrant, plan_training, siret, structure_account
from tests.jury.test_jury_read_model import counted

NAMES = [("N'Diaye-Lefèvre", "Éloïse", 1), ("d'Harcourt", "Ophélie", 2), ("Da Silva", "João", 2),
         ("Ébène", "Anaïs", 1)]


def _session(people: dict) -> int:
    structures = {1: add_structure(1, name="L'Œuvre d'Harcourt"), 2: add_structure(2, name="Les Jardins de l'Étang")}
    structure_account(people, siret(2), "structure2")
    days = [today() + timedelta(days=7), today() + timedelta(days=8)]
    session_id = plan_training(people, days=days, hours="9 h – 17 h")
    for n, (last, first, structure) in enumerate(NAMES):
        enroll_encadrant(people, session_id, structures[structure], last_name=last, first_names=first,
                         email=f"encadrant{n}@example.org")
    return session_id


def _current(db, people: dict, key: str) -> WebUser:
    return WebUser(db.get(User, people[key]["id"]), people[key]["actor"], "jeton")


def test_a_session_is_read_in_a_bounded_number_of_queries(people):
    session_id = _session(people)
    with session_scope() as db:
        training = db.get(TrainingSession, session_id)
        with counted() as statements:
            view = training_view(db, training)
        assert [e.name for e in view.enrollments] == [f"{first} {last}" for last, first, _ in NAMES]
        assert [e.structure.name for e in view.enrollments] == [
            "L'Œuvre d'Harcourt", "Les Jardins de l'Étang", "Les Jardins de l'Étang", "L'Œuvre d'Harcourt"]
        assert view.formateur.full_name == "Océane Perrin" and view.enrolled == 4 and len(view.days) == 2
        # the enrollments, their encadrants, their structures, the formateur, the certification:
        # none per encadrant
        assert len(statements) <= 5, statements
        mine = training_view(db, training, people["structure2"]["actor"])
        assert [e.name for e in mine.enrollments] == ["Ophélie d'Harcourt", "João Da Silva"] and mine.enrolled == 4


def test_the_api_the_page_and_the_letters_show_one_reading(people):
    session_id = _session(people)
    with session_scope() as db:
        training = db.get(TrainingSession, session_id)
        for key in ("officer", "formateur", "structure2"):
            current = _current(db, people, key)
            out = session_out(db, principal(current), training)
            page = page_context(db, current, session_id)
            assert [(e.id, f"{e.first_names} {e.last_name}", e.structure_name) for e in out.enrollments] == [
                (e["id"], e["name"], e["structure"]) for e in page["enrollments"]]
            assert out.formateur_name == page["formateur"] == "Océane Perrin"
            assert out.days == page["days"]
            assert current.role is not Role.structure or len(out.enrollments) == 2
        view = training_view(db, training)
        letters = training_context(view)["training"]
        entries = [enrollment_entry(view, e) for e in view.enrollments]
    assert letters["formateur_name"] == "Océane Perrin" and letters["certification_code"] == "CQP_EPSP"
    assert [e["name"] for e in entries][:2] == ["Éloïse N'Diaye-Lefèvre", "Ophélie d'Harcourt"]
    assert [e["structure_name"] for e in entries][:2] == ["L'Œuvre d'Harcourt", "Les Jardins de l'Étang"]
    assert letters["days"] == out.days and [a["day"] for a in entries[0]["attendance"]] == out.days
