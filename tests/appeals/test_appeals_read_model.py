"""The one read model of an appeal (certification/appeals/read_model.py): the API's response, the
back-office page and the letters' context all mapped from it."""

from __future__ import annotations

from api.appeals.pages import appeal_context as page_context
from api.appeals.router import appeal_out
from api.web.pages import principal
from api.web.session import WebUser
from certification.appeals import service as appeals
from certification.appeals.read_model import appeal_view
from certification.db import session_scope
from certification.models import User
from flows.appeals import appeal_context
from tests.factories import PARTIAL, deliberated_session, issue_results, ready_candidates, users_and_agreed_structure


def test_the_api_the_page_and_the_letters_show_one_reading():
    people = users_and_agreed_structure()
    (cid,) = ready_candidates(people["structure"], 1, names=[("N'Diaye-Lefèvre", "Éloïse")], sexes=["F"])
    sid = deliberated_session(people, [cid], {cid: PARTIAL})
    issue_results(sid)
    officer = people["officer"]
    structure, grounds = people["structure"]["actor"], "Évaluation du bloc SP-B2 contestée."
    with session_scope() as db:
        appeal = appeals.file_appeal(db, structure, candidate_id=cid, jury_session_id=sid, grounds=grounds)
        appeal_id = appeal.id
    with session_scope() as db:
        appeal = appeals.declare_admissible(db, officer["actor"], appeal_id)
        view = appeal_view(db, appeal)
        current = WebUser(db.get(User, officer["id"]), officer["actor"], "jeton")
        out = appeal_out(db, principal(current), appeal)
        page = page_context(db, current, appeal_id)
        letter = appeal_context(view)["recours"]
    assert view.registration is not None and view.registration.outcome == "partial"
    assert dict(view.results) == PARTIAL and view.deadline is not None
    assert out.candidate_name == letter["candidate_name"] == "Éloïse N'Diaye-Lefèvre"
    assert out.deadline == page["deadline"] == letter["deadline"] == view.deadline
    assert out.session_reference == page["jury"].reference == letter["jury_reference"]
    assert page["results_label"] == "SP-B1 : validé, SP-B2 : non validé, SP-B3 : validé"
    assert page["outcome"] == "validation partielle" and page["structure"].name == letter["structure_name"]
    assert sorted(page["bloc_titles"]) == ["SP-B1", "SP-B2", "SP-B3"]
