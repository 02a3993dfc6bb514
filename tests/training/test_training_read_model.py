"""The read models of the EPSP training (certification/training/read_model.py): a session read in a
bounded number of queries whatever the number of encadrants, and the API's response, the
back-office page and the letters' context all mapped from it; an appui pédagogique likewise."""

from __future__ import annotations

from datetime import timedelta

from api.training.pages import training_context as page_context
from api.training.pages_appuis import appui_context as appui_page
from api.training.router_appuis import appui_out
from api.training.router import session_out
from api.web.pages import principal
from api.web.session import WebUser
from certification.clock import today
from certification.db import session_scope
from certification.models import Role, User
from certification.training import appuis as ap
from certification.training.models import Appui, TrainingSession
from certification.training.read_model import appui_view, training_view
from flows.training import appui_context, enrollment_entry, training_context
from tests.factories import add_structure, enroll_encadrant, plan_training, siret, structure_account
from tests.statements import counted

NAMES = [("N'Diaye-Lefèvre", "Éloïse", 1), ("d'Harcourt", "Ophélie", 2), ("Da Silva", "João", 2), ("Ébène", "Anaïs", 1)]


def _session(people: dict) -> int:
    structures = {1: add_structure(1, name="L'Œuvre d'Harcourt"), 2: add_structure(2, name="Les Jardins de l'Étang")}
    structure_account(people, siret(2), "structure2")
    days = [today() + timedelta(days=7), today() + timedelta(days=8)]
    session_id = plan_training(people, days=days, hours="9 h – 17 h")
    for n, (last, first, structure) in enumerate(NAMES):
        enroll_encadrant(
            people,
            session_id,
            structures[structure],
            last_name=last,
            first_names=first,
            email=f"encadrant{n}@example.org",
        )
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
            "L'Œuvre d'Harcourt",
            "Les Jardins de l'Étang",
            "Les Jardins de l'Étang",
            "L'Œuvre d'Harcourt",
        ]
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
                (e["id"], e["name"], e["structure"]) for e in page["enrollments"]
            ]
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


def test_an_appui_is_read_once_for_the_api_the_page_and_the_e_mails(people):
    add_structure(1, name="L'Œuvre d'Harcourt")
    structure_account(people, siret(1), "structure1")
    with session_scope() as db:
        appui_id = ap.request_appui(
            db,
            people["structure1"]["actor"],
            subject="Tutorat de l'équipe d'Éloïse",
            need="Accompagner Ophélie d'Harcourt",
        ).id
        ap.assign(db, people["officer"]["actor"], appui_id, people["formateur"]["id"])
    with session_scope() as db:
        appui = db.get(Appui, appui_id)
        with counted() as statements:
            view = appui_view(db, appui)
        assert len(statements) <= 2, statements  # the structure; the formateur and the requester at once
        assert view.structure.name == "L'Œuvre d'Harcourt" and view.formateur is not None
        for key in ("officer", "formateur", "structure1"):
            current = _current(db, people, key)
            out = appui_out(db, principal(current), appui)
            page = appui_page(db, current, appui_id)
            assert out.structure_name == page["structure"].name == "L'Œuvre d'Harcourt"
            assert out.formateur_name == page["formateur"] == "Océane Perrin"
        e_mails = appui_context(view)["appui"]
    assert e_mails["structure_name"] == out.structure_name and e_mails["formateur_name"] == out.formateur_name
    assert e_mails["requested_by"] == page["requested_by"] == view.requester.full_name
