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
    with session_scope() as db:
        ensure_referential(db)
        for key, (email, name, role) in people.items():
            user = create_user(db, email=email, full_name=name, role=role, password="mot-de-passe-sûr")
            out[key] = {
                "id": user.id,
                "email": email,
                "actor": Actor(user.id, role, name),
                "token": issue_token(db, user, ttl_hours=None),
            }
    return out


def auth(user: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {user['token']}"}


def assign_by_the_officer_only(client, people: dict, url: str, refused_to: str, **agent) -> dict:
    """POST ``{url}/assign`` with ``agent`` (a contrôleur, a formateur): refused (403) to the user
    ``refused_to``, done (200) by the officer; the dossier as the API returns it."""
    r = client.post(f"{url}/assign", headers=auth(people[refused_to]), json=agent)
    assert r.status_code == 403
    r = client.post(f"{url}/assign", headers=auth(people["officer"]), json=agent)
    assert r.status_code == 200, r.text
    return r.json()


def pieces():
    from certification.services.files import PieceIn

    return [
        PieceIn("dossier", "dossier d'agrément.pdf", "application/pdf", 1200, "a" * 64, "uploads/aa/aa/a.pdf"),
        PieceIn("attestation_epsp", "attestation EPSP.pdf", "application/pdf", 900, "b" * 64, "uploads/bb/bb/b.pdf"),
    ]


def submit_request(actor: Actor, n: int = 1, *, name: str | None = None, pieces_in=None, **kw) -> int:
    """File a request through the service; returns its id."""
    from certification.agrement.service import StructureIn
    from certification.agrement.service import submit_request as submit

    with session_scope() as db:
        request = submit(
            db, actor,
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
    from certification.agrement import service as svc
    from certification.agrement import queries as agrement_queries

    with session_scope() as db:
        mandataire_id = agrement_queries.get_request(db, SYSTEM, request_id).mandataire_id
        svc.declare_admissible(db, people["officer"]["actor"], request_id)
        mandataire = next(p["actor"] for p in people.values() if p["id"] == mandataire_id)
        svc.give_avis(db, mandataire, request_id, "favorable")


def grant_request(request_id: int, people: dict, *, start=None, end=None) -> int:
    """Instruct and grant ``request_id``; returns the agrément id."""
    from certification.agrement import service as svc

    instruct(request_id, people)
    with session_scope() as db:
        _, agrement = svc.grant(db, people["officer"]["actor"], request_id, start_date=start, end_date=end)
        return agrement.id


def grant_agrement(people: dict, n: int = 1, *, start=None, end=None, mandataire: Actor | None = None, **kw) -> int:
    """A structure (n) with a granted CQP SP agrément, through the real services; returns its id."""
    rid = submit_request(mandataire or people["mandataire"]["actor"], n, **kw)
    return grant_request(rid, people, start=start, end=end)


def transitions(db, entity_type: str, entity_id: int) -> list[tuple]:
    """The audited steps of a dossier, in order: (action, from state, to state, role of the actor)."""
    from certification.audit import timeline

    return [(e.action, e.from_state, e.to_state, e.actor_role) for e in timeline(db, entity_type, entity_id)]


def add_user(email: str, name: str, role: Role, **kw) -> dict:
    with session_scope() as db:
        user = create_user(db, email=email, full_name=name, role=role, password="mot-de-passe-sûr", **kw)
        return {"id": user.id, "email": email, "actor": Actor(user.id, role, name),
                "token": issue_token(db, user, ttl_hours=None)}


def structure_account(people: dict, structure_siret: str, key: str = "structure") -> dict:
    """A structure account for the structure of ``structure_siret`` (stored in people[key])."""
    from sqlmodel import select

    from certification.models import Structure

    with session_scope() as db:
        structure_id = db.exec(select(Structure.id).where(Structure.siret == structure_siret)).one()
    people[key] = add_user(f"{key}.{structure_siret}@aci.example.org", f"Direction {structure_siret}", Role.structure,
                           structure_id=structure_id)
    return people[key]


def users_and_agreed_structure() -> dict[str, dict]:
    """The users of ``make_users``, one structure agréée (``siret(1)``) and its account
    (``people["structure"]``): where the flow and reliability tests start."""
    people = make_users()
    grant_agrement(people, 1)
    structure_account(people, siret(1))
    return people


def register_sp(db, actor: Actor, last_name: str, first_names: str, birth_date, **fields):
    """``candidates.service.register_candidate`` of a CQP SP candidate in CDDI since 2026-01-05,
    unless ``fields`` say otherwise."""
    from datetime import date

    from certification.candidates import service as cand

    fields = {"certification_code": "CQP_SP", "contract_type": "CDDI", "contract_start": date(2026, 1, 5), **fields}
    return cand.register_candidate(db, actor, last_name=last_name, first_names=first_names, birth_date=birth_date,
                                   **fields)


def create_account(client, officer: dict, email: str, full_name: str, password: str, role: str = "mandataire"):
    """``POST /users`` by ``officer``: the API's answer."""
    account = {"email": email, "full_name": full_name, "role": role, "password": password}
    return client.post("/users", headers=auth(officer), json=account)


def closed_jury(size: int, *, partial_every: int = 0) -> tuple[dict, int]:
    """``users_and_agreed_structure`` and a jury session of ``size`` of its candidates, deliberated
    and not yet signed (every bloc validated, but for one candidate in ``partial_every``, who
    validates two blocs of three): (people, session id). Where the benchmarks start."""
    people = users_and_agreed_structure()
    ids = ready_candidates(people["structure"], size)
    partial = {"SP-B1": "validated", "SP-B2": "not_validated", "SP-B3": "validated"}
    results = {cid: partial for cid in ids[::partial_every]} if partial_every else None
    return people, deliberated_session(people, ids, results, sign=False)


def ready_candidates(structure: dict, count: int, *, first: int = 1, names=None, sexes=None,
                     mark_ready: bool = True) -> list[int]:
    """Register ``count`` CQP SP candidates, evaluate every bloc « acquis » and mark them ready
    (unless ``mark_ready`` is false: they stay in training, ready to be presented). ``sexes``: the
    sex of each, M or F alternately by default; None: not collected."""
    from datetime import date, timedelta

    from certification.clock import today
    from certification.candidates import service as cand

    actor, ids = structure["actor"], []
    for i in range(first, first + count):
        last, given = names[i - first] if names else (f"Martin-N'Guessan {i}", "Zoé-Hélène")
        with session_scope() as db:
            c = cand.register_candidate(
                db, actor, certification_code="CQP_SP", last_name=last, first_names=given,
                birth_date=date(1990, 1, 1) + timedelta(days=i), contract_type="CDDI",
                contract_start=date(2026, 1, 5), email=f"candidat{i}@example.org",
                sex=sexes[i - first] if sexes is not None else "FM"[i % 2],
            )
            cand.start_training(db, actor, c.id)
            for bloc in c.blocs:
                cand.add_evaluation(db, actor, c.id, bloc_code=bloc, evaluated_on=today(),
                                    result="acquis", evaluator_name="Zoé Lefèvre")
            if mark_ready:
                cand.mark_ready(db, actor, c.id)
            ids.append(c.id)
    return ids


# A CQP SP candidate's results per bloc: all validated (certificate), or SP-B2 not (attestation).
ALL_VALIDATED = {"SP-B1": "validated", "SP-B2": "validated", "SP-B3": "validated"}
PARTIAL = {"SP-B1": "validated", "SP-B2": "not_validated", "SP-B3": "validated"}


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


def plan_past_session(db, officer, *, days_ago: float = 1, **kw):
    """A jury session planned the day before for ``days_ago`` days ago: its results may be recorded now."""
    from datetime import UTC, datetime, timedelta

    import time_machine

    from certification.jury import service as jury_svc

    at = datetime.now(UTC) - timedelta(days=days_ago)
    with time_machine.travel(at - timedelta(days=1), tick=True):
        return jury_svc.plan_session(db, officer, certification_code=kw.pop("certification_code", "CQP_SP"),
                                     scheduled_at=at, **kw)


def deliberated_session(people: dict, candidate_ids: list[int], results=None, *, sign: bool = True,
                        convene_only: bool = False, checked_only: bool = False) -> int:
    """Plan, compose, convene, check, record results (all validated unless ``results``) and sign.

    The session is planned two days ago for yesterday (results and the PV come after the jury's date),
    unless ``convene_only``: then it is planned for tomorrow. ``checked_only``: it stops once its
    composition is checked (its results to come)."""
    from datetime import UTC, datetime, timedelta

    import time_machine

    from certification.jury import service as jury_svc

    officer = people["officer"]["actor"]
    members = jury_members(people)
    planned_on = datetime.now(UTC) - (timedelta(0) if convene_only else timedelta(days=2))
    with session_scope() as db:
        with time_machine.travel(planned_on, tick=True):
            jury = jury_svc.plan_session(db, officer, certification_code="CQP_SP",
                                         scheduled_at=planned_on + timedelta(days=1), place="Lyon, salle Gerland")
        for m in members:
            jury_svc.add_member(db, officer, jury.id, user_id=m["user"]["id"], college=m["college"],
                                is_president=m["is_president"])
        rows = jury_svc.add_candidates(db, officer, jury.id, candidate_ids)
        jury_svc.convene(db, officer, jury.id)
        if convene_only:
            return jury.id
        jury_svc.check_composition(db, officer, jury.id)
        if checked_only:
            return jury.id
        for row in rows:
            chosen = (results or {}).get(row.candidate_id) or {b: "validated" for b in row.blocs}
            jury_svc.record_results(db, officer, jury.id, row.candidate_id, chosen)
        jury_svc.close_deliberation(db, officer, jury.id)
        if sign:
            jury_svc.sign_pv(db, people["presidente"]["actor"], jury.id)
        return jury.id


# --- API tests of candidates, juries, certificates -----------------------------------------------


def structure_id_of(n: int) -> int:
    """Id of the structure created by ``submit_request(..., n)`` (SIRET ``siret(n)``)."""
    from sqlmodel import select

    from certification.models import Structure

    with session_scope() as db:
        return db.exec(select(Structure.id).where(Structure.siret == siret(n))).one()


def issue_results(session_id: int, *, notify: bool = True) -> None:
    """The system's part after a signed PV (what the jury flow does): blocs acquired, certificates
    and attestations issued, results notified (which opens the appeal period)."""
    from certification.jury import issuance
    from certification.jury import queries as jury_queries
    from certification.jury import service as jury_svc

    with session_scope() as db:
        for row in jury_queries.candidates_of(db, session_id):
            jury_svc.apply_results(db, session_id, row.candidate_id)
            issuance.issue_for(db, session_id, row.candidate_id)
        if notify:
            jury_svc.notify_results(db, session_id)


def two_structures_with_a_candidate(people: dict) -> dict:
    """Two agréées structures (accounts ``structure`` and ``other_structure``) with a ready candidate
    each (``cand_a``, ``cand_b``), and a jury member of no session (``outsider``): the API tests' world."""
    grant_agrement(people, 1)
    grant_agrement(people, 2)
    for key, n in (("structure", 1), ("other_structure", 2)):
        structure_account(people, siret(n), key)["structure_id"] = structure_id_of(n)
    (people["cand_a"],) = ready_candidates(people["structure"], 1, names=[("Lefèvre", "Zoé")])
    (people["cand_b"],) = ready_candidates(people["other_structure"], 1, first=2, names=[("Da Silva", "João")])
    people["outsider"] = add_user("jury.autre@cqp.test", "Juré d'une autre session", Role.jury_member)
    return people


def issue_each(session_id: int) -> list:
    """What the jury flow does after a signed PV, one candidate per transaction: his results applied,
    his certificate or attestation issued; returns those issued by this call (none when run again)."""
    from certification.jury import issuance
    from certification.jury import queries as jury_queries
    from certification.jury import service as jury_svc

    with session_scope() as db:
        ids = [row.candidate_id for row in jury_queries.candidates_of(db, session_id)]
    issued = []
    for candidate_id in ids:
        with session_scope() as db:
            jury_svc.apply_results(db, session_id, candidate_id)
            certificate = issuance.issue_for(db, session_id, candidate_id)
            if certificate:
                issued.append(certificate)
    return issued


def certified_holders(people: dict, count: int, *, names=None, sexes=None, results=None) -> tuple[int, list[int]]:
    """``count`` CQP SP candidates of structure 1 (its agrément granted, its account in
    people["structure"]) presented to a jury whose PV is signed, their results issued: all blocs
    validated unless ``results``, one dict of bloc results per candidate (None: all validated).
    ``names`` and ``sexes`` as for ``ready_candidates``. Returns the jury's id and the candidates' ids."""
    grant_agrement(people, 1)
    structure = structure_account(people, siret(1))
    ids = ready_candidates(structure, count, names=names, sexes=sexes)
    chosen = {cid: r for cid, r in zip(ids, results or []) if r is not None}
    session_id = deliberated_session(people, ids, chosen)
    issue_results(session_id)
    return session_id, ids


# --- EPSP training and appuis pédagogiques -------------------------------------------------------


def add_structure(n: int, *, name: str | None = None, region: str = "Bretagne") -> int:
    """A structure (SIRET ``siret(n)``) without any agrément; returns its id."""
    from certification.models import Structure

    with session_scope() as db:
        structure = Structure(siret=siret(n), name=name or f"Atelier d'insertion n°{n}", region=region,
                              address=f"{n} rue de l'Église\n35000 Rennes", email=f"aci{n}@example.org")
        db.add(structure)
        db.flush()
        return structure.id


def plan_training(people: dict, *, days, formateur: str = "formateur", place: str = "Rennes, salle Bréhat",
                  **kw) -> int:
    """A training session of ``people[formateur]`` on ``days`` (planned by himself); returns its id."""
    from certification.training import service as tr

    with session_scope() as db:
        return tr.plan_session(db, people[formateur]["actor"], days=days, place=place, **kw).id


def enroll_encadrant(people: dict, session_id: int, structure_id: int, *, first_names: str = "Zoé",
                     last_name: str = "L'Hôpital-N'Diaye", email: str = "zoe.lhopital@aci.example.org",
                     formateur: str = "formateur") -> int:
    from certification.training import service as tr

    with session_scope() as db:
        return tr.enroll(db, people[formateur]["actor"], session_id, structure_id=structure_id,
                         last_name=last_name, first_names=first_names, email=email).id


def completed_training(people: dict, structure_id: int, *, formateur: str = "formateur", **encadrant) -> tuple[int, int]:
    """A two-day session planned a week ago for yesterday and today, one encadrant of ``structure_id``
    present both days and his training completed; returns (session_id, enrollment_id)."""
    from datetime import UTC, datetime, time, timedelta

    import time_machine

    from certification.clock import today as utc_today
    from certification.training import service as tr

    today = utc_today()
    days = [today - timedelta(days=1), today]
    with time_machine.travel(datetime.combine(today - timedelta(days=7), time(12), tzinfo=UTC)):
        session_id = plan_training(people, days=days, formateur=formateur)
        enrollment_id = enroll_encadrant(people, session_id, structure_id, formateur=formateur, **encadrant)
    actor = people[formateur]["actor"]
    with session_scope() as db:
        for day in days:
            tr.record_attendance(db, actor, session_id, day=day, present={enrollment_id: True})
        tr.record_outcome(db, actor, session_id, enrollment_id, completed=True)
    return session_id, enrollment_id


# --- reporting and CPF export: rows built directly (hundreds of them, as the published tables) ---


class ReportRows:
    """Builds rows of the activity report straight with the models (fast: no service, no audit),
    with unique references. ``structure(region)`` gives a structure with its agrément and one
    candidate, to which juries, contrôles, requests, appuis and certificates are attached."""

    def __init__(self, people: dict, certification_code: str = "CQP_SP"):
        from sqlmodel import select

        from certification.models import Certification

        self.people = people
        self.officer_id = people["officer"]["id"]
        self.mandataire_id = people["mandataire"]["id"]
        self.n = 0
        with session_scope() as db:
            self.certification_id = db.exec(
                select(Certification.id).where(Certification.code == certification_code)).one()
        self.structures: dict[str, dict] = {}

    def _next(self) -> int:
        self.n += 1
        return self.n

    def structure(self, region: str) -> dict:
        """A structure of ``region`` (one per region), its agrément and one candidate."""
        from datetime import date

        from certification.models import Structure
        from certification.agrement.models import Agrement
        from certification.candidates.models import Candidate

        if region in self.structures:
            return self.structures[region]
        n = 900 + len(self.structures)
        with session_scope() as db:
            st = Structure(siret=siret(n), name=f"ACI {region or 'sans région'}", region=region)
            db.add(st)
            db.flush()
            ag = Agrement(number=f"AGR-TEST-{n}", structure_id=st.id, certification_id=self.certification_id,
                          state="active", start_date=date(2020, 1, 1), end_date=date(2030, 1, 1), scope=[])
            db.add(ag)
            db.flush()
            cand = Candidate(reference=f"CAND-TEST-{n}", structure_id=st.id, certification_id=self.certification_id,
                             agrement_id=ag.id, last_name="Le Bihan", first_names="Maël", birth_date=date(1990, 5, 4),
                             contract_type="CDDI", contract_start=date(2020, 1, 6), blocs=["SP-B1", "SP-B2", "SP-B3"],
                             state="certified", registered_by_id=self.officer_id)
            db.add(cand)
            db.flush()
            self.structures[region] = {"structure_id": st.id, "agrement_id": ag.id, "candidate_id": cand.id}
        return self.structures[region]

    def candidate(self, region: str, k: int = 0) -> int:
        """The k-th candidate of the structure of ``region`` (created on demand)."""
        from datetime import date

        from certification.candidates.models import Candidate

        target = self.structure(region)
        extra = target.setdefault("more", [target["candidate_id"]])
        while len(extra) <= k:
            with session_scope() as db:
                cand = Candidate(reference=f"CAND-TEST-{self._next():05d}", structure_id=target["structure_id"],
                                 certification_id=self.certification_id, agrement_id=target["agrement_id"],
                                 last_name="Le Bihan", first_names="Nolwenn", birth_date=date(1992, 3, 8),
                                 contract_type="CDDI", contract_start=date(2020, 1, 6), blocs=["SP-B1"],
                                 state="certified", registered_by_id=self.officer_id)
                db.add(cand)
                db.flush()
                extra.append(cand.id)
        return extra[k]

    def juries(self, count: int, at, *, region: str = "Bretagne", state: str = "results_notified",
               candidate_regions: list[str] | None = None, signed_event_at=None) -> list[int]:
        """``count`` jury sessions signed (and notified) at ``at``; their candidates come from
        ``candidate_regions`` (default: one candidate of ``region``)."""
        from certification.audit import SYSTEM, record_event
        from certification.jury.models import JuryCandidate, JurySession

        regions = candidate_regions if candidate_regions is not None else [region]
        seen: dict[str, int] = {}
        candidate_ids = []
        for r in regions:  # the k-th mention of a region is its k-th candidate
            candidate_ids.append(self.candidate(r, seen.get(r, 0)))
            seen[r] = seen.get(r, 0) + 1
        signed = at if state in ("pv_signed", "results_notified") else None
        ids = []
        with session_scope() as db:
            for _ in range(count):
                jury = JurySession(reference=f"JURY-TEST-{self._next():05d}", certification_id=self.certification_id,
                                   scheduled_at=at, place="Rennes", state=state, pv_signed_at=signed,
                                   results_notified_at=at if state == "results_notified" else None,
                                   created_by_id=self.officer_id)
                db.add(jury)
                db.flush()
                for cid in dict.fromkeys(candidate_ids):
                    db.add(JuryCandidate(session_id=jury.id, candidate_id=cid, blocs=["SP-B1"], outcome="certified"))
                if signed_event_at is not None:
                    event = record_event(db, entity_type="jury_sessions", entity_id=jury.id, action="sign_pv",
                                         actor=SYSTEM, from_state="deliberated", to_state="pv_signed")
                    event.at = signed_event_at
                ids.append(jury.id)
        return ids

    def controles(self, count: int, at, *, region: str = "Bretagne", state: str = "compliant") -> None:
        from certification.controle.models import Controle

        target = self.structure(region)
        decision = {"compliant": "compliant", "action_plan": "action_plan", "closed": "action_plan",
                    "escalated": "action_plan", "suspended": "suspension", "withdrawn": "withdrawal"}.get(state)
        with session_scope() as db:
            for _ in range(count):
                db.add(Controle(reference=f"CTRL-TEST-{self._next():05d}", agrement_id=target["agrement_id"],
                               structure_id=target["structure_id"], kind="periodic", state=state,
                               decision=decision, decided_at=at if decision else None, created_at=at, updated_at=at))

    def agrement_requests(self, count: int, at, *, region: str = "Bretagne", state: str = "submitted") -> None:
        from certification.agrement.models import AgrementRequest

        target = self.structure(region)
        with session_scope() as db:
            for _ in range(count):
                db.add(AgrementRequest(reference=f"DA-TEST-{self._next():05d}", structure_id=target["structure_id"],
                                      certification_id=self.certification_id, mandataire_id=self.mandataire_id,
                                      state=state, submitted_at=at, last_submitted_at=at, created_at=at,
                                      updated_at=at))

    def appuis(self, count: int, at, *, region: str = "Bretagne", reported: bool = True) -> bool:
        """``count`` appuis pédagogiques reported at ``at``; False when the training module is absent."""
        from certification.reporting.queries import appui_model

        appui = appui_model()
        if appui is None:
            return False
        target = self.structure(region)
        with session_scope() as db:
            for _ in range(count):
                db.add(appui(reference=f"APP-TEST-{self._next():05d}", structure_id=target["structure_id"],
                            subject="Transmettre les gestes professionnels", need="Accueil de nouveaux salariés",
                            requested_by_id=self.officer_id, state="reported" if reported else "scheduled",
                            reported_at=at if reported else None, report_text="Compte rendu" if reported else None,
                            created_at=at, updated_at=at))
        return True

    def certificates(self, count: int, issued_on, *, region: str = "Bretagne", kind: str = "certificate") -> None:
        from datetime import date

        from certification.jury.models import Certificate

        target = self.structure(region)
        # one (planned, so uncounted) session per document: a candidate has one document per session
        jury_ids = self.juries(count, issued_on_dt(issued_on), region=region, state="planned")
        with session_scope() as db:
            for jury_id in jury_ids:
                db.add(Certificate(number=f"SP-TEST-{self._next():06d}", kind=kind, certification_id=self.certification_id,
                                  candidate_id=target["candidate_id"], session_id=jury_id, blocs=["SP-B1"],
                                  holder_last_name="Le Bihan", holder_first_names="Maël",
                                  holder_birth_date=date(1990, 5, 4), issued_on=issued_on, state="valid"))


def issued_on_dt(day):
    from datetime import UTC, datetime

    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)
