"""Sample data driven through the real API (flows run inline), so that every process and every
role's inbox has something in it on first run.

The story began weeks ago: the domain's clock is moved back for each chapter
(:func:`certification.clock.shifted`), so that every date is in order and the services' chronology
rules hold (evaluations after the registration, within the agrément; the jury's results after its
date; certificates dated from the signed PV):

1. six weeks ago, an agrément request, from submission to a granted agrément (accusé de réception,
   decision);
2. the structure's account registers five candidates and evaluates their blocs (evidence PDF);
   three are presented to a jury paritaire that sat three days ago: convened (.ics), composed,
   deliberated (two certified, one partial validation), its president signed the PV: PV, two
   certificates with their QR code and an attestation de blocs, results e-mails;
3. steps left pending in every inbox: a second jury, which sat yesterday, waits for its president's
   signature; two new requests wait for their mandataire's avis; a contrôle entrusted to the
   contrôleur waits for the visit; the formateur's EPSP session is ahead, with an encadrant enrolled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from pathlib import Path

import anyio
import httpx
from sqlmodel import select

from certification.clock import now, shifted, today
from certification.db import session_scope
from certification.models import Role, Structure, User
from certification.agrement.models import AgrementRequest
from certification.services.referential import ensure_referential
from certification.services.users import create_user
from certification.settings import get_settings
from certification.siret import luhn_ok
from flows import dispatch

DEMO_PASSWORD = "demo-cqp-2026"
DEMO_USERS = [  # (email, name, role); DEMO_USER_SEXES: their recorded sex
    ("camille.martin@cqp-aci.example.org", "Camille Martin", Role.officer),
    ("helene.dubois-lefevre@mandataires.example.org", "Hélène Dubois-Lefèvre", Role.mandataire),
    ("jean-francois.ndiaye@mandataires.example.org", "Jean-François N'Diaye", Role.mandataire),
    ("gaelle.le-goff@controle.example.org", "Gaëlle Le Goff", Role.controleur),
    ("oceane.perrin@formation.example.org", "Océane Perrin", Role.formateur),
]
DEMO_USER_SEXES = {"camille.martin@cqp-aci.example.org": "F", "helene.dubois-lefevre@mandataires.example.org": "F",
                   "jean-francois.ndiaye@mandataires.example.org": "M", "gaelle.le-goff@controle.example.org": "F",
                   "oceane.perrin@formation.example.org": "F"}
DEMO_STRUCTURE_ACCOUNT = ("direction@jardins-etang.example.org", "Direction des Jardins de l'Étang")
DEMO_JURY = [  # (email, name, college, president)
    ("anne-sophie.roux@employeurs.example.org", "Anne-Sophie Roux", "employeur", True),
    ("marc.dalembert@employeurs.example.org", "Marc D'Alembert", "employeur", False),
    ("fatou.ndiaye@salaries.example.org", "Fatou N'Diaye", "salarie", False),
    ("elodie.remy@salaries.example.org", "Élodie Rémy", "salarie", False),
]
DEMO_JURY_SEXES = {"anne-sophie.roux@employeurs.example.org": "F", "marc.dalembert@employeurs.example.org": "M",
                   "fatou.ndiaye@salaries.example.org": "F", "elodie.remy@salaries.example.org": "F"}
DEMO_CANDIDATES = [  # (last name, first names, sex, results: None = every bloc validated)
    ("N'Guessan", "Aïssatou Marie", "F", None),
    ("Le Bihan", "Loïc", "M", None),
    ("Da Silva", "João", "M", {"SP-B1": "validated", "SP-B2": "not_validated", "SP-B3": "validated"}),
]
DEMO_LATER_CANDIDATES = [  # presented to the second jury, whose PV waits for the president's signature
    ("N'Diaye-Lefèvre", "Éloïse", "F", None),
    ("Ærøskøbing", "Zoë", "F", {"SP-B1": "validated", "SP-B2": "validated", "SP-B3": "not_validated"}),
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
DEMO_PENDING_REQUESTS = [  # (siret, structure, index of the mandataire in DEMO_USERS): avis to give
    (complete_siret("4210000000002"), {"name": "Atelier d'insertion de l'Yzeron", "region": "Auvergne-Rhône-Alpes",
                                       "address": "3, rue de l'Yzeron, 69290 Craponne",
                                       "email": "contact@atelier-yzeron.example.org"}, 1),
    (complete_siret("4210000000003"), {"name": "Ophélie d'Harcourt Insertion", "region": "Bretagne",
                                       "address": "8, quai de l'Odet, 29000 Quimper",
                                       "email": "contact@harcourt-insertion.example.org"}, 2),
]


def seed_users() -> dict[str, User]:
    """Referential and demo accounts (idempotent)."""
    with session_scope() as db:
        ensure_referential(db)
        users = {}
        for email, name, role in DEMO_USERS:
            user = db.exec(select(User).where(User.email == email)).first()
            users[email] = user or create_user(
                db, email=email, full_name=name, role=role, password=DEMO_PASSWORD,
                sex=DEMO_USER_SEXES.get(email),
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
    with session_scope() as db:
        structure = db.exec(select(Structure).where(Structure.siret == DEMO_SIRET)).first()
        done = structure and db.exec(
            select(AgrementRequest).where(AgrementRequest.structure_id == structure.id)
        ).first()
        if done:
            return DemoResult(reference=done.reference, request_id=done.id, state=done.state, skipped=True)

    transport = httpx.ASGITransport(app=app)
    start = now()

    async def scenario() -> DemoResult:
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
            with shifted(start - timedelta(days=42)):
                result = await _agrement(client)
            agrement = _ok(await client.get(f"/agrement-requests/{result.request_id}",
                                            headers=await _atoken(client, DEMO_USERS[0][0])))["agrement"]
            await _jury(client, agrement, result, start)
            officer = await _atoken(client, DEMO_USERS[0][0])
            await _pending_requests(client, officer, start)
            await _controle_and_training(client, officer, agrement, result)
        await dispatch.drain_background()  # the flows the demo's actions started (background mode)
        return result

    return anyio.run(scenario)


async def _agrement(client: httpx.AsyncClient) -> DemoResult:
    """The structure's agrément request, from submission to the granted agrément."""
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
    return DemoResult(
        reference=final["reference"], request_id=rid, state=final["state"],
        agrement_number=(final["agrement"] or {}).get("number"),
        documents=[d["filename"] for d in final["documents"]],
    )


async def _pending_requests(client: httpx.AsyncClient, officer: dict, start: datetime) -> None:
    """Two requests declared admissible five days ago: each mandataire has an avis to give."""
    for i, (siret, structure, who) in enumerate(DEMO_PENDING_REQUESTS):
        with shifted(start - timedelta(days=5, hours=i)):
            mandataire = await _atoken(client, DEMO_USERS[who][0])
            officer = await _atoken(client, DEMO_USERS[0][0])
            files = [("dossier", ("dossier-agrement.pdf", sample_pdf(
                "Dossier de demande d'agrément", f"Structure : {structure['name']}."), "application/pdf")),
                     ("attestation_epsp", ("attestation-epsp.pdf", sample_pdf(
                         "Attestation de formation EPSP", "Encadrant formé en 2025."), "application/pdf"))]
            metadata = {"structure": {"siret": siret, **structure}, "certification_code": "CQP_SP",
                        "motivation": "Qualifier nos salariés polyvalents."}
            created = _ok(await client.post(
                "/agrement-requests", headers={**mandataire, "Idempotency-Key": f"demo-pending-{i}"},
                data={"metadata": json.dumps(metadata)}, files=files))
            _ok(await client.post(f"/agrement-requests/{created['id']}/admissible", headers=officer,
                                  json={"comment": "Dossier complet."}))


async def _account(client: httpx.AsyncClient, officer: dict, email: str, name: str, role: str,
                   **extra) -> dict:
    return _ok(await client.post("/users", headers=officer, json={
        "email": email, "full_name": name, "role": role, "password": DEMO_PASSWORD, **extra}))


async def _register(client: httpx.AsyncClient, structure: dict, people, first: int) -> list[int]:
    ids = []
    for i, (last, first_names, sex, _results) in enumerate(people, start=first):
        c = _ok(await client.post("/candidates", headers={**structure, "Idempotency-Key": f"demo-candidate-{i}"},
                                  json={"last_name": last, "first_names": first_names, "sex": sex,
                                        "birth_date": f"199{i}-0{i + 3}-1{i}", "birth_place": "Lyon (69)",
                                        "email": f"candidat{i + 1}@jardins-etang.example.org",
                                        "contract_type": "CDDI", "contract_start": "2025-09-01",
                                        "certification_code": "CQP_SP"}))
        _ok(await client.post(f"/candidates/{c['id']}/start-training", headers=structure))
        ids.append(c["id"])
    return ids


async def _evaluate(client: httpx.AsyncClient, structure: dict, candidate_ids: list[int]) -> None:
    evidence = sample_pdf("Grille d'évaluation", "Mise en situation professionnelle sur le chantier.")
    for cid in candidate_ids:
        blocs = _ok(await client.get(f"/candidates/{cid}", headers=structure))["blocs"]
        for bloc in blocs:
            meta = {"bloc_code": bloc, "evaluated_on": str(today()), "result": "acquis",
                    "evaluator_name": "Zoé Lefèvre", "comment": "Mise en situation réussie."}
            _ok(await client.post(f"/candidates/{cid}/evaluations", headers=structure,
                                  data={"metadata": json.dumps(meta)},
                                  files=[("evidence", (f"evaluation-{bloc}.pdf", evidence, "application/pdf"))]))
        _ok(await client.post(f"/candidates/{cid}/ready", headers=structure))


async def _plan_jury(client: httpx.AsyncClient, officer: dict, candidate_ids: list[int], at: datetime,
                     members: dict[str, int]) -> int:
    jury = _ok(await client.post("/jury-sessions", headers=officer, json={
        "certification_code": "CQP_SP", "place": "Maison de la branche, 12 rue de l'Arbre-Sec, Lyon",
        "scheduled_at": at.replace(microsecond=0).isoformat()}))
    sid = jury["id"]
    _ok(await client.post(f"/jury-sessions/{sid}/candidates", headers=officer, json={"candidate_ids": candidate_ids}))
    for email, _name, college, president in DEMO_JURY:
        _ok(await client.post(f"/jury-sessions/{sid}/members", headers=officer,
                              json={"user_id": members[email], "college": college, "is_president": president}))
    _ok(await client.post(f"/jury-sessions/{sid}/convene", headers=officer))
    return sid


async def _deliberate(client: httpx.AsyncClient, sid: int, candidate_ids: list[int], people) -> None:
    """At the session: attendance, composition, results and closing (the president's signature apart)."""
    officer = await _atoken(client, DEMO_USERS[0][0])
    detail = _ok(await client.get(f"/jury-sessions/{sid}", headers=officer))
    _ok(await client.post(f"/jury-sessions/{sid}/attendance", headers=officer,
                          json={"present": {str(m["user_id"]): True for m in detail["members"]}}))
    _ok(await client.post(f"/jury-sessions/{sid}/check-composition", headers=officer))
    president = await _atoken(client, DEMO_JURY[0][0])
    for cid, (_last, _first, _sex, results) in zip(candidate_ids, people):
        blocs = results or {"SP-B1": "validated", "SP-B2": "validated", "SP-B3": "validated"}
        _ok(await client.post(f"/jury-sessions/{sid}/results", headers=president,
                              json={"candidate_id": cid, "results": blocs}))
    _ok(await client.post(f"/jury-sessions/{sid}/close-deliberation", headers=president))


async def _jury(client: httpx.AsyncClient, agrement: dict, result: DemoResult, start: datetime) -> None:
    """Candidates of the structure; a jury that sat three days ago, PV signed; a second one, which sat
    yesterday, waiting for its president's signature."""
    first_jury_at = (start - timedelta(days=3)).replace(hour=8, minute=30, second=0)  # 9 h 30 in Paris
    second_jury_at = (start - timedelta(days=1)).replace(hour=8, minute=30, second=0)
    with shifted(start - timedelta(days=40)):
        officer = await _atoken(client, DEMO_USERS[0][0])
        await _account(client, officer, *DEMO_STRUCTURE_ACCOUNT, "structure", structure_siret=DEMO_SIRET)
        members = {}
        for email, name, _college, _president in DEMO_JURY:
            members[email] = (await _account(client, officer, email, name, "jury_member",
                                             sex=DEMO_JURY_SEXES[email]))["id"]
        structure = await _atoken(client, DEMO_STRUCTURE_ACCOUNT[0])
        first_ids = await _register(client, structure, DEMO_CANDIDATES, 0)
        later_ids = await _register(client, structure, DEMO_LATER_CANDIDATES, len(DEMO_CANDIDATES))
    with shifted(start - timedelta(days=12)):
        structure = await _atoken(client, DEMO_STRUCTURE_ACCOUNT[0])
        await _evaluate(client, structure, first_ids + later_ids)
        officer = await _atoken(client, DEMO_USERS[0][0])
        sid = await _plan_jury(client, officer, first_ids, first_jury_at, members)
        second = await _plan_jury(client, officer, later_ids, second_jury_at, members)
    with shifted(first_jury_at + timedelta(hours=3)):
        await _deliberate(client, sid, first_ids, DEMO_CANDIDATES)
        president = await _atoken(client, DEMO_JURY[0][0])
        signed = _ok(await client.post(f"/jury-sessions/{sid}/sign-pv", headers=president))
    with shifted(second_jury_at + timedelta(hours=3)):
        await _deliberate(client, second, later_ids, DEMO_LATER_CANDIDATES)
    officer = await _atoken(client, DEMO_USERS[0][0])
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
    training_session = _ok(await client.post("/training-sessions", headers=formateur, json={
        "days": [str(first_day), str(first_day + timedelta(days=1))], "place": "Lyon, salle Croix-Rousse",
        "title": "Formation EPSP — encadrants d'insertion", "hours": "9 h – 12 h 30, 13 h 30 – 17 h"}))
    _ok(await client.post(f"/training-sessions/{training_session['id']}/enrollments", headers=formateur, json={
        "structure_id": agrement["structure_id"], "last_name": "Lefèvre", "first_names": "Zoé",
        "email": "zoe.lefevre@jardins-etang.example.org"}))
    result.training_reference = training_session["reference"]


async def _atoken(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    r = await client.post("/auth/token", json={"email": email, "password": DEMO_PASSWORD})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def demo_paths() -> tuple[Path, Path]:
    settings = get_settings()
    return settings.generated_dir, settings.outbox_dir
