"""The dossier de VAE on the back-office pages in a real headless Chromium: the structure files the
request for its candidate, the officer finds the recevabilité in his inbox and decides it, the
structure deposits the livret 2 (a PDF chosen in a file input) and opens it again. Every action goes
through its confirmation page; no page shows a script, console or HTTP error. Screenshots go to
``test-artifacts/web/vae-*/`` (see tests/web/test_browser.py for the browser and server)."""

from __future__ import annotations

from sqlmodel import select

from certification.db import session_scope
from certification.vae.models import VaeDossier
from tests.vae.helpers import register_vae
from tests.web.test_browser import chromium, confirm, from_inbox, server, shooter, sign_in  # noqa: F401  (fixtures)

NAME = ("N'Diaye-Lefèvre", "Éloïse")


def test_a_vae_request_decided_and_its_livret_2_deposited_in_a_real_browser(server, chromium, world,  # noqa: F811
                                                                             pdf_bytes):
    candidate_id = register_vae(world["structure"], last_name=NAME[0], first_names=NAME[1],
                                email="eloise@example.org")

    # 1. The structure files the request on the VAE list page: its candidate, two blocs, the experience.
    page = chromium()
    shot = shooter(page, "vae-demande")
    sign_in(page, server, world["structure"], shot)
    page.goto(f"{server}/app/vae")
    page.select_option("#form-deposer select[name=candidate_id]", str(candidate_id))
    assert "Éloïse N'Diaye-Lefèvre" in page.inner_text("#form-deposer select[name=candidate_id]")
    page.check("#form-deposer input[name='bloc_SP-B1']")
    page.check("#form-deposer input[name='bloc_SP-B2']")
    page.fill("#form-deposer textarea[name=experience]", "Six ans d'expérience en ressourcerie, dont deux d'encadrement.")
    summary = confirm(page, "form-deposer", shot, "02-demande")
    assert "Éloïse N'Diaye-Lefèvre" in summary and "SP-B1" in summary and "SP-B3" not in summary
    assert page.inner_text(".flash").startswith("La demande de VAE est déposée")
    assert page.inner_text("#state") == "demande déposée : recevabilité à examiner"
    assert "SP-B1" in page.inner_text("#blocs") and "SP-B3" not in page.inner_text("#blocs")
    assert "Éloïse N'Diaye-Lefèvre" in page.inner_text("#candidate")
    assert not page.problems, page.problems
    with session_scope() as db:
        (dossier,) = db.exec(select(VaeDossier)).all()
        did, reference = dossier.id, dossier.reference
    url = f"/app/vae/{did}"
    assert page.url == f"{server}{url}?fait=deposer"
    # the structure may not decide the recevabilité: no such form on its page
    assert page.locator("#form-recevabilite").count() == 0

    # 2. The officer finds the recevabilité in his inbox and declares the request recevable.
    officer, officer_shot = from_inbox(chromium, server, "vae-recevabilite", world["officer"], reference,
                                       "Décider de la recevabilité de la demande de VAE", url)
    officer.check("#form-recevabilite input[name=decision][value=recevable]")
    officer.fill("#form-recevabilite textarea[name=reason]", "Expérience en rapport avec les blocs demandés.")
    summary = confirm(officer, "form-recevabilite", officer_shot, "03-recevabilite")
    assert "recevable" in summary and "Expérience en rapport avec les blocs demandés." in summary
    assert officer.inner_text("#state") == "demande recevable : livret 2 attendu"
    event = officer.locator("ol.timeline li.event", has_text="chargé·e de certification").last
    assert "Camille Martin" in event.inner_text() and "Expérience en rapport avec les blocs demandés." in event.inner_text()
    # the history in French: the request's filing and the decision, the states by their labels
    history = officer.inner_text("ol.timeline")
    assert "Dépôt de la demande de VAE — nouveau dossier → demande déposée : recevabilité à examiner" in history
    assert "Déclarer la demande recevable — demande déposée : recevabilité à examiner → demande recevable" in history
    assert "recours" not in history and "_" not in history
    assert not officer.problems, officer.problems

    # 3. The structure deposits the livret 2 (a file input), then opens it from the dossier.
    page.goto(f"{server}{url}")
    page.set_input_files("#form-livret2 input[type=file]",
                         files=[{"name": "livret 2 — Éloïse.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes}])
    summary = confirm(page, "form-livret2", shot, "04-livret2")
    assert "livret 2 — Éloïse.pdf" in summary
    assert page.inner_text("#state") == "livret 2 déposé : entretien avec le jury à tenir"
    link = page.locator("#livret2 a")
    assert link.inner_text() == "livret 2 — Éloïse.pdf"
    opened = page.request.get(f"{server}{link.get_attribute('href')}")
    assert opened.status == 200 and opened.headers["content-type"] == "application/pdf"
    assert opened.body() == pdf_bytes
    assert ("Déposer le livret 2 — demande recevable : livret 2 attendu → livret 2 déposé : entretien avec le jury à "
            "tenir") in page.inner_text("ol.timeline")
    assert not page.problems, page.problems

    # 4. A user of another structure is refused the dossier (404), in the browser as well.
    other = chromium()
    sign_in(other, server, world["other_structure"])
    response = other.goto(f"{server}{url}")
    assert response.status == 404 and "introuvable" in other.inner_text("main").lower()
