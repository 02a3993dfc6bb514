"""End to end in a real headless Chromium, one user at a time, from the login to the timeline:
the officer declares a request admissible (the overdue step first in his inbox) and the mandataire
sends the compléments of the other one (a PDF chosen in a file input), a formateur
records an outcome and closes his EPSP session, a contrôleur schedules a visit, the jury's
president signs the PV, and the officer upholds a recours. Every action goes through its
confirmation page. Screenshots of every step go to ``test-artifacts/web/<scenario>/``.

Needs Debian's ``chromium`` package (``/usr/bin/chromium``) and the ``playwright`` Python package
(the ``test`` extra); the browser downloads of Playwright are not used.
"""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import select

from certification.clock import now, today
from certification.controle.models import Controle
from certification.db import session_scope
from certification.models import AuditEvent
from certification.jury.models import Deliberation, JurySession
from certification.agrement.models import AgrementRequest
from certification.appeals.models import Appeal
from certification.training.models import TrainingEnrollment, TrainingSession
from certification.agrement import service as svc
from certification.agrement import queries as agrement_queries
from certification.settings import reset_settings_cache
from documents.formatting import to_local
from tests.factories import make_users, submit_request
from tests.web import scenarios
from tests.web.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--lang=fr-FR", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="/usr/bin/chromium is absent: apt-get install chromium (Debian) to run the browser test"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(monkeypatch):
    """The application served by uvicorn on 127.0.0.1 in a background thread (flows not dispatched)."""
    import uvicorn

    from api.app import create_app

    monkeypatch.setenv("CQP_FLOW_DISPATCH", "none")
    monkeypatch.delenv("PREFECT_UI_URL", raising=False)
    reset_settings_cache()
    port = _free_port()
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="uvicorn-web-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def chromium():
    """Headless Chromium (Debian's); ``open(scenario)`` gives a French page whose console errors,
    script errors and HTTP errors are collected in ``page.problems``."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (test extra)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)

        def open_page():
            page = browser.new_page(locale="fr-FR", viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            page.problems = []
            page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: page.problems.append(str(e)))
            page.on("response", lambda r: page.problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            return page

        try:
            yield open_page
        finally:
            browser.close()


def shooter(page, scenario: str):
    folder = ARTIFACTS / scenario
    folder.mkdir(parents=True, exist_ok=True)
    return lambda name: page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def sign_in(page, server: str, user: dict, shot=None) -> None:
    page.goto(f"{server}/app/")
    assert page.url.startswith(f"{server}/app/login")
    page.fill("#email", user["email"])
    page.fill("#password", PASSWORD)
    if shot:
        shot("01-connexion")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/app/")


def confirm(page, form: str, shot, name: str) -> str:
    """Submit ``form``, check the confirmation page (nothing recorded yet), confirm; the summary."""
    page.click(f"#{form} button[type=submit]")
    page.wait_for_selector("#confirm")
    assert "Rien n'est encore enregistré" in page.inner_text("main")
    summary = page.inner_text("#summary")
    shot(f"{name}-confirmation")
    page.click("#confirm")
    page.wait_for_selector(".flash")
    shot(name)
    return summary


def test_officer_declares_a_request_admissible_in_a_real_browser(server, chromium):
    people = make_users()
    (late, late_ref), (waiting, waiting_ref) = overdue_and_waiting_requests(people)

    page = chromium()
    shot = shooter(page, "demande")
    # 1. Login (an anonymous visit is sent to the login form).
    sign_in(page, server, people["officer"], shot)

    # 2. The inbox: the overdue step first, with its badge; the stylesheet is applied.
    assert page.inner_text("#current-user") == "Camille Martin"
    rows = page.locator("#inbox tbody tr")
    assert rows.count() == 2
    first = rows.nth(0)
    assert late_ref in first.inner_text() and "en retard" in first.inner_text()
    assert "overdue" in (first.get_attribute("class") or "")
    assert waiting_ref in rows.nth(1).inner_text() and "en retard" not in rows.nth(1).inner_text()
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(245, 247, 250)", background
    shot("02-actions-en-attente")

    # 3. The request waiting for the officer.
    page.click(f"text={waiting_ref}")
    page.wait_for_url(f"{server}/app/demandes/{waiting}")
    assert page.inner_text("#structure-name") == "Ressourcerie Éco'Logis"
    assert page.inner_text("#state") == "déposée"
    assert "PREFECT_UI_URL" not in page.inner_text(".prefect")
    page.fill("#admissible-comment", "Pièces complètes et lisibles ; attestation EPSP à jour.")
    shot("03-demande")

    # 4. The confirmation page: nothing recorded yet. 5. Confirmed: the state changed, the timeline shows it.
    page.click("#form-recevable button[type=submit]")
    page.wait_for_selector("#confirm")
    assert "Confirmer : déclarer la demande recevable" in page.inner_text("h1")
    assert "attestation EPSP à jour" in page.inner_text("#summary")
    with session_scope() as db:
        assert db.get(AgrementRequest, waiting).state == "submitted"
    shot("04-confirmation")
    page.click("#confirm")
    page.wait_for_url(f"{server}/app/demandes/{waiting}?fait=recevable")
    assert page.inner_text(".flash") == "La demande a été déclarée recevable."
    assert page.inner_text("#state") == "en instruction"  # admissible, and the review opened at once
    last = page.locator("ol.timeline li.event", has_text="Déclarer recevable").last
    text = last.inner_text()
    assert "Déclarer recevable" in text and "déposée → recevable" in text
    assert "Camille Martin" in text and "chargé·e de certification" in text
    assert "Motif : Pièces complètes et lisibles ; attestation EPSP à jour." in text
    last.scroll_into_view_if_needed()
    shot("05-historique")
    assert not page.problems, page.problems

    with session_scope() as db:
        assert db.get(AgrementRequest, waiting).state == "under_review"
        events = db.exec(select(AuditEvent).where(AuditEvent.entity_id == waiting,
                                                 AuditEvent.action == "declare_admissible")).all()
        assert len(events) == 1 and events[0].actor_id == people["officer"]["id"]

    # 6. The mandataire sends the overdue compléments: a PDF chosen in the file input, the
    #    confirmation (nothing recorded yet), then the request goes back to the officer.
    mandataire_sends_the_overdue_complements(chromium, server, people["mandataire"], late, late_ref)


def overdue_and_waiting_requests(people) -> tuple[tuple[int, str], tuple[int, str]]:
    """Two requests of the mandataire: one whose compléments are three days overdue, one waiting for
    the officer; (id, reference) of each."""
    mandataire, officer = people["mandataire"]["actor"], people["officer"]["actor"]
    late = submit_request(mandataire, 1, name="Jardins de l'Étang — Saint-Brieuc")
    waiting = submit_request(mandataire, 2, name="Ressourcerie Éco'Logis")
    with session_scope() as db:
        svc.request_complements(db, officer, late, "Attestation EPSP de l'encadrante", deadline_days=30)
        db.execute(update(AgrementRequest).where(AgrementRequest.id == late)
                  .values(complements_deadline=today() - timedelta(days=3)))
        late_ref = db.get(AgrementRequest, late).reference
        waiting_ref = db.get(AgrementRequest, waiting).reference
    return (late, late_ref), (waiting, waiting_ref)


def mandataire_sends_the_overdue_complements(chromium, server, mandataire: dict, late: int, late_ref: str) -> None:
    page, shot = from_inbox(chromium, server, "complements", mandataire, late_ref,
                            "Transmettre les compléments demandés", f"/app/demandes/{late}")
    assert "Attestation EPSP de l'encadrante" in page.inner_text("main")
    page.set_input_files("#transmettre-attestation-epsp", files=[
        {"name": "attestation EPSP signée.pdf", "mimeType": "application/pdf", "buffer": scenarios.PDF}])
    page.fill("#transmettre-comment", "Attestation de Mme Le Bihan, formée en mars.")
    shot("03-demande")
    summary = confirm(page, "form-transmettre", shot, "04-complements")
    assert "attestation EPSP signée.pdf" in summary and "envoi n° 2" in summary
    assert "Les compléments ont été transmis" in page.inner_text(".flash")
    assert page.inner_text("#state") == "déposée"
    assert page.locator("#form-transmettre").count() == 0
    assert "attestation EPSP signée.pdf" in page.inner_text("main")
    last = page.locator("ol.timeline li.event").last.inner_text()
    assert "Hélène Dubois-Lefèvre" in last and "incomplète (compléments demandés) → déposée" in last
    shot("05-historique")
    page.goto(f"{server}/app/")
    # left in the inbox: the avis on the request the officer declared admissible (its review opened
    # in the same transaction), nothing else
    inbox = page.inner_text("main")
    assert "1 étape en attente" in inbox and "Rendre l'avis" in inbox
    assert not page.problems, page.problems
    with session_scope() as db:
        request = db.get(AgrementRequest, late)
        stored = [p for p in agrement_queries.pieces_of(db, late) if p.round == 2]
        assert (request.state, request.round) == ("submitted", 2)
        assert [(p.kind, p.original_name, p.size) for p in stored] == [
            ("attestation_epsp", "attestation EPSP signée.pdf", len(scenarios.PDF))]


def reference_of(model, entity_id: int) -> str:
    with session_scope() as db:
        return db.get(model, entity_id).reference


def from_inbox(chromium, server: str, scenario: str, user: dict, reference: str, step: str, url: str):
    """A new page signed in as ``user``, whose inbox shows ``step`` for ``reference``, opened at ``url``."""
    page = chromium()
    shot = shooter(page, scenario)
    sign_in(page, server, user, shot)
    shot("02-actions-en-attente")
    row = page.locator("#inbox tbody tr", has_text=reference)
    assert step in row.inner_text(), row.inner_text()
    row.locator("a.ref").click()
    page.wait_for_url(f"{server}{url}")
    return page, shot


def test_formateur_records_the_outcome_and_closes_his_session(server, chromium):
    people = make_users()
    t = scenarios.training(people, "attended")  # today's session, the encadrant present, result not recorded
    page, shot = from_inbox(chromium, server, "formation", people["formateur"], reference_of(TrainingSession, t["id"]),
                            "Relever les présences et enregistrer les résultats", f"/app/formations/{t['id']}")
    assert page.inner_text("#state") == "en cours"
    assert "présent" in page.inner_text("#enrollments")
    assert page.locator("#form-cloturer").count() == 1
    form = f"form-resultat-{t['enrollment_id']}"
    page.check(f"#{form} input[name=completed][value='1']")
    shot("03-session")
    summary = confirm(page, form, shot, "04-resultat")
    assert "formation achevée" in summary and "attestation" in summary
    assert "formation achevée" in page.inner_text("#enrollments")

    page.fill("#cloturer-comment", "Session complète ; attestations à envoyer.")
    summary = confirm(page, "form-cloturer", shot, "05-cloture")
    assert "Zoé L'Hôpital-N'Diaye" in summary
    assert page.inner_text(".flash") == "La session est clôturée."
    assert page.inner_text("#state") == "clôturée"
    assert page.locator("#form-cloturer").count() == 0 and page.locator("#form-inscrire").count() == 0
    last = page.locator("ol.timeline li.event").last
    assert "Clôturer la session" in last.inner_text() and "Océane Perrin" in last.inner_text()
    shot("06-historique")
    page.goto(f"{server}/app/")
    assert "Aucune action en attente." in page.inner_text("main")
    assert not page.problems, page.problems
    with session_scope() as db:
        assert db.get(TrainingSession, t["id"]).state == "closed"
        assert db.get(TrainingEnrollment, t["enrollment_id"]).attestation_number.startswith("AF-EPSP-")


def test_controleur_schedules_a_visit(server, chromium):
    people = make_users()
    c = scenarios.controle(people, "assigned")
    when = (to_local(now()) + timedelta(days=10)).replace(hour=9, minute=30, second=0, microsecond=0)
    page, shot = from_inbox(chromium, server, "visite", people["controleur"], reference_of(Controle, c["id"]),
                            "Programmer la visite", f"/app/controles/{c['id']}")
    assert page.locator("#form-confier").count() == 0  # the officer's action is not offered
    page.fill("#visite-visit-at", when.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#visite-place", "Saint-Étienne, 12 rue de la Mulatière")
    page.fill("#visite-duration-minutes", "150")
    page.fill("#visite-notes", "Merci de préparer les livrets d'évaluation.")
    shot("03-controle")
    summary = confirm(page, "form-visite", shot, "04-visite")
    assert "à 9 h 30" in summary and "150 minutes" in summary
    assert page.inner_text("#state") == "visite programmée"
    assert "12 rue de la Mulatière" in page.inner_text("main")
    assert "Programmer la visite" in page.locator("ol.timeline li.event").last.inner_text()
    assert not page.problems, page.problems
    with session_scope() as db:
        row = db.get(Controle, c["id"])
        assert to_local(row.visit_at) == when and (row.visit_end - row.visit_at) == timedelta(minutes=150)


def test_jury_president_signs_the_pv(server, chromium):
    people = make_users()
    j = scenarios.jury(people, "deliberated")
    page, shot = from_inbox(chromium, server, "pv", people["presidente"], reference_of(JurySession, j["id"]),
                            "Signer le procès-verbal", f"/app/jurys/{j['id']}")
    assert page.inner_text("#state") == "délibération close"
    assert "certification obtenue" in page.inner_text("#candidates")
    assert page.locator("#form-annuler").count() == 0  # only the president's actions
    shot("03-session")
    summary = confirm(page, "form-signer", shot, "04-signature")
    assert "version 1" in summary and "certification obtenue" in summary
    assert page.inner_text("#state") == "PV signé"
    assert "version 1" in page.inner_text("#pv-signed")
    last = page.locator("ol.timeline li.event").last.inner_text()
    assert "Signer le procès-verbal" in last and "Anne-Sophie Président" in last and "membre de jury" in last
    assert not page.problems, page.problems
    with session_scope() as db:
        jury = db.get(JurySession, j["id"])
        assert jury.state == "pv_signed" and jury.pv_signed_by_id == people["presidente"]["id"]


def test_officer_upholds_a_recours(server, chromium):
    people = make_users()
    a = scenarios.appeal(people, admissible=True)  # SP-B2 not validated by the jury
    page, shot = from_inbox(chromium, server, "recours", people["officer"], reference_of(Appeal, a["id"]),
                            "Statuer sur le recours (fondé ou rejeté)", f"/app/recours/{a['id']}")
    assert "SP-B2 : non validé" in page.inner_text("#results")
    assert page.locator("#form-rejeter").count() == 1
    assert page.is_checked("#form-fonde input[name='bloc_SP-B2'][value=not_validated]")
    page.check("#form-fonde input[name='bloc_SP-B2'][value=validated]")
    page.fill("#fonde-reason", "Le livret d'évaluation produit établit la maîtrise du bloc SP-B2.")
    shot("03-recours")
    summary = confirm(page, "form-fonde", shot, "04-decision")
    assert "SP-B2 : validé" in summary and "version 2" in summary
    assert page.inner_text(".flash") == "Le recours est fondé : nouveau PV et nouveaux documents."
    assert page.inner_text("#state") == "fondé : décision modifiée"
    assert page.locator("#actions").count() == 0
    last = page.locator("ol.timeline li.event").last.inner_text()
    assert "Déclarer fondé" in last and "Motif : Le livret d'évaluation produit" in last
    assert not page.problems, page.problems
    with session_scope() as db:
        assert db.get(JurySession, a["session_id"]).pv_version == 2
        assert {d.bloc_code: d.result for d in db.exec(select(Deliberation).where(
            Deliberation.session_id == a["session_id"]))}["SP-B2"] == "validated"
