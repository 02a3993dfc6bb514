"""Back-office pages (server-rendered): login, CSRF, role filtering, inbox ordering, timelines,
escaping, Prefect links, list pages of each role."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import update

from certification.clock import today
from certification.controle import service as controle_svc
from certification.db import session_scope
from certification.models import Role
from certification.agrement.models import AgrementRequest
from certification.agrement import service as svc
from certification.settings import reset_settings_cache
from tests.factories import (
    add_user,
    grant_agrement,
    ready_candidates,
    siret,
    structure_account,
    submit_request,
)
from tests.web.conftest import PASSWORD, csrf_of, page_csrf, state_of


def inbox_references(html: str) -> list[str]:
    return re.findall(r'<a href="[^"]+" class="ref">([^<]+)</a>', html)


def reference_of(request_id: int) -> str:
    with session_scope() as db:
        return db.get(AgrementRequest, request_id).reference


def set_request(request_id: int, **values) -> None:
    with session_scope() as db:
        db.execute(update(AgrementRequest).where(AgrementRequest.id == request_id).values(**values))


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
    with session_scope() as db:
        svc.request_complements(db, people["officer"]["actor"], mine, "Statuts signés", deadline_days=10)

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
    with session_scope() as db:
        c1 = controle_svc.plan_controle(db, officer, a1, reason="Signalement")
        c2 = controle_svc.plan_controle(db, officer, a2, reason="Échantillon")
        controle_svc.assign(db, officer, c1.id, people["controleur"]["id"])
        controle_svc.assign(db, officer, c2.id, people["controleur2"]["id"])
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
    with session_scope() as db:
        svc.request_complements(db, officer, late, "Attestation EPSP lisible", deadline_days=30)
        svc.request_complements(db, officer, soon, "Programme de formation", deadline_days=3)
        for rid in (review, decide, done):
            svc.declare_admissible(db, officer, rid, avis_deadline_days=10)
        svc.give_avis(db, mandataire, decide, "favorable")
        svc.give_avis(db, mandataire, done, "favorable")
        svc.refuse(db, officer, done, "Encadrement non formé")
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
