"""Sample data driven through the real API (flows run inline), so that every process and every
role's inbox has something in it on first run:

1. an agrément request, from submission to a granted agrément (accusé de réception, decision);
2. the structure's account registers three candidates, evaluates their blocs (evidence PDF) and
   presents them; a jury paritaire is planned, convened (.ics), composed, deliberates (two
   certified, one partial validation), its president signs the PV: PV, two certificates with
   their QR code and an attestation de blocs, results e-mails;
3. a contrôle of the agrément, entrusted to the contrôleur (the visit is his next step);
4. an EPSP training session of the formateur, with an encadrant of the structure enrolled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

import anyio
import httpx
from sqlmodel import select

from certification.clock import today
from certification.db import session_scope
from certification.models import AgrementRequest, Role, Structure, User
from certification.services.referential import ensure_referential
from certification.services.users import create_user
from certification.settings import get_settings
from certification.siret import luhn_ok
from flows import dispatch

DEMO_PASSWORD = "demo-cqp-2026"
DEMO_USERS = [
    ("camille.martin@cqp-aci.example.org", "Camille Martin", Role.officer),
    ("helene.dubois-lefevre@mandataires.example.org", "Hélène Dubois-Lefèvre", Role.mandataire),
    ("jean-francois.ndiaye@mandataires.example.org", "Jean-François N'Diaye", Role.mandataire),
    ("gaelle.le-goff@controle.example.org", "Gaëlle Le Goff", Role.controleur),
    ("oceane.perrin@formation.example.org", "Océane Perrin", Role.formateur),
]
DEMO_STRUCTURE_ACCOUNT = ("direction@jardins-etang.example.org", "Direction des Jardins de l'Étang")
DEMO_JURY = [  # (email, name, college, president)
    ("anne-sophie.roux@employeurs.example.org", "Anne-Sophie Roux", "employeur", True),
    ("marc.dalembert@employeurs.example.org", "Marc D'Alembert", "employeur", False),
    ("fatou.ndiaye@salaries.example.org", "Fatou N'Diaye", "salarie", False),
    ("elodie.remy@salaries.example.org", "Élodie Rémy", "salarie", False),
]
DEMO_CANDIDATES = [  # (last name, first names, sex, results: None = every bloc validated)
    ("N'Guessan", "Aïssatou Marie", "F", None),
    ("Le Bihan", "Loïc", "M", None),
    ("Da Silva", "João", "M", {"SP-B1": "validated", "SP-B2": "not_validated", "SP-B3": "validated"}),
]
DEMO_STRUCTURE = {
    "name": "Les Jardins de l'Étang — Chantier d'insertion",
    "region": "Auvergne-Rhône-Alpes",
    "address": "12, chemin de l'Écluse, 69100 Villeurbanne",
    "email": "contact@jardins-etang.example.org",
}


def complete_siret(first13: str) -> str:
    """Append the Luhn check digit to 13 digits (sample data only)."""
    return next(first13 + str(d) for d in range(10) if luhn_ok(first13 + str(d)))


DEMO_SIRET = complete_siret("4210000000001")


def seed_users() -> dict[str, User]:
    """Referential and demo accounts (idempotent)."""
    with session_scope() as session:
        ensure_referential(session)
        users = {}
        for email, name, role in DEMO_USERS:
            user = session.exec(select(User).where(User.email == email)).first()
            users[email] = user or create_user(
                session, email=email, full_name=name, role=role, password=DEMO_PASSWORD
            )
        return users


def sample_pdf(title: str, body: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=f"<html><body><h1>{escape(title)}</h1><p>{escape(body)}</p></body></html>").write_pdf()


@dataclass
class DemoResult:
    reference: str = ""
    request_id: int = 0
    agrement_number: str | None = None
    state: str = ""
    documents: list[str] = field(default_factory=list)
    skipped: bool = False
    jury_reference: str = ""
    jury_state: str = ""
    certificates: list[str] = field(default_factory=list)  # numbers
    verification_url: str = ""  # of the first certificate
    controle_reference: str = ""
    training_reference: str = ""


def _ok(response: httpx.Response) -> dict:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response.json()


def run_demo(app) -> DemoResult:
    """Drive one request from submission to a granted agrément (flows run inline)."""
    seed_users()
    with session_scope() as session:
        structure = session.exec(select(Structure).where(Structure.siret == DEMO_SIRET)).first()
        done = structure and session.exec(
            select(AgrementRequest).where(AgrementRequest.structure_id == structure.id)
        ).first()
        if done:
            return DemoResult(reference=done.reference, request_id=done.id, state=done.state, skipped=True)

    transport = httpx.ASGITransport(app=app)

    async def scenario() -> DemoResult:
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
            officer = await _atoken(client, DEMO_USERS[0][0])
            mandataire = await _atoken(client, DEMO_USERS[1][0])
            files = [
                ("dossier", ("dossier-agrement.pdf", sample_pdf(
                    "Dossier de demande d'agrément",
                    "Structure : Les Jardins de l'Étang. Parcours CQP Salarié Polyvalent, 12 salariés en insertion."),
                    "application/pdf")),
                ("attestation_epsp", ("attestation-epsp-encadrant.pdf", sample_pdf(
                    "Attestation de formation EPSP", "Encadrante : Zoé Lefèvre, formée en 2025."),
                    "application/pdf")),
            ]
            metadata = {
                "structure": {"siret": DEMO_SIRET, **DEMO_STRUCTURE},
                "certification_code": "CQP_SP",
                "motivation": "Accompagner nos salariés polyvalents vers une qualification reconnue.",
            }
            created = _ok(await client.post(
                "/agrement-requests", headers={**mandataire, "Idempotency-Key": "demo-submission-1"},
                data={"metadata": json.dumps(metadata)}, files=files,
            ))
            rid = created["id"]
            _ok(await client.post(f"/agrement-requests/{rid}/admissible", headers=officer,
                                  json={"comment": "Dossier complet."}))
            _ok(await client.post(f"/agrement-requests/{rid}/avis", headers=mandataire,
                                  json={"avis": "favorable", "comment": "Encadrement solide, plateau technique adapté."}))
            _ok(await client.post(f"/agrement-requests/{rid}/decision", headers=officer,
                                  json={"decision": "grant", "reason": "Avis favorable du mandataire."}))
            final = _ok(await client.get(f"/agrement-requests/{rid}", headers=officer))
            result = DemoResult(
                reference=final["reference"], request_id=rid, state=final["state"],
                agrement_number=(final["agrement"] or {}).get("number"),
                documents=[d["filename"] for d in final["documents"]],
            )
            agrement = final["agrement"]
            await _jury(client, officer, agrement, result)
            await _controle_and_training(client, officer, agrement, result)
        await dispatch.drain_background()  # the flows the demo's actions started (background mode)
        return result

    return anyio.run(scenario)


async def _account(client: httpx.AsyncClient, officer: dict, email: str, name: str, role: str,
                   **extra) -> dict:
    return _ok(await client.post("/users", headers=officer, json={
        "email": email, "full_name": name, "role": role, "password": DEMO_PASSWORD, **extra}))


async def _jury(client: httpx.AsyncClient, officer: dict, agrement: dict, result: DemoResult) -> None:
    """Candidates of the structure, then a jury from planning to the signed PV (documents, e-mails)."""
    await _account(client, officer, *DEMO_STRUCTURE_ACCOUNT, "structure", structure_siret=DEMO_SIRET)
    structure = await _atoken(client, DEMO_STRUCTURE_ACCOUNT[0])
    evidence = sample_pdf("Grille d'évaluation", "Mise en situation professionnelle sur le chantier.")
    candidate_ids = []
    for i, (last, first, sex, _results) in enumerate(DEMO_CANDIDATES):
        c = _ok(await client.post("/candidates", headers={**structure, "Idempotency-Key": f"demo-candidate-{i}"},
                                  json={"last_name": last, "first_names": first, "sex": sex,
                                        "birth_date": f"199{i}-0{i + 3}-1{i}", "birth_place": "Lyon (69)",
                                        "email": f"candidat{i + 1}@jardins-etang.example.org",
                                        "contract_type": "CDDI", "contract_start": "2025-09-01",
                                        "certification_code": "CQP_SP"}))
        _ok(await client.post(f"/candidates/{c['id']}/start-training", headers=structure))
        for bloc in c["blocs"]:
            meta = {"bloc_code": bloc, "evaluated_on": str(today() - timedelta(days=20)), "result": "acquis",
                    "evaluator_name": "Zoé Lefèvre", "comment": "Mise en situation réussie."}
            _ok(await client.post(f"/candidates/{c['id']}/evaluations", headers=structure,
                                  data={"metadata": json.dumps(meta)},
                                  files=[("evidence", (f"evaluation-{bloc}.pdf", evidence, "application/pdf"))]))
        _ok(await client.post(f"/candidates/{c['id']}/ready", headers=structure))
        candidate_ids.append(c["id"])

    jury = _ok(await client.post("/jury-sessions", headers=officer, json={
        "certification_code": "CQP_SP", "place": "Maison de la branche, 12 rue de l'Arbre-Sec, Lyon",
        "scheduled_at": (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0).isoformat()}))
    sid = jury["id"]
    _ok(await client.post(f"/jury-sessions/{sid}/candidates", headers=officer,
                          json={"candidate_ids": candidate_ids}))
    for email, name, college, president in DEMO_JURY:
        user = await _account(client, officer, email, name, "jury_member")
        _ok(await client.post(f"/jury-sessions/{sid}/members", headers=officer,
                              json={"user_id": user["id"], "college": college, "is_president": president}))
    detail = _ok(await client.post(f"/jury-sessions/{sid}/convene", headers=officer))
    _ok(await client.post(f"/jury-sessions/{sid}/attendance", headers=officer,
                          json={"present": {str(m["user_id"]): True for m in detail["members"]}}))
    _ok(await client.post(f"/jury-sessions/{sid}/check-composition", headers=officer))
    president = await _atoken(client, DEMO_JURY[0][0])
    for cid, (_last, _first, _sex, results) in zip(candidate_ids, DEMO_CANDIDATES):
        blocs = results or {"SP-B1": "validated", "SP-B2": "validated", "SP-B3": "validated"}
        _ok(await client.post(f"/jury-sessions/{sid}/results", headers=president,
                              json={"candidate_id": cid, "results": blocs}))
    _ok(await client.post(f"/jury-sessions/{sid}/close-deliberation", headers=president))
    signed = _ok(await client.post(f"/jury-sessions/{sid}/sign-pv", headers=president))
    final = _ok(await client.get(f"/jury-sessions/{sid}", headers=officer))
    certificates = await _all(client, "/certificates", officer)
    result.jury_reference, result.jury_state = signed["reference"], final["state"]
    result.certificates = [c["number"] for c in certificates]
    first = next((c for c in certificates if c["kind"] == "certificate"), None)
    if first:
        result.verification_url = _ok(await client.get(f"/certificates/{first['id']}", headers=officer))[
            "verification_url"]


async def _all(client: httpx.AsyncClient, url: str, headers: dict) -> list[dict]:
    """Every item of a paginated list, following its ``next`` links."""
    items: list[dict] = []
    while url:
        page = _ok(await client.get(url, headers=headers))
        items += page["items"]
        url = page["next"]
    return items


async def _controle_and_training(client: httpx.AsyncClient, officer: dict, agrement: dict,
                                 result: DemoResult) -> None:
    """A contrôle entrusted to the contrôleur, and an EPSP session of the formateur with an enrolment."""
    users = {u["email"]: u for u in await _all(client, "/users", officer)}
    controle = _ok(await client.post("/controles", headers=officer, json={
        "agrement_id": agrement["id"], "reason": "Contrôle de la première année d'agrément."}))
    _ok(await client.post(f"/controles/{controle['id']}/assign", headers=officer,
                          json={"controleur_id": users[DEMO_USERS[3][0]]["id"]}))
    result.controle_reference = controle["reference"]
    formateur = await _atoken(client, DEMO_USERS[4][0])
    first_day = today() + timedelta(days=21)
    session = _ok(await client.post("/training-sessions", headers=formateur, json={
        "days": [str(first_day), str(first_day + timedelta(days=1))], "place": "Lyon, salle Croix-Rousse",
        "title": "Formation EPSP — encadrants d'insertion", "hours": "9 h – 12 h 30, 13 h 30 – 17 h"}))
    _ok(await client.post(f"/training-sessions/{session['id']}/enrollments", headers=formateur, json={
        "structure_id": agrement["structure_id"], "last_name": "Lefèvre", "first_names": "Zoé",
        "email": "zoe.lefevre@jardins-etang.example.org"}))
    result.training_reference = session["reference"]


async def _atoken(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    r = await client.post("/auth/token", json={"email": email, "password": DEMO_PASSWORD})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def demo_paths() -> tuple[Path, Path]:
    settings = get_settings()
    return settings.generated_dir, settings.outbox_dir
