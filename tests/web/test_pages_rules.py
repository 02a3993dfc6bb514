"""Back-office rules in French: conflicts of interest, validation errors, uploads, training
outcomes, the activity report, candidates, certificates, rescheduling, open badges."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

from sqlmodel import select

from certification.clock import today
from certification.controle.models import Controle
from certification.db import session_scope
from certification.models import AuditEvent
from certification.jury.models import JuryMember
from certification.candidates.models import Candidate
from certification.settings import reset_settings_cache
from tests.factories import (
    add_structure,
    siret,
    structure_account,
    structure_id_of,
)
from tests.web import scenarios
from tests.web.conftest import csrf_of, hidden_fields, page_csrf


# --- conflicts of interest, validation, uploads ------------------------------------------------------


def test_conflicts_of_interest_on_the_jury_are_refused_and_traced(browser, people):
    from certification.models import LinkKind
    from certification.services import conflicts
    from tests.web.scenarios import jury

    j = jury(people, "planned", members=False)  # a candidate of structure 1 is presented
    structure_id = structure_id_of(1)
    marc = next(uid for uid in j["members"] if uid == people["employeur2"]["id"])
    with session_scope() as db:
        conflicts.link(db, marc, structure_id, LinkKind.employee)
    officer = browser(people["officer"])
    page = officer.get(f"/app/jurys/{j['id']}").text
    assert "Marc D'Alembert — conflit d'intérêts : travaille pour la structure" in unescape(page)
    r = officer.post(f"/app/jurys/{j['id']}/membre", data={"csrf_token": csrf_of(page), "user_id": str(marc),
                                                          "college": "employeur"})
    assert r.status_code == 200 and "conflit d'intérêts : travaille pour la structure" in unescape(r.text)
    r = officer.post(f"/app/jurys/{j['id']}/membre", data=hidden_fields(r.text))
    assert r.status_code == 409 and r.headers["content-type"].startswith("text/html")
    assert "Conflit d'intérêts : Marc D'Alembert ne peut pas siéger au jury d'un candidat de" in unescape(r.text)
    with session_scope() as db:
        assert db.exec(select(JuryMember)).all() == []
        refused = db.exec(select(AuditEvent).where(AuditEvent.action == "add_member_refused")).one()
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
    with session_scope() as db:
        assert db.get(Controle, c["id"]).state == "assigned"


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
    with session_scope() as db:
        assert db.exec(select(ControleFile).where(ControleFile.controle_id == c["id"])).all() == []
    r = gaelle.post(f"{url}/rapport", data=fields, files={"rapport": ("rapport signé.pdf", PDF, "application/pdf")})
    hidden = hidden_fields(r.text)
    r = gaelle.post(f"{url}/rapport", data=hidden)
    assert r.status_code == 303
    with session_scope() as db:
        f = db.exec(select(ControleFile).where(ControleFile.controle_id == c["id"])).one()
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
    with session_scope() as db:
        from certification.jury.models import JuryCandidate

        db.add(JuryCandidate(session_id=j["id"], candidate_id=c["id"], blocs=["SP-B1"]))
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
    with session_scope() as db:
        from certification.jury.models import Certificate

        row = db.get(Certificate, k["id"])
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
    with session_scope() as db:
        row = db.get(Certificate, k["id"])
        assert (row.holder_sex, row.version) == (other, 1)
        assert db.get(Candidate, row.candidate_id).sex == other
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
    with session_scope() as db:
        from certification.training.models import TrainingSession

        days = db.get(TrainingSession, t["id"]).days
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
    with session_scope() as db:
        row = db.get(TrainingSession, t["id"])
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
