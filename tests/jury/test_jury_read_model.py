"""The one read model of a jury session (certification/jury/read_model.py): read in a bounded
number of queries whatever the number of candidates, and the API's response, the back-office page
and the documents' context all mapped from it."""

from __future__ import annotations

from api.jury.router import jury_out
from api.web.pages import principal
from api.web.session import WebUser
from api.jury.pages import jury_page_context
from certification.db import session_scope
from certification.jury.models import JurySession
from certification.jury.read_model import jury_view
from certification.models import User
from flows.jury import jury_context
from tests.statements import counted
from tests.factories import PARTIAL, deliberated_session, grant_agrement, issue_results, ready_candidates
from tests.factories import siret, structure_account

NAMES = [
    ("N'Diaye-Lefèvre", "Éloïse"),
    ("d'Harcourt", "Ophélie"),
    ("Martin", "Jean"),
    ("Ébène", "Anaïs"),
    ("Da Silva", "João"),
]


def _session(people: dict) -> tuple[int, list[int]]:
    grant_agrement(people, 1)
    grant_agrement(people, 2, name="L'Œuvre d'Harcourt")
    first = ready_candidates(structure_account(people, siret(1)), 2, names=NAMES[:2], sexes=["F", "F"])
    other = ready_candidates(
        structure_account(people, siret(2), "other"), 3, first=3, names=NAMES[2:], sexes=["M", "F", "M"]
    )
    ids = first + other
    session_id = deliberated_session(people, ids, {ids[0]: PARTIAL})
    issue_results(session_id)
    return session_id, ids


def test_a_session_is_read_in_a_bounded_number_of_queries(people):
    session_id, ids = _session(people)
    with session_scope() as db:
        jury = db.get(JurySession, session_id)
        with counted() as statements:
            view = jury_view(db, jury, checks=False)
        assert [c.candidate.id for c in view.candidates] == ids
        assert [c.structure.name for c in view.candidates] == ["Chantier d'insertion n°1 — Saint-Étienne"] * 2 + [
            "L'Œuvre d'Harcourt"
        ] * 3
        assert [s.name for s in view.structures] == ["Chantier d'insertion n°1 — Saint-Étienne", "L'Œuvre d'Harcourt"]
        assert view.president is not None and view.president.user.full_name == "Anne-Sophie Président"
        assert view.signer is not None and view.signer.id == people["presidente"]["id"]
        assert all(c.certificate is not None for c in view.candidates)
        assert view.candidates[0].results == PARTIAL and not view.mixed_versions
        # members, their accounts, the certification, the registrations, the candidates, their
        # structures, the results, the certificates, the version and its blocs: none per candidate
        assert len(statements) <= 10, statements


def test_the_api_the_page_and_the_documents_show_one_reading(people):
    session_id, ids = _session(people)
    officer = people["officer"]
    with session_scope() as db:
        jury = db.get(JurySession, session_id)
        current = WebUser(db.get(User, officer["id"]), officer["actor"], "jeton")
        out = jury_out(db, principal(current), jury)
        page = jury_page_context(db, current, session_id)
        documents = jury_context(db, jury)["jury"]
    assert (
        [c.candidate_id for c in out.candidates]
        == [c["id"] for c in page["candidates"]]
        == [c["id"] for c in documents["candidates"]]
        == ids
    )
    assert [c["name"] for c in page["candidates"]][:2] == ["Éloïse N'Diaye-Lefèvre", "Ophélie d'Harcourt"]
    assert [(c.outcome, c.outcome_label) for c in out.candidates][:2] == [
        ("partial", "validation partielle"),
        ("certified", "certification obtenue"),
    ]
    assert [c["outcome_label"] for c in documents["candidates"]][:2] == [
        "validation partielle",
        "certification obtenue",
    ]
    assert [m.full_name for m in out.members] == [m["name"] for m in documents["members"]]
    assert documents["president_name"] == "Anne-Sophie Président" == documents["pv_signed_by"]
    assert page["bloc_titles"] == out.candidates[0].bloc_titles
    assert out.members_count == 4 and out.candidates_count == 5
