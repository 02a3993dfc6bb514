"""Test data builders (real rows through the real services)."""

from __future__ import annotations

from certification.audit import Actor
from certification.db import session_scope
from certification.models import Role
from certification.services.referential import ensure_referential
from certification.services.users import create_user, issue_token
from certification.siret import luhn_ok


def siret(n: int) -> str:
    """A valid SIRET, distinct for each ``n``."""
    base = f"{n:09d}0001"[:13]
    return next(base + str(d) for d in range(10) if luhn_ok(base + str(d)))


def make_users() -> dict[str, dict]:
    """Referential plus one user per role of interest; returns id, actor and a bearer token for each."""
    people = {
        "officer": ("camille.martin@cqp.test", "Camille Martin", Role.officer),
        "mandataire": ("helene.dubois@cqp.test", "Hélène Dubois-Lefèvre", Role.mandataire),
        "other_mandataire": ("jf.ndiaye@cqp.test", "Jean-François N'Diaye", Role.mandataire),
        "controleur": ("gaelle.legoff@cqp.test", "Gaëlle Le Goff", Role.controleur),
        "formateur": ("oceane.perrin@cqp.test", "Océane Perrin", Role.formateur),
    }
    out = {}
    with session_scope() as session:
        ensure_referential(session)
        for key, (email, name, role) in people.items():
            user = create_user(session, email=email, full_name=name, role=role, password="mot-de-passe-sûr")
            out[key] = {
                "id": user.id,
                "email": email,
                "actor": Actor(user.id, role, name),
                "token": issue_token(session, user),
            }
    return out


def auth(user: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {user['token']}"}


def pieces():
    from certification.services.agrement import PieceIn

    return [
        PieceIn("dossier", "dossier d'agrément.pdf", "application/pdf", 1200, "a" * 64, "uploads/aa/aa/a.pdf"),
        PieceIn("attestation_epsp", "attestation EPSP.pdf", "application/pdf", 900, "b" * 64, "uploads/bb/bb/b.pdf"),
    ]


def submit_request(actor: Actor, n: int = 1, *, name: str | None = None, pieces_in=None, **kw) -> int:
    """File a request through the service; returns its id."""
    from certification.services.agrement import StructureIn, submit_request as submit

    with session_scope() as session:
        request = submit(
            session, actor,
            structure=StructureIn(
                siret=siret(n), name=name or f"Chantier d'insertion n°{n} — Saint-Étienne",
                region="Auvergne-Rhône-Alpes", email=f"aci{n}@example.org",
            ),
            certification_code="CQP_SP", pieces=pieces() if pieces_in is None else pieces_in, **kw,
        )
        return request.id


def grant_agrement(people: dict, n: int = 1, **kw) -> int:
    """An agrément granted through the real services; returns its id."""
    from certification.audit import SYSTEM
    from certification.services import agrement as svc

    officer, mandataire = people["officer"]["actor"], people["mandataire"]["actor"]
    rid = submit_request(mandataire, n, **kw)
    with session_scope() as session:
        svc.declare_admissible(session, officer, rid)
        svc.start_review(session, SYSTEM, rid)
        svc.give_avis(session, mandataire, rid, "favorable")
        _, agrement = svc.grant(session, officer, rid)
        return agrement.id


def add_user(email: str, name: str, role: Role, **kw) -> dict:
    with session_scope() as session:
        user = create_user(session, email=email, full_name=name, role=role, password="mot-de-passe-sûr", **kw)
        return {"id": user.id, "email": email, "actor": Actor(user.id, role, name),
                "token": issue_token(session, user)}
