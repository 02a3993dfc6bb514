"""Sample data and one agrément request driven to a granted agrément, through the real API."""

from __future__ import annotations

import json
from html import escape
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx
from sqlmodel import select

from certification.db import session_scope
from certification.models import AgrementRequest, Role, Structure, User
from certification.services.referential import ensure_referential
from certification.services.users import create_user
from certification.settings import get_settings
from certification.siret import luhn_ok

DEMO_PASSWORD = "demo-cqp-2026"
DEMO_USERS = [
    ("camille.martin@cqp-aci.example.org", "Camille Martin", Role.officer),
    ("helene.dubois-lefevre@mandataires.example.org", "Hélène Dubois-Lefèvre", Role.mandataire),
    ("jean-francois.ndiaye@mandataires.example.org", "Jean-François N'Diaye", Role.mandataire),
    ("gaelle.le-goff@controle.example.org", "Gaëlle Le Goff", Role.controleur),
    ("oceane.perrin@formation.example.org", "Océane Perrin", Role.formateur),
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
            return DemoResult(
                reference=final["reference"], request_id=rid, state=final["state"],
                agrement_number=(final["agrement"] or {}).get("number"),
                documents=[d["filename"] for d in final["documents"]],
            )

    return anyio.run(scenario)


async def _atoken(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    r = await client.post("/auth/token", json={"email": email, "password": DEMO_PASSWORD})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def demo_paths() -> tuple[Path, Path]:
    settings = get_settings()
    return settings.generated_dir, settings.outbox_dir
