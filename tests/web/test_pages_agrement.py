"""Back-office pages of an agrément request: the officer's actions with confirmation, the
mandataire's avis, compléments and renewals, the assignment of a contrôle."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from sqlmodel import select

from certification.clock import today
from certification.controle import service as controle_svc
from certification.controle.models import Controle
from certification.db import session_scope
from certification.models import AuditEvent, Role, Structure
from certification.agrement.models import AgrementRequest
from certification.agrement import service as svc
from certification.agrement import queries as agrement_queries
from tests.factories import (
    add_user,
    grant_agrement,
    instruct,
    submit_request,
)
from tests.web.conftest import csrf_of, hidden_fields, page_csrf, state_of


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
    with session_scope() as db:
        event = db.exec(select(AuditEvent).where(AuditEvent.action == "declare_admissible")).one()
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
    with session_scope() as db:
        assert len(db.exec(select(AuditEvent).where(AuditEvent.action == "declare_admissible")).all()) == 1
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
    with session_scope() as db:
        request = db.get(AgrementRequest, rid)
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
    with session_scope() as db:
        svc.declare_admissible(db, people["officer"]["actor"], rid)
    mandataire = browser(people["mandataire"])
    page = mandataire.get(f"/app/demandes/{rid}").text
    assert 'id="form-avis"' in page and 'id="form-recevable"' not in page
    r = mandataire.post(f"/app/demandes/{rid}/avis", data={"csrf_token": csrf_of(page), "avis": "defavorable"})
    assert r.status_code == 422 and "Un avis défavorable doit être motivé." in r.text
    r = mandataire.post(f"/app/demandes/{rid}/avis", data={"csrf_token": csrf_of(page), "avis": "favorable",
                                                            "comment": "Équipe formée et motivée."})
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', r.text))
    assert mandataire.post(f"/app/demandes/{rid}/avis", data=hidden).status_code == 303
    with session_scope() as db:
        assert db.get(AgrementRequest, rid).avis == "favorable"


def test_assign_controle_with_conflict_of_interest(browser, people):
    people["controleur2"] = add_user("bruno.lemaitre@cqp.test", "Bruno Lemaître", Role.controleur)
    agrement_id = grant_agrement(people)
    with session_scope() as db:
        controle = controle_svc.plan_controle(db, people["officer"]["actor"], agrement_id, reason="Signalement")
        cid = controle.id
        structure_id = db.exec(select(Structure.id)).one()
        from certification.models import LinkKind
        from certification.services import conflicts

        conflicts.link(db, people["controleur"]["id"], structure_id, LinkKind.formateur)
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
    with session_scope() as db:
        assert db.get(Controle, cid).state == "planned"
        assert db.exec(select(AuditEvent).where(AuditEvent.action == "assign_refused")).one().entity_id == cid
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
    with session_scope() as db:
        request = db.get(AgrementRequest, rid)
        assert (request.state, request.round) == ("submitted", 2)
        new = [(p.kind, p.original_name, p.round) for p in agrement_queries.pieces_of(db, rid) if p.round == 2]
        event = db.exec(select(AuditEvent).where(AuditEvent.action == "provide_complements")).one()
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
    with session_scope() as db:
        renewal = db.exec(select(AgrementRequest).where(AgrementRequest.kind == "renewal")).one()
        assert len(agrement_queries.pieces_of(db, renewal.id)) == 2 and renewal.previous_agrement_id == aid
    page = mandataire.get(f"/app/agrements/{aid}").text
    assert 'id="form-renouveler"' not in page and renewal.reference in page
    # A second renewal: refused (409), in French, and the officer may not ask for one (403).
    r = mandataire.post(f"/app/agrements/{aid}/renouveler", data={**hidden, "nonce": "une-autre-confirmation-0002"})
    assert r.status_code == 409 and "impossible" in unescape(r.text)
    officer = browser(people["officer"])
    r = officer.post(f"/app/agrements/{aid}/renouveler", data={"csrf_token": page_csrf(officer)})
    assert r.status_code == 403
