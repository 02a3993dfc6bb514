"""Every action of the back-office, table-driven (tests/web/scenarios), and the inbox of each role."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlmodel import select

from certification.audit import SYSTEM
from certification.clock import today
from certification.controle.models import Controle
from certification.db import session_scope
from certification.models import AuditEvent
from certification.jury.models import JurySession
from certification.candidates.models import Candidate
from tests.factories import (
    add_structure,
    grant_agrement,
    ready_candidates,
)
from tests.web import scenarios
from tests.web.conftest import csrf_of, hidden_fields, page_csrf


# --- every action of the back-office, table-driven (tests/web/scenarios/) -------------------------

FLOWS = ("agrement_request_changed", "agrement_changed", "controle_changed", "jury_changed",
         "training_session_changed", "appui_changed", "certificate_changed")


def audit_count() -> int:
    with session_scope() as db:
        return len(db.exec(select(AuditEvent.id)).all())


@pytest.fixture
def flows(monkeypatch):
    """The flows the actions trigger (flows.dispatch), recorded instead of run."""
    from flows import dispatch

    runs: list[tuple[str, int]] = []
    for name in FLOWS:
        async def record(entity_id: int, name: str = name) -> None:
            runs.append((name, entity_id))

        monkeypatch.setattr(dispatch, name, record)
    return runs


@pytest.mark.parametrize("case", scenarios.CASES, ids=lambda c: c.key)
def test_action_with_confirmation(case, browser, people, flows):
    """For each action: offered on the page; refused without the CSRF token and to a role that may not
    take it (403); the confirmation page changes nothing and escapes the user's text; a change in
    between makes the confirmation stale (409); confirmed, the service applies it once (its audit
    row by the user, the dossier's flow triggered), and confirming again replays the answer."""
    e = case.setup(people)
    client = browser(people[case.actor])
    page = client.get(e["page"])
    assert page.status_code == 200, page.text
    assert f'id="{e["form"]}"' in page.text, f"the form {e['form']} is not offered"
    fields, before, events = case.fields(e), case.observe(e), audit_count()

    def post(data: dict, who=client):
        files = case.files(e) if case.files and "confirm" not in data else None
        return who.post(e["post"], data=data, files=files)

    other = browser(people[case.wrong])
    r = post({**fields, "csrf_token": page_csrf(other)}, other)
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html"), (r.status_code, r.text[:300])
    r = post(fields)
    assert r.status_code == 403 and "jeton de sécurité invalide" in r.text
    assert case.observe(e) == before and audit_count() == events and not flows

    def confirmation() -> dict[str, str]:
        r = post({**fields, "csrf_token": csrf_of(page.text)})
        assert r.status_code == 200 and 'id="confirm"' in r.text, r.text[:2000]
        assert "Rien n'est encore enregistré" in r.text
        if case.escaped:
            assert scenarios.EVIL not in r.text and scenarios.ESCAPED in r.text
        return hidden_fields(r.text)

    hidden = confirmation()
    assert case.observe(e) == before and audit_count() == events and not flows
    if e["entity"] is not None:  # someone else acts in between: the confirmation is stale
        scenarios.touch(*e["entity"])
        r = post(hidden)
        assert r.status_code == 409 and "modifié entre-temps" in unescape(r.text), r.text[:500]
        assert case.observe(e) == before and not flows
        hidden = confirmation()

    r = post(hidden)
    assert r.status_code == 303, r.text[:2000]
    after = case.observe(e)
    assert after != before
    case.check(e, after)
    location = case.location(e, after) if case.location else f"{e['page']}?fait={e['post'].rsplit('/', 1)[1]}"
    assert r.headers["location"] == location
    assert flows == case.flows(e, after)
    with session_scope() as db:
        mine = db.exec(select(AuditEvent).where(AuditEvent.actor_id == people[case.actor]["id"])
                      .order_by(AuditEvent.id.desc())).first()
        assert mine is not None and mine.actor_role == people[case.actor]["actor"].role.value
    applied = audit_count()
    # The same confirmation again (a double click): the same answer, nothing applied twice.
    r = post(hidden)
    assert r.status_code == 303 and r.headers["location"] == location
    assert audit_count() == applied and case.observe(e) == after and flows == case.flows(e, after)
    shown = client.get(location)
    assert shown.status_code == 200 and '<p class="flash" role="status">' in shown.text
    assert scenarios.EVIL not in shown.text


# --- inbox of each role ----------------------------------------------------------------------------


def steps_of(html: str) -> list[tuple[str, str]]:
    """(reference, expected action) of each inbox row, in order."""
    rows = html.split('<tr class="inbox-item')[1:]
    return [(re.search(r'class="ref">([^<]+)</a>', row).group(1), unescape(re.findall(r"<td>(.*?)</td>", row, re.S)[2]))
            for row in rows]


def test_inbox_of_each_role(browser, people):
    import time_machine

    from certification.clock import now
    from certification.agrement.models import Agrement
    from certification.training.models import Appui, TrainingSession
    from certification.training import appuis as appuis_svc
    from certification.agrement import lifecycle
    from certification.training import service as training_svc
    from tests.factories import enroll_encadrant, plan_training
    from tests.web.scenarios import appui, controle, jury

    officer, formateur = people["officer"]["actor"], people["formateur"]["actor"]
    c = controle(people, "action_plan")  # structure 1 (its account: people["structure"]), action plan due in 30 days
    present = ready_candidates(people["structure"], 1, first=10, mark_ready=False)[0]
    j = jury(people, "checked")  # its candidate is placed; the president has results to enter
    unplaced = ready_candidates(people["structure"], 2, first=20)
    suspended, expiring = grant_agrement(people, 2), grant_agrement(people, 3)
    with session_scope() as db:
        lifecycle.suspend(db, officer, suspended, "Contrôle : plan d'actions non réalisé")
        lifecycle.mark_expiring(db, SYSTEM, expiring)
        expiring_number, end = db.get(Agrement, expiring).number, db.get(Agrement, expiring).end_date
    structure_7 = add_structure(7)
    future = plan_training(people, days=[today() + timedelta(days=8)])
    with time_machine.travel(now() - timedelta(days=6)):  # held three days ago, results not recorded
        late = plan_training(people, days=[today() + timedelta(days=3)])
        enrollment = enroll_encadrant(people, late, structure_7)
    with time_machine.travel(now() - timedelta(days=3)):
        with session_scope() as db:
            training_svc.record_attendance(db, formateur, late, day=today(), present={enrollment: True})
    requested = appui(people, "requested")["id"]
    with session_scope() as db:
        assigned = appuis_svc.request_appui(db, officer, subject="Tutorat", need="Accueil", structure_id=structure_7).id
        appuis_svc.assign(db, officer, assigned, people["formateur"]["id"])
        refs = {k: db.get(m, i).reference for k, (m, i) in {
            "future": (TrainingSession, future), "late": (TrainingSession, late), "requested": (Appui, requested),
            "assigned": (Appui, assigned), "controle": (Controle, c["id"])}.items()}
        jury_ref = db.get(JurySession, j["id"]).reference
        candidate_ref = db.get(Candidate, present).reference

    # The formateur: the late session first, then by deadline, then his appui without a deadline.
    html = browser(people["formateur"]).get("/app/").text
    assert steps_of(html) == [
        (refs["late"], "Relever les présences et enregistrer les résultats"),
        (refs["future"], "Tenir la session : inscriptions, puis première journée"),
        (refs["assigned"], "Programmer la visite"),
    ]
    assert "dont <strong>1 en retard</strong>" in html
    # The structure: its action plan (deadline) and its candidate to present.
    assert steps_of(browser(people["structure"]).get("/app/").text) == [
        (refs["controle"], "Réaliser le plan d'actions et déposer les preuves"),
        (candidate_ref, "Présenter au jury (blocs évalués)"),
    ]
    # The jury's president: the results to enter; another member: nothing.
    assert steps_of(browser(people["presidente"]).get("/app/").text) == [
        (jury_ref, "Délibérer : enregistrer les résultats")]
    assert "Aucune action en attente." in browser(people["salarie1"]).get("/app/").text
    # The mandataire: the renewal of the agrément arriving at échéance.
    assert (expiring_number, "Demander le renouvellement de l'agrément") in steps_of(
        browser(people["mandataire"]).get("/app/").text)
    # The officer's own steps: the suspension, the appui to entrust, the candidates to place.
    mine = steps_of(browser(people["officer"]).get("/app/?vue=moi").text)
    assert (refs["requested"], "Confier l'appui à un formateur") in mine
    assert any(step == "Statuer sur la suspension : la lever ou retirer l'agrément" for _, step in mine)
    ready = [row for row in mine if row[1] == "Planifier une session de jury pour les candidats prêts"]
    assert ready == [("CQP SP", "Planifier une session de jury pour les candidats prêts")]
    everything = unescape(browser(people["officer"]).get("/app/").text)
    assert "2 candidat(s) : " in everything and "échéance de l'agrément le" in everything
    assert "Présenter au jury" in everything and len(unplaced) == 2 and end
