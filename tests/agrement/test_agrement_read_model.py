"""The read models of the agrément (certification/agrement/read_model.py), a request's and a granted
agrément's: the API's response, the back-office page and the letters' and e-mails' context all
mapped from each."""

from __future__ import annotations

from api.agrement.pages import agrement_context as agrement_page
from api.agrement.pages import request_context as page_context
from api.agrement.router import request_out
from api.agrement.router_agrements import agrement_detail
from api.web.pages import principal
from api.web.session import WebUser
from certification.agrement import lifecycle
from certification.agrement import service as svc
from certification.agrement.models import Agrement, AgrementRequest
from certification.agrement.read_model import agrement_view, request_view
from certification.db import session_scope
from certification.models import User
from flows.agrement_lifecycle import agrement_context
from flows.context import request_context
from tests.factories import grant_agrement, pieces, submit_request


def test_the_api_the_page_and_the_letters_show_one_reading(people):
    officer, mandataire = people["officer"], people["mandataire"]
    request_id = submit_request(mandataire["actor"], 1, name="Éloïse N'Diaye-Lefèvre")
    with session_scope() as db:
        svc.request_complements(db, officer["actor"], request_id, "L'attestation est illisible.", deadline_days=15)
        svc.provide_complements(
            db, mandataire["actor"], request_id, comment="Voici l'attestation d'Ophélie.", pieces=pieces()[1:]
        )
    with session_scope() as db:
        request = db.get(AgrementRequest, request_id)
        view = request_view(db, request)
        current = WebUser(db.get(User, officer["id"]), officer["actor"], "jeton")
        out = request_out(db, principal(current), request)
        page = page_context(db, current, request_id)
        first, second = request_context(view, 1)["request"], request_context(view)["request"]
    assert view.agrement is None and len(view.complements_at) == 1
    assert out.structure_name == page["structure"].name == second["structure_name"] == "Éloïse N'Diaye-Lefèvre"
    assert out.mandataire_name == page["mandataire"].full_name == second["mandataire_name"] == "Hélène Dubois-Lefèvre"
    assert (
        [p.original_name for p in out.pieces]
        == [p.original_name for p in page["pieces"]]
        == ["dossier d'agrément.pdf", "attestation EPSP.pdf", "attestation EPSP.pdf"]
    )
    assert [p["filename"] for p in first["pieces"]] == ["dossier d'agrément.pdf", "attestation EPSP.pdf"]
    assert [p["filename"] for p in second["pieces"]] == ["attestation EPSP.pdf"] and second["round"] == 2
    assert first["submitted_at"] == request.submitted_at and second["submitted_at"] == view.complements_at[0]
    assert out.certification_code == page["certification"].code == second["certification_code"] == "CQP_SP"
    assert second["scope"][0].startswith("SP-B1 — ") and len(second["scope"]) == len(out.scope)


def test_a_granted_agrement_is_shown_from_one_reading(people):
    officer, mandataire = people["officer"], people["mandataire"]
    agrement_id = grant_agrement(people, 1, name="Ophélie d'Harcourt")
    with session_scope() as db:
        lifecycle.suspend(db, officer["actor"], agrement_id, "Manquement à l'obligation d'information.")
    with session_scope() as db:
        current = WebUser(db.get(User, officer["id"]), officer["actor"], "jeton")
        page = agrement_page(db, current, agrement_id)
        view = agrement_view(db, db.get(Agrement, agrement_id))
        out, mail = agrement_detail(db, principal(current), view.agrement), agrement_context(view)["agrement"]
    assert view.mandataire is not None and view.mandataire.id == mandataire["id"]
    assert view.renewal is None and view.successor is None and view.request is page["request_row"]
    assert out.structure_name == page["structure"].name == mail["structure_name"] == "Ophélie d'Harcourt"
    assert out.certification_title == page["certification"].title == mail["certification_title"]
    assert out.days_left == mail["days_left"] == view.days_left
    assert out.state_label == mail["state_label"] == "suspendu" and out.request_id == view.request.id
    assert mail["reason"] == view.last_reason == "Manquement à l'obligation d'information."
