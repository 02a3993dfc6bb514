"""The one read model of a contrôle d'agrément (certification/controle/read_model.py): read in a
bounded number of queries whatever the number of its files, and the API's response, the back-office
page and the letters' context all mapped from it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import time_machine

from api.controle.pages import controle_context as page_context
from api.controle.router import controle_out
from api.web.pages import principal
from api.web.session import WebUser
from certification.controle import service as svc
from certification.controle.models import Controle
from certification.controle.read_model import controle_view
from certification.db import session_scope
from certification.models import Role, User
from certification.services.files import PieceIn
from flows.controle import controle_context
from tests.factories import add_user, grant_agrement, make_users
from tests.statements import counted

T0 = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
FINDINGS = [{"criterion": "Livret d'évaluation des blocs", "status": "non_conforme", "comment": "Absent"}]


def _piece(kind: str, name: str, n: int) -> PieceIn:
    return PieceIn(kind, name, "application/pdf", 100, f"{n:064x}", f"uploads/{n:02x}/{n:02x}/{n}.pdf")


def _controle_with_files(people: dict, agrement_id: int, evidence: int) -> int:
    """A contrôle under an action plan: its report signed, ``evidence`` pieces of evidence deposited."""
    officer, ctrl = people["officer"]["actor"], people["controleur"]["actor"]
    with time_machine.travel(T0, tick=False), session_scope() as db:
        cid = svc.plan_controle(db, officer, agrement_id, reason="Signalement d'un partenaire").id
        svc.assign(db, officer, cid, ctrl.user_id)
        svc.schedule_visit(db, ctrl, cid, visit_at=T0 + timedelta(days=10), place="Atelier de Saint-Étienne")
    with time_machine.travel(T0 + timedelta(days=11), tick=False), session_scope() as db:
        svc.submit_report(db, ctrl, cid, findings=FINDINGS, summary="Écarts sur le suivi des blocs.",
                          files=[_piece("rapport", "rapport signé.pdf", 1)])
        svc.decide(db, officer, cid, decision="action_plan", reason="Écarts", action_plan_items="Livrets",
                   action_plan_deadline=date(2027, 4, 30))
        svc.add_evidence(db, officer, cid, [_piece("evidence", f"preuve d'Éloïse {n}.pdf", 10 + n)
                                            for n in range(evidence)], "Preuves reçues")
    return cid


def test_the_api_the_page_and_the_letters_show_one_reading():
    with time_machine.travel(T0, tick=False):
        people = make_users()
        people["controleur"] = add_user("ophelie@cqp.test", "Ophélie d'Harcourt", Role.controleur, sex="F")
        agrements = grant_agrement(people, 1, name="Régie d'Éloïse N'Diaye-Lefèvre"), grant_agrement(people, 2)
    three, one = (_controle_with_files(people, agrement_id, n) for agrement_id, n in zip(agrements, (3, 1)))
    officer = people["officer"]
    with session_scope() as db:
        controle = db.get(Controle, one)
        with counted() as one_read:
            controle_view(db, controle)
    with session_scope() as db:
        controle = db.get(Controle, three)
        with counted() as statements:
            view = controle_view(db, controle)
        current = WebUser(db.get(User, officer["id"]), officer["actor"], "jeton")
        out = controle_out(db, principal(current), controle)
        page = page_context(db, current, three)
        letter = controle_context(view)["controle"]
    assert len(statements) == len(one_read) == 5  # agrément, certification, structure, contrôleur, files
    assert [f.kind for f in view.files] == ["rapport", "evidence", "evidence", "evidence"]
    assert [e["filename"] for e in letter["evidence"]] == [f"preuve d'Éloïse {n}.pdf" for n in range(3)]
    assert [f.original_name for f in out.files] == [f.original_name for f in page["files"]] \
        == [f.original_name for f in view.files]
    assert out.structure_name == page["structure"].name == letter["structure_name"] \
        == "Régie d'Éloïse N'Diaye-Lefèvre"
    assert out.controleur_name == page["controleur"].full_name == letter["controleur_name"] == "Ophélie d'Harcourt"
    assert out.agrement_number == page["agrement"].number == letter["agrement_number"]
    assert letter["certification_title"] == view.certification.title
