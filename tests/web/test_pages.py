"""Back-office pages (server-rendered): login, CSRF, role filtering, inbox ordering, actions with
confirmation, timelines, escaping, Prefect links."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import update
from sqlmodel import select

from certification.audit import SYSTEM
from certification.clock import today
from certification.controle import service as controle_svc
from certification.controle.models import Controle
from certification.db import session_scope
from certification.models import AuditEvent, Role, Structure
from certification.jury.models import JuryMember, JurySession
from certification.agrement.models import AgrementRequest
from certification.candidates.models import Candidate
from certification.agrement import service as svc
from certification.agrement import queries as agrement_queries
from certification.settings import reset_settings_cache
from tests.factories import (
    add_structure,
    add_user,
    grant_agrement,
    instruct,
    ready_candidates,
    siret,
    structure_account,
    structure_id_of,
    submit_request,
)
from tests.web import scenarios
from tests.web.conftest import PASSWORD, csrf_of, page_csrf


def inbox_references(html: str) -> list[str]:
    return re.findall(r'<a href="[^"]+" class="ref">([^<]+)</a>', html)


def state_of(request_id: int) -> str:
    with session_scope() as s:
        return s.get(AgrementRequest, request_id).state


def reference_of(request_id: int) -> str:
    with session_scope() as s:
        return s.get(AgrementRequest, request_id).reference


def set_request(request_id: int, **values) -> None:
    with session_scope() as s:
        s.execute(update(AgrementRequest).where(AgrementRequest.id == request_id).values(**values))


# --- login, sessions, CSRF -------------------------------------------------------------------


def test_login_cookie_and_logout(app, people):
    from fastapi.testclient import TestClient

    with TestClient(app, follow_redirects=False) as client:
        r = client.get("/app/demandes")
        assert r.status_code == 303 and r.headers["location"] == "/app/login?next=/app/demandes"
        page = client.get("/app/login?next=/app/demandes")
        assert "Connexion" in page.text and 'lang="fr"' in page.text
        token = csrf_of(page.text)
        r = client.post("/app/login", data={"email": people["officer"]["email"], "password": "faux",
                                            "csrf_token": token, "next": "/app/demandes"})
        assert r.status_code == 401 and "Adresse e-mail ou mot de passe incorrect." in r.text
        assert "cqp_session" not in r.headers.get("set-cookie", "")
        token = csrf_of(r.text)
        r = client.post("/app/login", data={"email": people["officer"]["email"].upper(), "password": PASSWORD,
                                            "csrf_token": token, "next": "/app/demandes"})
        assert r.status_code == 303 and r.headers["location"] == "/app/demandes"
        cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("cqp_session="))
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/app" in cookie
        session_token = client.cookies.get("cqp_session")
        home = client.get("/app/")
        assert home.status_code == 200 and "Camille Martin" in home.text
        assert home.headers["content-security-policy"].startswith("default-src 'none'")
        assert home.headers["cache-control"] == "no-store"
        # Logging out needs the CSRF token, and revokes the session token itself.
        assert client.post("/app/logout", data={"csrf_token": "x"}).status_code == 403
        r = client.post("/app/logout", data={"csrf_token": csrf_of(home.text)})
        assert r.status_code == 303 and r.headers["location"] == "/app/login"
    with TestClient(app, follow_redirects=False, cookies={"cqp_session": session_token}) as replay:
        assert replay.get("/app/").status_code == 303


def test_login_form_needs_its_token_and_next_stays_inside(app, people):
    from fastapi.testclient import TestClient

    with TestClient(app, follow_redirects=False) as client:
        r = client.post("/app/login", data={"email": people["officer"]["email"], "password": PASSWORD})
        assert r.status_code == 403 and "expiré" in r.text
        page = client.get("/app/login")
        r = client.post("/app/login", data={"email": people["officer"]["email"], "password": PASSWORD,
                                            "csrf_token": csrf_of(page.text), "next": "https://evil.example/app/"})
        assert r.status_code == 303 and r.headers["location"] == "/app/"


def test_csrf_is_checked_on_actions(browser, people):
    rid = submit_request(people["mandataire"]["actor"])
    officer = browser(people["officer"])
    url = f"/app/demandes/{rid}/recevable"
    for data, headers in [({}, {}), ({"csrf_token": "forged"}, {}),
                          ({"csrf_token": page_csrf(officer)}, {"Origin": "https://evil.example"})]:
        r = officer.post(url, data={**data, "confirm": "1", "version": "1"}, headers=headers)
        assert r.status_code == 403 and "jeton de sécurité invalide" in r.text
        assert r.headers["content-type"].startswith("text/html")
    assert state_of(rid) == "submitted"
    # The token of one session is worthless in another.
    other = browser(people["officer"])
    r = other.post(url, data={"csrf_token": page_csrf(officer), "confirm": "1", "version": "1"})
    assert r.status_code == 403 and state_of(rid) == "submitted"


# --- role filtering --------------------------------------------------------------------------


def test_each_role_sees_its_own_dossiers_only(browser, people):
    mine = submit_request(people["mandataire"]["actor"], 1, name="Atelier Hélène")
    theirs = submit_request(people["other_mandataire"]["actor"], 2, name="Chantier Jean-François")
    with session_scope() as s:
        svc.request_complements(s, people["officer"]["actor"], mine, "Statuts signés", deadline_days=10)

    mandataire = browser(people["mandataire"])
    html = mandataire.get("/app/").text
    assert inbox_references(html) == [reference_of(mine)] and "Transmettre les compléments" in html
    listing = mandataire.get("/app/demandes").text
    assert "Atelier Hélène" in listing and "Jean-François" not in listing
    assert mandataire.get(f"/app/demandes/{theirs}").status_code == 404
    r = mandataire.post(f"/app/demandes/{mine}/recevable", data={"csrf_token": page_csrf(mandataire)})
    assert r.status_code == 403 and "n'est pas ouverte au rôle « mandataire »" in unescape(r.text)
    assert mandataire.get("/app/controles").status_code == 403
    assert mandataire.get("/app/jurys").status_code == 403

    controleur = browser(people["controleur"])
    r = controleur.get("/app/demandes")
    assert r.status_code == 403 and "ne sont pas accessibles au rôle « contrôleur »" in r.text
    assert controleur.get(f"/app/demandes/{mine}").status_code == 403
    assert "Aucune action en attente." in controleur.get("/app/").text
    nav = controleur.get("/app/controles").text
    assert 'href="/app/controles"' in nav and 'href="/app/demandes"' not in nav

    formateur = browser(people["formateur"])
    assert formateur.get("/app/").status_code == 200
    assert formateur.get("/app/candidats").status_code == 403


def test_a_controleur_sees_only_his_controles(browser, people):
    people["controleur2"] = add_user("bruno.lemaitre@cqp.test", "Bruno Lemaître", Role.controleur)
    officer = people["officer"]["actor"]
    a1 = grant_agrement(people, 1)
    a2 = grant_agrement(people, 2)
    with session_scope() as s:
        c1 = controle_svc.plan_controle(s, officer, a1, reason="Signalement")
        c2 = controle_svc.plan_controle(s, officer, a2, reason="Échantillon")
        controle_svc.assign(s, officer, c1.id, people["controleur"]["id"])
        controle_svc.assign(s, officer, c2.id, people["controleur2"]["id"])
        c1_id, c1_ref, c2_id = c1.id, c1.reference, c2.id
    gaelle = browser(people["controleur"])
    html = gaelle.get("/app/").text
    assert inbox_references(html) == [c1_ref] and "Programmer la visite" in html
    assert gaelle.get(f"/app/controles/{c1_id}").status_code == 200
    assert gaelle.get(f"/app/controles/{c2_id}").status_code == 404
    assert 'id="form-confier"' not in gaelle.get(f"/app/controles/{c1_id}").text


# --- inbox -----------------------------------------------------------------------------------


def test_inbox_lists_overdue_first_then_by_deadline(browser, people):
    mandataire, officer = people["mandataire"]["actor"], people["officer"]["actor"]
    submitted = submit_request(mandataire, 1)
    late = submit_request(mandataire, 2)
    soon = submit_request(mandataire, 3)
    review = submit_request(mandataire, 4)
    decide = submit_request(mandataire, 5)
    done = submit_request(mandataire, 6)
    with session_scope() as s:
        svc.request_complements(s, officer, late, "Attestation EPSP lisible", deadline_days=30)
        svc.request_complements(s, officer, soon, "Programme de formation", deadline_days=3)
        for rid in (review, decide, done):
            svc.declare_admissible(s, officer, rid, avis_deadline_days=10)
        svc.give_avis(s, mandataire, decide, "favorable")
        svc.give_avis(s, mandataire, done, "favorable")
        svc.refuse(s, officer, done, "Encadrement non formé")
    set_request(late, complements_deadline=today() - timedelta(days=2))

    client = browser(people["officer"])
    html = client.get("/app/").text
    refs = inbox_references(html)
    # Overdue, then by deadline (3 days, 10 days), then the steps without a deadline.
    assert refs == [reference_of(i) for i in (late, soon, review, submitted, decide)]
    rows = html.split('<tr class="inbox-item')[1:]
    assert rows[0].startswith(' overdue"') and "en retard" in rows[0] and "de 2 jours" in rows[0]
    assert all("en retard" not in row for row in rows[1:])
    assert "dont <strong>1 en retard</strong>" in html
    assert reference_of(done) not in html  # a closed dossier waits for nobody
    # "Mes actions": only the officer's own steps.
    mine = inbox_references(client.get("/app/?vue=moi").text)
    assert sorted(mine) == sorted([reference_of(submitted), reference_of(decide)])


# --- actions with confirmation -----------------------------------------------------------------


def test_declare_admissible_through_the_confirmation(browser, people, monkeypatch):
    from flows import dispatch

    triggered = []

    async def fake_changed(request_id: int) -> None:
        triggered.append(request_id)

    monkeypatch.setattr(dispatch, "agrement_request_changed", fake_changed)
    rid = submit_request(people["mandataire"]["actor"])
    officer = browser(people["officer"])
    page = officer.get(f"/app/demandes/{rid}")
    assert 'id="form-recevable"' in page.text and 'id="form-decision"' not in page.text

    # Step 1: a confirmation page; nothing is recorded yet.
    r = officer.post(f"/app/demandes/{rid}/recevable",
                     data={"csrf_token": csrf_of(page.text), "comment": "Dossier complet, pièces lisibles."})
    assert r.status_code == 200 and "Confirmer : déclarer la demande recevable" in r.text
    assert "Dossier complet, pièces lisibles." in r.text and 'name="confirm" value="1"' in r.text
    assert state_of(rid) == "submitted" and not triggered
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', r.text))
    assert hidden["version"] == "1"

    # Step 2: confirmed, the service applies the transition, writes its audit row, runs the flow.
    r = officer.post(f"/app/demandes/{rid}/recevable", data=hidden)
    assert r.status_code == 303 and r.headers["location"] == f"/app/demandes/{rid}?fait=recevable"
    assert state_of(rid) == "under_review" and triggered == [rid]
    with session_scope() as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "declare_admissible")).one()
        assert (event.entity_id, event.actor_id, event.actor_role) == (rid, people["officer"]["id"], "officer")
        assert (event.from_state, event.to_state, event.reason) == ("submitted", "admissible",
                                                                    "Dossier complet, pièces lisibles.")
    page = officer.get(r.headers["location"]).text
    assert "La demande a été déclarée recevable." in page
    timeline = page.split('id="historique"')[1]
    assert "Déclarer recevable" in timeline and "déposée → recevable" in timeline
    assert "Camille Martin" in timeline and "chargé·e de certification" in timeline
    assert "Motif : Dossier complet, pièces lisibles." in timeline

    # The same confirmation again (a double click): the first answer, nothing applied twice.
    r = officer.post(f"/app/demandes/{rid}/recevable", data=hidden)
    assert r.status_code == 303 and r.headers["location"] == f"/app/demandes/{rid}?fait=recevable"
    assert triggered == [rid]
    with session_scope() as s:
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "declare_admissible")).all()) == 1
    # Another confirmation of the same action: a French error, not a 500, and nothing else changes.
    r = officer.post(f"/app/demandes/{rid}/recevable", data={**hidden, "nonce": "une-autre-confirmation-0001"})
    assert r.status_code == 409 and "impossible : le dossier est à l'état « en instruction »" in unescape(r.text)
    assert triggered == [rid]


def test_complements_and_decision_with_errors_in_french(browser, people):
    rid = submit_request(people["mandataire"]["actor"])
    officer = browser(people["officer"])
    token = page_csrf(officer, f"/app/demandes/{rid}")
    r = officer.post(f"/app/demandes/{rid}/complements", data={"csrf_token": token, "message": "  "})
    assert r.status_code == 422 and "Précisez les compléments demandés." in r.text
    r = officer.post(f"/app/demandes/{rid}/complements",
                     data={"csrf_token": token, "message": "Statuts à jour", "deadline_days": "500"})
    assert r.status_code == 422 and "entre 1 et 180 jours" in r.text and "Statuts à jour" in r.text
    r = officer.post(f"/app/demandes/{rid}/complements",
                     data={"csrf_token": token, "message": "Statuts à jour", "deadline_days": "15"})
    assert r.status_code == 200 and "15 jours, soit jusqu'au" in unescape(r.text)
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', r.text))
    assert officer.post(f"/app/demandes/{rid}/complements", data=hidden).status_code == 303
    with session_scope() as s:
        request = s.get(AgrementRequest, rid)
        assert request.state == "incomplete" and request.complements_deadline == today() + timedelta(days=15)

    # Decision: a refusal must be motivated; a stale confirmation is refused.
    other = submit_request(people["mandataire"]["actor"], 2)
    instruct(other, people)
    r = officer.post(f"/app/demandes/{other}/decision", data={"csrf_token": token, "decision": "refuse"})
    assert r.status_code == 422 and "Un refus doit être motivé." in r.text
    r = officer.post(f"/app/demandes/{other}/decision",
                     data={"csrf_token": token, "decision": "refuse", "reason": "Aucun encadrant formé à l'EPSP"})
    assert r.status_code == 200 and "Confirmer : refuser l'agrément" in unescape(r.text)
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', r.text))
    r = officer.post(f"/app/demandes/{other}/decision", data={**hidden, "version": "1"})
    assert r.status_code == 409 and "modifié entre-temps" in r.text
    assert officer.post(f"/app/demandes/{other}/decision", data=hidden).status_code == 303
    assert state_of(other) == "refused"


def test_grant_from_the_decision_form(browser, people):
    rid = submit_request(people["mandataire"]["actor"])
    instruct(rid, people)
    officer = browser(people["officer"])
    token = page_csrf(officer, f"/app/demandes/{rid}")
    r = officer.post(f"/app/demandes/{rid}/decision", data={"csrf_token": token, "decision": "grant"})
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', r.text))
    r = officer.post(f"/app/demandes/{rid}/decision", data=hidden)
    assert r.status_code == 303
    page = officer.get(r.headers["location"]).text
    assert "La décision a été enregistrée." in page and "AGR-SP-" in page
    agrement_id = int(re.search(r'href="/app/agrements/(\d+)"', page).group(1))
    agrement_page = officer.get(f"/app/agrements/{agrement_id}").text
    assert "en vigueur" in agrement_page and "Création" in agrement_page


def test_mandataire_gives_avis(browser, people):
    rid = submit_request(people["mandataire"]["actor"])
    with session_scope() as s:
        svc.declare_admissible(s, people["officer"]["actor"], rid)
    mandataire = browser(people["mandataire"])
    page = mandataire.get(f"/app/demandes/{rid}").text
    assert 'id="form-avis"' in page and 'id="form-recevable"' not in page
    r = mandataire.post(f"/app/demandes/{rid}/avis", data={"csrf_token": csrf_of(page), "avis": "defavorable"})
    assert r.status_code == 422 and "Un avis défavorable doit être motivé." in r.text
    r = mandataire.post(f"/app/demandes/{rid}/avis", data={"csrf_token": csrf_of(page), "avis": "favorable",
                                                            "comment": "Équipe formée et motivée."})
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', r.text))
    assert mandataire.post(f"/app/demandes/{rid}/avis", data=hidden).status_code == 303
    with session_scope() as s:
        assert s.get(AgrementRequest, rid).avis == "favorable"


def test_assign_controle_with_conflict_of_interest(browser, people):
    people["controleur2"] = add_user("bruno.lemaitre@cqp.test", "Bruno Lemaître", Role.controleur)
    agrement_id = grant_agrement(people)
    with session_scope() as s:
        controle = controle_svc.plan_controle(s, people["officer"]["actor"], agrement_id, reason="Signalement")
        cid = controle.id
        structure_id = s.exec(select(Structure.id)).one()
        from certification.models import LinkKind
        from certification.services import conflicts

        conflicts.link(s, people["controleur"]["id"], structure_id, LinkKind.formateur)
    officer = browser(people["officer"])
    page = officer.get(f"/app/controles/{cid}").text
    assert 'id="form-confier"' in page and "Confier le contrôle à un contrôleur" not in page
    assert "Gaëlle Le Goff — conflit d'intérêts : a formé le personnel de la structure" in unescape(page)
    token = csrf_of(page)
    r = officer.post(f"/app/controles/{cid}/confier", data={"csrf_token": token, "controleur_id": "999"})
    assert r.status_code == 422 and "Choisissez un contrôleur dans la liste." in r.text
    # A conflicting contrôleur: the confirmation warns, the service refuses (409) and it is traced.
    r = officer.post(f"/app/controles/{cid}/confier",
                     data={"csrf_token": token, "controleur_id": str(people["controleur"]["id"])})
    assert r.status_code == 200 and "conflit d'intérêts déclaré" in unescape(r.text)
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', r.text))
    r = officer.post(f"/app/controles/{cid}/confier", data=hidden)
    assert r.status_code == 409 and "Conflit d'intérêts : Gaëlle Le Goff ne peut pas contrôler" in unescape(r.text)
    with session_scope() as s:
        assert s.get(Controle, cid).state == "planned"
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "assign_refused")).one().entity_id == cid
    # An independent one.
    r = officer.post(f"/app/controles/{cid}/confier",
                     data={"csrf_token": token, "controleur_id": str(people["controleur2"]["id"])})
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', r.text))
    r = officer.post(f"/app/controles/{cid}/confier", data=hidden)
    assert r.status_code == 303 and r.headers["location"] == f"/app/controles/{cid}?fait=confier"
    page = officer.get(r.headers["location"]).text
    assert "Le contrôle a été confié." in page and "Bruno Lemaître" in page
    timeline = page.split('id="historique"')[1]
    assert "Confier à un contrôleur" in timeline and "planifié → confié à un contrôleur" in timeline
    assert "Affectation refusée (conflit d'intérêts)" in unescape(timeline)


# --- other dossiers, escaping, Prefect links ---------------------------------------------------


def test_jury_and_candidate_pages_with_timeline(browser, people):
    from tests.factories import deliberated_session

    grant_agrement(people, 1)
    structure = structure_account(people, siret(1))
    ids = ready_candidates(structure, 2)
    jury_id = deliberated_session(people, ids, sign=False)
    officer = browser(people["officer"])
    page = officer.get(f"/app/jurys/{jury_id}").text
    assert "délibération close" in page and "Anne-Sophie Président" in page and "Zoé-Hélène" in page
    assert "Convoquer les membres" in page.split('id="historique"')[1]
    html = officer.get("/app/").text
    assert "Signer le procès-verbal" in html
    candidate = officer.get(f"/app/candidats/{ids[0]}").text
    assert "prêt pour le jury" in candidate and "Présenter au jury" in candidate
    # The president sees the session and his step; a structure does not see the juries.
    president = browser(people["presidente"])
    assert "Signer le procès-verbal" in president.get("/app/").text
    assert president.get(f"/app/jurys/{jury_id}").status_code == 200
    member = browser(people["salarie1"])
    assert "Aucune action en attente." in member.get("/app/").text
    aci = browser(structure)
    assert aci.get(f"/app/jurys/{jury_id}").status_code == 403
    assert aci.get(f"/app/candidats/{ids[0]}").status_code == 200


def test_user_text_is_escaped(browser, people):
    evil = '<script>alert("x")</script> & Cie'
    rid = submit_request(people["mandataire"]["actor"], name=evil, motivation="<b>gras</b>\nligne 2")
    officer = browser(people["officer"])
    for url in ("/app/", "/app/demandes", f"/app/demandes/{rid}"):
        html = officer.get(url).text
        assert "<script>" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Cie" in html
    page = officer.get(f"/app/demandes/{rid}").text
    assert "&lt;b&gt;gras&lt;/b&gt;<br>" in page and "<b>gras</b>" not in page
    r = officer.post(f"/app/demandes/{rid}/recevable", data={"csrf_token": csrf_of(page),
                                                              "comment": '"><script>alert(1)</script>'})
    assert "<script>alert(1)" not in r.text and 'value="&#34;&gt;&lt;script&gt;' in r.text


def test_prefect_links(browser, people, monkeypatch):
    rid = submit_request(people["mandataire"]["actor"])
    officer = browser(people["officer"])
    monkeypatch.delenv("PREFECT_UI_URL", raising=False)
    reset_settings_cache()
    page = officer.get(f"/app/demandes/{rid}").text  # no hint meant for the administrator, no link
    assert "PREFECT_UI_URL" not in page and "non configurée" not in page and "/runs?tag=" not in page
    assert f"agrement_request:{rid}" in page
    monkeypatch.setenv("PREFECT_UI_URL", "http://127.0.0.1:4200/")
    reset_settings_cache()
    page = officer.get(f"/app/demandes/{rid}").text
    assert 'href="http://127.0.0.1:4200/flows?flows.nameLike=agrement-request"' in page
    assert f'href="http://127.0.0.1:4200/runs?tag=agrement_request%3A{rid}"' in page


def test_unknown_pages_and_static(browser, people, app):
    from fastapi.testclient import TestClient

    officer = browser(people["officer"])
    r = officer.get("/app/nulle-part")
    assert r.status_code == 404 and "Cette page n'existe pas." in unescape(r.text)
    assert officer.get("/app/demandes/abc").status_code == 404
    assert officer.get("/app/demandes/999999").status_code == 404
    with TestClient(app) as anonymous:
        css = anonymous.get("/app/static/style.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert anonymous.get("/app/nulle-part", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("role", ["officer", "mandataire", "controleur", "formateur", "structure"])
def test_every_list_page_renders_or_refuses(browser, people, role):
    from api.web.render import SECTION_ROLES

    grant_agrement(people, 1)
    structure_account(people, siret(1))
    client = browser(people[role])
    home = client.get("/app/").text
    for section in ("demandes", "agrements", "controles", "jurys", "candidats", "certificats", "recours", "formations",
                    "appuis", "rapport", "integrite", "operations"):
        allowed = people[role]["actor"].role in SECTION_ROLES[section]
        r = client.get(f"/app/{section}")
        assert r.status_code == (200 if allowed else 403), (section, r.status_code)
        assert "Accès refusé" in r.text if not allowed else "<table" in r.text or "Aucun" in r.text
        assert (f'href="/app/{section}"' in home) is allowed, section  # the navigation offers only these


# --- every action of the back-office, table-driven (tests/web/scenarios.py) ----------------------

FLOWS = ("agrement_request_changed", "agrement_changed", "controle_changed", "jury_changed",
         "training_session_changed", "appui_changed", "certificate_changed")


def hidden_fields(html: str) -> dict[str, str]:
    """The fields of the confirmation form, as a browser sends them (HTML entities decoded)."""
    form = html.split('id="confirm-form"', 1)[1]
    return {k: unescape(v) for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)}


def audit_count() -> int:
    with session_scope() as s:
        return len(s.exec(select(AuditEvent.id)).all())


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
    with session_scope() as s:
        mine = s.exec(select(AuditEvent).where(AuditEvent.actor_id == people[case.actor]["id"])
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
    with session_scope() as s:
        lifecycle.suspend(s, officer, suspended, "Contrôle : plan d'actions non réalisé")
        lifecycle.mark_expiring(s, SYSTEM, expiring)
        expiring_number, end = s.get(Agrement, expiring).number, s.get(Agrement, expiring).end_date
    structure_7 = add_structure(7)
    future = plan_training(people, days=[today() + timedelta(days=8)])
    with time_machine.travel(now() - timedelta(days=6)):  # held three days ago, results not recorded
        late = plan_training(people, days=[today() + timedelta(days=3)])
        enrollment = enroll_encadrant(people, late, structure_7)
    with time_machine.travel(now() - timedelta(days=3)):
        with session_scope() as s:
            training_svc.record_attendance(s, formateur, late, day=today(), present={enrollment: True})
    requested = appui(people, "requested")["id"]
    with session_scope() as s:
        assigned = appuis_svc.request_appui(s, officer, subject="Tutorat", need="Accueil", structure_id=structure_7).id
        appuis_svc.assign(s, officer, assigned, people["formateur"]["id"])
        refs = {k: s.get(m, i).reference for k, (m, i) in {
            "future": (TrainingSession, future), "late": (TrainingSession, late), "requested": (Appui, requested),
            "assigned": (Appui, assigned), "controle": (Controle, c["id"])}.items()}
        jury_ref = s.get(JurySession, j["id"]).reference
        candidate_ref = s.get(Candidate, present).reference

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


# --- conflicts of interest, validation, uploads ------------------------------------------------------


def test_conflicts_of_interest_on_the_jury_are_refused_and_traced(browser, people):
    from certification.models import LinkKind
    from certification.services import conflicts
    from tests.web.scenarios import jury

    j = jury(people, "planned", members=False)  # a candidate of structure 1 is presented
    structure_id = structure_id_of(1)
    marc = next(uid for uid in j["members"] if uid == people["employeur2"]["id"])
    with session_scope() as s:
        conflicts.link(s, marc, structure_id, LinkKind.employee)
    officer = browser(people["officer"])
    page = officer.get(f"/app/jurys/{j['id']}").text
    assert "Marc D'Alembert — conflit d'intérêts : travaille pour la structure" in unescape(page)
    r = officer.post(f"/app/jurys/{j['id']}/membre", data={"csrf_token": csrf_of(page), "user_id": str(marc),
                                                          "college": "employeur"})
    assert r.status_code == 200 and "conflit d'intérêts : travaille pour la structure" in unescape(r.text)
    r = officer.post(f"/app/jurys/{j['id']}/membre", data=hidden_fields(r.text))
    assert r.status_code == 409 and r.headers["content-type"].startswith("text/html")
    assert "Conflit d'intérêts : Marc D'Alembert ne peut pas siéger au jury d'un candidat de" in unescape(r.text)
    with session_scope() as s:
        assert s.exec(select(JuryMember)).all() == []
        refused = s.exec(select(AuditEvent).where(AuditEvent.action == "add_member_refused")).one()
        assert (refused.entity_id, refused.actor_id) == (j["id"], people["officer"]["id"])
    timeline = officer.get(f"/app/jurys/{j['id']}").text.split('id="historique"')[1]
    assert "Désignation refusée (conflit d'intérêts)" in unescape(timeline)


def test_validation_errors_are_french_and_change_nothing(browser, people):
    from tests.web.scenarios import PDF, controle, local_input

    c = controle(people, "assigned")
    gaelle = browser(people["controleur"])
    url = f"/app/controles/{c['id']}"
    token = page_csrf(gaelle, url)
    past = local_input(datetime.now(UTC) - timedelta(hours=2))
    r = gaelle.post(f"{url}/visite", data={"csrf_token": token, "visit_at": past,
                                          "place": "Saint-Étienne"})
    assert r.status_code == 422 and "La visite doit être programmée dans le futur." in r.text
    assert 'value="Saint-Étienne"' in r.text  # the form keeps what was typed
    r = gaelle.post(f"{url}/visite", data={"csrf_token": token, "visit_at": "demain matin", "place": "x"})
    assert r.status_code == 422 and "Date et heure invalides" in r.text
    # The report before the visit: the action is not open (409), its form is not offered.
    r = gaelle.post(f"{url}/rapport", data={"csrf_token": token, "summary": "x"},
                    files={"rapport": ("rapport.pdf", PDF, "application/pdf")})
    assert r.status_code == 409 and "impossible" in r.text
    assert 'id="form-rapport"' not in r.text and 'id="form-visite"' in r.text
    with session_scope() as s:
        assert s.get(Controle, c["id"]).state == "assigned"


def test_uploads_of_the_back_office(browser, people):
    from certification.controle.models import ControleFile
    from certification.settings import get_settings
    from tests.web.scenarios import PDF, controle

    c = controle(people, "visited")
    gaelle = browser(people["controleur"])
    url = f"/app/controles/{c['id']}"
    page = gaelle.get(url).text
    assert 'enctype="multipart/form-data"' in page.split('id="form-rapport"')[1].split(">")[0]
    fields = {"csrf_token": csrf_of(page), "constat_1_critere": "Encadrants formés", "constat_1_statut": "conforme",
              "summary": "RAS"}
    uploads = get_settings().uploads_dir
    stored = set(uploads.rglob("*.pdf")) if uploads.exists() else set()
    not_pdf = ("rapport.pdf", b"MZ\x90\x00 pas un pdf", "application/pdf")
    r = gaelle.post(f"{url}/rapport", data=fields, files={"rapport": not_pdf})
    assert r.status_code == 415 and r.headers["content-type"].startswith("text/html")
    assert "PDF" in unescape(r.text)
    r = gaelle.post(f"{url}/rapport", data=fields, files={"autre": ("x.pdf", PDF, "application/pdf")})
    assert r.status_code == 422 and "Champ de fichier inconnu" in unescape(r.text)
    assert (set(uploads.rglob("*.pdf")) if uploads.exists() else set()) == stored
    # A finding without status is refused; a file input left empty is ignored (the report is optional).
    r = gaelle.post(f"{url}/rapport", data={**fields, "constat_2_critere": "Livret", "constat_2_commentaire": "absent"},
                    files={"rapport": ("", b"", "application/octet-stream")})
    assert r.status_code == 422 and "Constat n° 2 : choisissez un statut." in unescape(r.text)
    r = gaelle.post(f"{url}/rapport", data=fields, files={"rapport": ("", b"", "application/octet-stream")})
    assert r.status_code == 200 and "Fichiers joints" in r.text and "aucun" in r.text
    # The signed token of the stored files cannot be forged to point at another file.
    r = gaelle.post(f"{url}/rapport", data=fields, files={"rapport": ("rapport signé.pdf", PDF, "application/pdf")})
    hidden = hidden_fields(r.text)
    payload, mac = hidden["pieces"].rsplit(".", 1)
    forged = {**hidden, "pieces": payload + "." + ("0" * len(mac))}
    r = gaelle.post(f"{url}/rapport", data=forged)
    assert r.status_code == 422 and "Fichiers joints invalides" in r.text
    # A confirmation left open until the orphan collector took its file is refused, nothing recorded.
    late = gaelle.post(f"{url}/rapport", data=fields, files={"rapport": ("tardif.pdf", PDF + b"\n%late",
                                                                        "application/pdf")})
    late_hidden = hidden_fields(late.text)
    from documents.storage import collect_orphans
    assert len(collect_orphans(uploads, set(), grace_seconds=-60)) == 2  # both stored files, nothing refers to them
    r = gaelle.post(f"{url}/rapport", data=late_hidden)
    assert r.status_code == 422 and "ne sont plus disponibles" in unescape(r.text)
    with session_scope() as s:
        assert s.exec(select(ControleFile).where(ControleFile.controle_id == c["id"])).all() == []
    r = gaelle.post(f"{url}/rapport", data=fields, files={"rapport": ("rapport signé.pdf", PDF, "application/pdf")})
    hidden = hidden_fields(r.text)
    r = gaelle.post(f"{url}/rapport", data=hidden)
    assert r.status_code == 303
    with session_scope() as s:
        f = s.exec(select(ControleFile).where(ControleFile.controle_id == c["id"])).one()
        assert (f.kind, f.original_name, f.size) == ("rapport", "rapport signé.pdf", len(PDF))
    download = gaelle.get(f"{url}/fichiers/{f.id}")
    assert download.status_code == 200 and download.content == PDF
    assert browser(people["structure"]).get(f"{url}/fichiers/{f.id}").status_code == 200  # the structure reads it
    assert gaelle.get(f"{url}/fichiers/{f.id + 1000}").status_code == 404


def test_training_outcome_and_jury_rules_in_french(browser, people):
    from tests.web.scenarios import jury, training

    t = training(people, "today_enrolled")  # planned today, the encadrant's attendance not recorded
    formateur = browser(people["formateur"])
    page = formateur.get(f"/app/formations/{t['id']}").text
    assert 'id="form-resultat-' not in page  # an outcome is recorded once the session is open
    assert 'id="form-presences"' in page and 'id="form-inscrire"' in page
    r = formateur.post(f"/app/formations/{t['id']}/resultat", data={
        "csrf_token": csrf_of(page), "enrollment_id": str(t["enrollment_id"]), "completed": "1"})
    assert r.status_code == 409 and "impossible" in r.text
    # The composition of a jury without its quorum present: 409 with the problems, in French.
    j = jury(people, "convened")
    officer = browser(people["officer"])
    page = officer.get(f"/app/jurys/{j['id']}").text
    r = officer.post(f"/app/jurys/{j['id']}/presences", data={
        "csrf_token": csrf_of(page), **{f"present_{uid}": "0" for uid in j["members"][1:]}})
    r = officer.post(f"/app/jurys/{j['id']}/presences", data=hidden_fields(r.text))
    assert r.status_code == 303
    r = officer.post(f"/app/jurys/{j['id']}/composition", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 409 and "Composition irrégulière" in unescape(r.text)
    assert "quorum non atteint" in unescape(r.text)


# --- activity report -----------------------------------------------------------------------------


def test_activity_report_page_and_downloads(browser, people):
    from io import BytesIO

    from pypdf import PdfReader

    from tests.factories import ReportRows

    rows = ReportRows(people)
    rows.juries(3, datetime(2023, 5, 10, 9, tzinfo=UTC), region="Bretagne")
    rows.juries(2, datetime(2022, 3, 1, 9, tzinfo=UTC), region="Normandie")
    rows.controles(1, datetime(2023, 6, 1, tzinfo=UTC), region="Bretagne")
    officer = browser(people["officer"])
    home = officer.get("/app/").text
    assert 'href="/app/rapport"' in home
    page = officer.get("/app/rapport").text
    assert '<option value="2022">2022</option>' in page and '<option value="2023">2023</option>' in page
    assert 'href="/app/rapport/activite.csv"' in page and 'href="/app/rapport/activite.pdf"' in page
    page = officer.get("/app/rapport?annee=2023").text
    assert "Rapport d'activité 2023" in page and '<option value="2023" selected>' in page
    assert 'href="/app/rapport/activite.csv?annee=2023"' in page and "Bretagne" in page
    csv = officer.get("/app/rapport/activite.csv?annee=2023")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert 'filename="rapport-activite-2023.csv"' in csv.headers["content-disposition"]
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Année;Région;") and lines[1].startswith("2023;Toutes régions;3;1;")
    pdf = officer.get("/app/rapport/activite.pdf?annee=2023")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(BytesIO(pdf.content)).pages)
    assert "2023" in text and "Bretagne" in text
    assert officer.get("/app/rapport?annee=deux-mille").status_code == 422
    for role in ("mandataire", "formateur"):
        other = browser(people[role])
        assert other.get("/app/rapport").status_code == 403
        assert other.get("/app/rapport/activite.csv").status_code == 403
        assert 'href="/app/rapport"' not in other.get("/app/").text


def test_prefect_links_of_training_and_appui(browser, people, monkeypatch):
    from tests.web.scenarios import appui, training

    t, a = training(people, "future"), appui(people, "assigned")
    monkeypatch.setenv("PREFECT_UI_URL", "http://127.0.0.1:4200")
    reset_settings_cache()
    formateur = browser(people["formateur"])
    page = formateur.get(f"/app/formations/{t['id']}").text
    assert 'href="http://127.0.0.1:4200/flows?flows.nameLike=training-session"' in page
    assert f'href="http://127.0.0.1:4200/runs?tag=training_session%3A{t["id"]}"' in page
    page = formateur.get(f"/app/appuis/{a['id']}").text
    assert 'flows.nameLike=appui"' in page and f"tag=appui%3A{a['id']}" in page


# --- the mandataire's compléments and renewals, candidates, certificates, rescheduling -------------


def test_mandataire_sends_complements_with_pdf_pieces(browser, people, monkeypatch):
    from certification.settings import get_settings, reset_settings_cache
    from tests.web.scenarios import PDF, incomplete_request

    rid = incomplete_request(people)["id"]
    mandataire = browser(people["mandataire"])
    assert "Transmettre les compléments demandés" in mandataire.get("/app/").text
    url = f"/app/demandes/{rid}"
    page = mandataire.get(url).text
    form = page.split('id="form-transmettre"')[1].split("</form>")[0]
    assert "par l'API" not in page and 'enctype="multipart/form-data"' in page.split('id="form-transmettre"')[1][:80]
    assert 'name="statuts"' in form and 'name="attestation_epsp"' in form and "multiple" in form
    token = csrf_of(page)
    uploads = get_settings().uploads_dir
    before = set(uploads.rglob("*.pdf")) if uploads.exists() else set()
    # Nothing sent: 422; not a PDF: 415; an unknown kind: 422; nothing stored, nothing changed.
    r = mandataire.post(f"{url}/transmettre", data={"csrf_token": token},
                        files={"statuts": ("", b"", "application/octet-stream")})
    assert r.status_code == 422 and "Joignez au moins une pièce ou un commentaire." in unescape(r.text)
    r = mandataire.post(f"{url}/transmettre", data={"csrf_token": token, "comment": "Voici"},
                        files={"statuts": ("statuts.pdf", b"MZ\x90\x00 pas un pdf", "application/pdf")})
    assert r.status_code == 415 and r.headers["content-type"].startswith("text/html") and "PDF" in r.text
    r = mandataire.post(f"{url}/transmettre", data={"csrf_token": token},
                        files={"rapport": ("rapport.pdf", PDF, "application/pdf")})
    assert r.status_code == 422 and "Champ de fichier inconnu" in unescape(r.text)
    assert (set(uploads.rglob("*.pdf")) if uploads.exists() else set()) == before
    assert state_of(rid) == "incomplete"
    # Two kinds of pieces: the confirmation lists each under its kind; confirmed, a second round.
    r = mandataire.post(f"{url}/transmettre", data={"csrf_token": token, "comment": "Statuts et programme."},
                        files=[("statuts", ("statuts signés.pdf", PDF, "application/pdf")),
                               ("programme", ("programme.pdf", PDF + b"%", "application/pdf"))])
    summary = unescape(r.text.split('id="summary"')[1].split("</dl>")[0])
    assert r.status_code == 200 and "Statuts signés de l'association" in summary and "envoi n° 2" in summary
    assert "Statuts ou conventionnement ACI (PDF) : statuts signés.pdf" in summary
    assert "Programme et organisation de la formation (PDF) : programme.pdf" in summary
    assert state_of(rid) == "incomplete"
    r = mandataire.post(f"{url}/transmettre", data=hidden_fields(r.text))
    assert r.status_code == 303 and r.headers["location"] == f"{url}?fait=transmettre"
    with session_scope() as s:
        request = s.get(AgrementRequest, rid)
        assert (request.state, request.round) == ("submitted", 2)
        new = [(p.kind, p.original_name, p.round) for p in agrement_queries.pieces_of(s, rid) if p.round == 2]
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "provide_complements")).one()
    assert sorted(new) == [("programme", "programme.pdf", 2), ("statuts", "statuts signés.pdf", 2)]
    assert (event.actor_id, event.from_state, event.to_state, event.reason) == (
        people["mandataire"]["id"], "incomplete", "submitted", "Statuts et programme.")
    page = mandataire.get(f"{url}?fait=transmettre").text
    assert "Les compléments ont été transmis" in page and 'id="form-transmettre"' not in page
    assert "statuts signés.pdf" in page and "Aucune action en attente." in mandataire.get("/app/").text
    officer_inbox = browser(people["officer"]).get("/app/").text
    assert "compléments reçus (envoi n° 2)" in officer_inbox
    # A body over the limit: 413, as a French page.
    other = incomplete_request(people, 2)["id"]
    monkeypatch.setenv("CQP_UPLOAD_MAX_BYTES", "1000")
    monkeypatch.setenv("CQP_UPLOAD_MAX_FILES", "1")
    reset_settings_cache()
    r = mandataire.post(f"/app/demandes/{other}/transmettre", data={"csrf_token": token},
                        files={"statuts": ("gros.pdf", PDF + b"0" * 1_100_000, "application/pdf")})
    assert r.status_code == 413 and "Envoi trop volumineux" in r.text
    assert state_of(other) == "incomplete"
    monkeypatch.undo()
    reset_settings_cache()


def test_renewal_reuses_the_previous_pieces_and_is_asked_once(browser, people):
    aid = grant_agrement(people)
    mandataire = browser(people["mandataire"])
    page = mandataire.get(f"/app/agrements/{aid}").text
    assert 'id="form-renouveler"' in page and "par l'API" not in page
    r = mandataire.post(f"/app/agrements/{aid}/renouveler", data={"csrf_token": csrf_of(page)})
    summary = unescape(r.text.split('id="summary"')[1])
    assert r.status_code == 200 and "dossier d'agrément.pdf (dossier de demande d'agrément)" in summary
    hidden = hidden_fields(r.text)
    assert mandataire.post(f"/app/agrements/{aid}/renouveler", data=hidden).status_code == 303
    with session_scope() as s:
        renewal = s.exec(select(AgrementRequest).where(AgrementRequest.kind == "renewal")).one()
        assert len(agrement_queries.pieces_of(s, renewal.id)) == 2 and renewal.previous_agrement_id == aid
    page = mandataire.get(f"/app/agrements/{aid}").text
    assert 'id="form-renouveler"' not in page and renewal.reference in page
    # A second renewal: refused (409), in French, and the officer may not ask for one (403).
    r = mandataire.post(f"/app/agrements/{aid}/renouveler", data={**hidden, "nonce": "une-autre-confirmation-0002"})
    assert r.status_code == 409 and "impossible" in unescape(r.text)
    officer = browser(people["officer"])
    r = officer.post(f"/app/agrements/{aid}/renouveler", data={"csrf_token": page_csrf(officer)})
    assert r.status_code == 403


def test_candidate_registration_evaluation_evidence_and_rules(browser, people):
    from tests.web.scenarios import PDF, candidate

    # A structure without an agrément in force: no form, and a registration is refused.
    add_structure(5)
    lonely = structure_account(people, siret(5), "structure_5")
    client = browser(lonely)
    page = client.get("/app/candidats").text
    assert 'id="form-inscrire"' not in page
    r = client.post("/app/candidats/inscrire", data={"csrf_token": csrf_of(page), "last_name": "X"})
    assert r.status_code == 409 and r.headers["content-type"].startswith("text/html")
    # The officer chooses the structure; a birth date in the future is refused by the service (422).
    c = candidate(people, "in_training")
    officer = browser(people["officer"])
    page = officer.get("/app/candidats").text
    assert 'id="form-inscrire"' in page and "SP-B1 — Réaliser les activités" in page
    fields = {"csrf_token": csrf_of(page), "structure_id": str(structure_id_of(1)), "certification_code": "CQP_SP",
              "last_name": "Kerouac", "first_names": "Jean", "birth_date": "2090-01-01", "sex": "X",
              "contract_type": "CDDI", "contract_start": today().isoformat()}
    r = officer.post("/app/candidats/inscrire", data=fields)
    assert r.status_code == 422 and "Sexe invalide" in unescape(r.text) and 'value="Kerouac"' in r.text
    r = officer.post("/app/candidats/inscrire", data={**fields, "sex": "M"})
    r = officer.post("/app/candidats/inscrire", data=hidden_fields(r.text))
    assert r.status_code == 422 and "Date de naissance invalide." in r.text
    # Evaluations: a future date is refused; the evidence is downloaded from the candidate's page.
    structure = browser(people["structure"])
    url = f"/app/candidats/{c['id']}"
    page = structure.get(url).text
    evaluation = {"csrf_token": csrf_of(page), "bloc_code": "SP-B1", "result": "acquis",
                  "evaluator_name": "Yann Le Gall", "evaluated_on": (today() + timedelta(days=1)).isoformat()}
    r = structure.post(f"{url}/evaluer", data=evaluation, files={"evidence": ("grille.pdf", PDF, "application/pdf")})
    assert r.status_code == 422 and "ne peut pas être future" in r.text
    r = structure.post(f"{url}/evaluer", data={**evaluation, "evaluated_on": today().isoformat()},
                       files={"evidence": ("grille.pdf", PDF, "application/pdf")})
    assert structure.post(f"{url}/evaluer", data=hidden_fields(r.text)).status_code == 303
    page = structure.get(url).text
    assert f'href="{url}/fichiers/1"' in page and "grille.pdf" in page
    assert structure.get(f"{url}/fichiers/1").content == PDF
    assert structure.get(f"{url}/fichiers/2").status_code == 404
    assert client.get(f"{url}/fichiers/1").status_code == 404  # another structure
    j = scenarios.jury(people, "planned")  # a jury member reads the candidates of his sessions, not their evidence
    with session_scope() as s:
        from certification.jury.models import JuryCandidate

        s.add(JuryCandidate(session_id=j["id"], candidate_id=c["id"], blocs=["SP-B1"]))
    member = browser(people["salarie1"])
    shown = member.get(url)
    assert shown.status_code == 200 and "Yann Le Gall" in shown.text and "grille.pdf" not in shown.text
    assert member.get(f"{url}/fichiers/1").status_code == 404
    # Presenting before every bloc is evaluated « acquis »: 409 with the missing blocs.
    r = structure.post(f"{url}/presenter", data={"csrf_token": csrf_of(page)})
    r = structure.post(f"{url}/presenter", data=hidden_fields(r.text))
    assert r.status_code == 409 and "Évaluations manquantes pour les blocs : SP-B2, SP-B3." in unescape(r.text)


def test_certificate_page_correction_rules_and_readers(browser, people):
    from tests.web.scenarios import certificate

    k = certificate(people)
    url = f"/app/certificats/{k['id']}"
    officer = browser(people["officer"])
    page = officer.get(url).text
    assert all(f'id="form-{a}"' in page for a in ("duplicata", "corriger", "revoquer"))
    assert "/verify/" in page and "Délivrance" in unescape(page.split('id="historique"')[1])
    token = csrf_of(page)
    with session_scope() as s:
        from certification.jury.models import Certificate

        row = s.get(Certificate, k["id"])
        current = {"last_name": row.holder_last_name, "first_names": row.holder_first_names,
                   "birth_date": row.holder_birth_date.isoformat(), "sex": row.holder_sex}
    r = officer.post(f"{url}/corriger", data={"csrf_token": token, **current, "reason": "rien"})
    assert r.status_code == 422 and "Indiquez au moins une donnée à corriger." in r.text
    r = officer.post(f"{url}/corriger", data={"csrf_token": token, **current, "sex": "X", "reason": "x"})
    assert r.status_code == 422 and "Sexe invalide" in unescape(r.text)
    # The sex only: declared to the Caisse des Dépôts, not printed: no new version of the document.
    other = "F" if current["sex"] == "M" else "M"
    r = officer.post(f"{url}/corriger", data={"csrf_token": token, **current, "sex": other, "reason": "état civil"})
    assert "pas de nouvelle version" in unescape(r.text)
    assert officer.post(f"{url}/corriger", data=hidden_fields(r.text)).status_code == 303
    with session_scope() as s:
        row = s.get(Certificate, k["id"])
        assert (row.holder_sex, row.version) == (other, 1)
        assert s.get(Candidate, row.candidate_id).sex == other
    # The structure reads its candidate's certificate, without any action; a jury member may not.
    structure = browser(people["structure"])
    page = structure.get(url)
    assert page.status_code == 200 and 'id="actions"' not in page.text
    assert f'href="{url}"' in structure.get(f"/app/candidats/{row.candidate_id}").text
    assert structure.post(f"{url}/revoquer", data={"csrf_token": csrf_of(page.text), "reason": "x"}).status_code == 403
    assert browser(people["presidente"]).get(url).status_code == 403
    # Revoked: no more action (409 for a late one), the page says so.
    r = officer.post(f"{url}/revoquer", data={"csrf_token": token, "reason": "Fraude"})
    assert officer.post(f"{url}/revoquer", data=hidden_fields(r.text)).status_code == 303
    page = officer.get(url).text
    assert "révoqué" in page and 'id="form-duplicata"' not in page
    r = officer.post(f"{url}/duplicata", data={"csrf_token": token, "reason": "perdu"})
    assert r.status_code == 409 and "révoqué" in unescape(r.text)


def test_rescheduling_a_training_session(browser, people):
    from tests.web.scenarios import training

    t = training(people, "enrolled")
    formateur = browser(people["formateur"])
    url = f"/app/formations/{t['id']}"
    page = formateur.get(url).text
    with session_scope() as s:
        from certification.training.models import TrainingSession

        days = s.get(TrainingSession, t["id"]).days
    form = page.split('id="form-reprogrammer"')[1].split("</form>")[0]
    assert f'value="{days[0]}"' in form and f'value="{days[1]}"' in form and 'value="Rennes, salle Bréhat"' in form
    fields = {"csrf_token": csrf_of(page), "jour_1_date": days[0], "jour_2_date": days[1],
              "place": "Rennes, salle Bréhat"}
    r = formateur.post(f"{url}/reprogrammer", data=fields)
    assert r.status_code == 422 and "Rien ne change" in r.text
    r = formateur.post(f"{url}/reprogrammer", data={**fields, "jour_1_date": "2001-01-01"})
    assert r.status_code == 422 and "doivent être à venir" in r.text
    r = formateur.post(f"{url}/reprogrammer", data={**fields, "jour_2_date": ""})
    summary = unescape(r.text.split('id="summary"')[1])
    assert "(au lieu de :" in summary and "1 encadrant(s) inscrit(s)" in summary
    assert formateur.post(f"{url}/reprogrammer", data=hidden_fields(r.text)).status_code == 303
    with session_scope() as s:
        row = s.get(TrainingSession, t["id"])
        assert (row.days, row.schedule_sequence) == ([days[0]], 1)
    timeline = unescape(formateur.get(url).text.split('id="historique"')[1])
    assert "Modifier les dates ou le lieu" in timeline and "journées précédentes" in timeline


def test_certificate_page_offers_its_open_badges(browser, people):
    """#15: the officer and the structure download the badges (PNG, credential baked in)."""
    from documents.badge import unbake
    from tests.web.scenarios import certificate

    k = certificate(people)
    url = f"/app/certificats/{k['id']}"
    for who in ("officer", "structure"):
        page = browser(people[who]).get(url).text
        links = re.findall(rf'href="({url}/fichiers/\d+)">Télécharger \(PNG\)', page)
        assert len(links) == 4, who
        png = browser(people[who]).get(links[0])
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert unbake(png.content).count(".") == 2
    assert browser(people["officer"]).get(f"{url}/fichiers/99999").status_code == 404
