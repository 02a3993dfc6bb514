"""The one read model of a candidate (certification/candidates/read_model.py): the API's response
and the back-office page mapped from one reading, in a bounded number of queries."""

from __future__ import annotations

from api.candidates.pages import candidate_context
from api.candidates.router import candidate_out
from api.web.pages import principal
from api.web.session import WebUser
from certification.candidates.models import Candidate
from certification.candidates.read_model import candidate_view
from certification.db import session_scope
from certification.models import User
from tests.factories import PARTIAL, deliberated_session, grant_agrement, issue_results, ready_candidates
from tests.factories import siret, structure_account
from tests.statements import counted

NAMES = [("N'Diaye-Lefèvre", "Éloïse"), ("d'Harcourt", "Ophélie")]


def _candidates(people: dict) -> list[int]:
    grant_agrement(people, 1)
    ids = ready_candidates(structure_account(people, siret(1)), 2, names=NAMES, sexes=["F", "F"])
    issue_results(deliberated_session(people, ids, {ids[0]: PARTIAL}))
    return ids


def test_a_candidate_is_read_once_for_the_api_and_the_page(people):
    partial, certified = _candidates(people)
    with session_scope() as db:
        for candidate_id in (partial, certified):
            candidate = db.get(Candidate, candidate_id)
            with counted() as statements:
                view = candidate_view(db, candidate)
            assert len(statements) <= 12, statements  # none per evaluation, jury nor certificate
            assert len(view.juries) == 1 and len(view.certificates) == 1
            for key in ("officer", "structure", "presidente"):
                current = WebUser(db.get(User, people[key]["id"]), people[key]["actor"], "jeton")
                out = candidate_out(db, principal(current), candidate)
                page = candidate_context(db, current, candidate_id)
                assert out.structure_name == page["structure"].name
                assert out.missing_blocs == page["missing"] == view.missing
                assert [h.bloc_code for h in out.held_blocs] == sorted(code for code, _ in page["held"])
                assert [e.id for e in out.evaluations] == [e.id for e, _label, _files in page["evaluations"]]
                assert out.vae_dossier_id == page["vae_dossier_id"] is None
                assert len(page["certificates"]) == (0 if key == "presidente" else 1)
        names = [db.get(Candidate, i).first_names for i in (partial, certified)]
    assert names == ["Éloïse", "Ophélie"]
    assert [j.outcome for j in out.juries] == ["certified"] and out.missing_blocs == []
