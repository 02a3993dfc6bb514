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
                "token": issue_token(session, user, ttl_hours=None),
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


def instruct(request_id: int, people: dict) -> None:
    """Take a submitted request to the decision: admissible, review, favourable avis."""
    from certification.audit import SYSTEM
    from certification.services import agrement as svc

    with session_scope() as s:
        mandataire_id = svc.get_request(s, SYSTEM, request_id).mandataire_id
        svc.declare_admissible(s, people["officer"]["actor"], request_id)
        svc.start_review(s, SYSTEM, request_id)
        mandataire = next(p["actor"] for p in people.values() if p["id"] == mandataire_id)
        svc.give_avis(s, mandataire, request_id, "favorable")


def grant_request(request_id: int, people: dict, *, start=None, end=None) -> int:
    """Instruct and grant ``request_id``; returns the agrément id."""
    from certification.services import agrement as svc

    instruct(request_id, people)
    with session_scope() as s:
        _, agrement = svc.grant(s, people["officer"]["actor"], request_id, start_date=start, end_date=end)
        return agrement.id


def grant_agrement(people: dict, n: int = 1, *, start=None, end=None, mandataire: Actor | None = None, **kw) -> int:
    """A structure (n) with a granted CQP SP agrément, through the real services; returns its id."""
    rid = submit_request(mandataire or people["mandataire"]["actor"], n, **kw)
    return grant_request(rid, people, start=start, end=end)


def add_user(email: str, name: str, role: Role, **kw) -> dict:
    with session_scope() as session:
        user = create_user(session, email=email, full_name=name, role=role, password="mot-de-passe-sûr", **kw)
        return {"id": user.id, "email": email, "actor": Actor(user.id, role, name),
                "token": issue_token(session, user, ttl_hours=None)}


def structure_account(people: dict, structure_siret: str, key: str = "structure") -> dict:
    """A structure account for the structure of ``structure_siret`` (stored in people[key])."""
    from sqlmodel import select

    from certification.models import Structure

    with session_scope() as session:
        structure_id = session.exec(select(Structure.id).where(Structure.siret == structure_siret)).one()
    people[key] = add_user(f"{key}.{structure_siret}@aci.example.org", f"Direction {structure_siret}", Role.structure,
                           structure_id=structure_id)
    return people[key]


def ready_candidates(structure: dict, count: int, *, first: int = 1, names=None) -> list[int]:
    """Register ``count`` CQP SP candidates, evaluate every bloc « acquis » and mark them ready."""
    from datetime import date, timedelta

    from certification.services import candidates as cand

    actor, ids = structure["actor"], []
    for i in range(first, first + count):
        last, given = names[i - first] if names else (f"Martin-N'Guessan {i}", "Zoé-Hélène")
        with session_scope() as session:
            c = cand.register_candidate(
                session, actor, certification_code="CQP_SP", last_name=last, first_names=given,
                birth_date=date(1990, 1, 1) + timedelta(days=i), contract_type="CDDI",
                contract_start=date(2026, 1, 5), email=f"candidat{i}@example.org",
            )
            cand.start_training(session, actor, c.id)
            for bloc in c.blocs:
                cand.add_evaluation(session, actor, c.id, bloc_code=bloc, evaluated_on=date(2026, 6, 1),
                                    result="acquis", evaluator_name="Zoé Lefèvre")
            cand.mark_ready(session, actor, c.id)
            ids.append(c.id)
    return ids


def jury_members(people: dict) -> list[dict]:
    """A jury paritaire: president (employers), one more employer, two employees."""
    specs = [("presidente", "Anne-Sophie Président", "employeur", True),
             ("employeur2", "Marc D'Alembert", "employeur", False),
             ("salarie1", "Fatou N'Diaye", "salarie", False),
             ("salarie2", "Élodie Rémy", "salarie", False)]
    out = []
    for key, name, college, president in specs:
        people[key] = add_user(f"{key}@jury.example.org", name, Role.jury_member)
        out.append({"user": people[key], "college": college, "is_president": president})
    return out


def deliberated_session(people: dict, candidate_ids: list[int], results=None, *, sign: bool = True,
                        convene_only: bool = False) -> int:
    """Plan, compose, convene, check, record results (all validated unless ``results``) and sign."""
    from datetime import UTC, datetime, timedelta

    from certification.services import jury as jury_svc

    officer = people["officer"]["actor"]
    members = jury_members(people)
    with session_scope() as session:
        jury = jury_svc.plan_session(session, officer, certification_code="CQP_SP",
                                     scheduled_at=datetime.now(UTC) + timedelta(days=1), place="Lyon, salle Gerland")
        for m in members:
            jury_svc.add_member(session, officer, jury.id, user_id=m["user"]["id"], college=m["college"],
                                is_president=m["is_president"])
        rows = jury_svc.add_candidates(session, officer, jury.id, candidate_ids)
        jury_svc.convene(session, officer, jury.id)
        if convene_only:
            return jury.id
        jury_svc.check_composition(session, officer, jury.id)
        for row in rows:
            chosen = (results or {}).get(row.candidate_id) or {b: "validated" for b in row.blocs}
            jury_svc.record_results(session, officer, jury.id, row.candidate_id, chosen)
        jury_svc.close_deliberation(session, officer, jury.id)
        if sign:
            jury_svc.sign_pv(session, people["presidente"]["actor"], jury.id)
        return jury.id


# --- API tests of candidates, juries, certificates -----------------------------------------------


def structure_id_of(n: int) -> int:
    """Id of the structure created by ``submit_request(..., n)`` (SIRET ``siret(n)``)."""
    from sqlmodel import select

    from certification.models import Structure

    with session_scope() as session:
        return session.exec(select(Structure.id).where(Structure.siret == siret(n))).one()


def issue_results(session_id: int, *, notify: bool = True) -> None:
    """The system's part after a signed PV (what the jury flow does): blocs acquired, certificates
    and attestations issued, results notified (which opens the appeal period)."""
    from certification.services import issuance
    from certification.services import jury as jury_svc

    with session_scope() as session:
        for row in jury_svc.candidates_of(session, session_id):
            jury_svc.apply_results(session, session_id, row.candidate_id)
            issuance.issue_for(session, session_id, row.candidate_id)
        if notify:
            jury_svc.notify_results(session, session_id)
