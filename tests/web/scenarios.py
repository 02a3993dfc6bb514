"""Dossiers at the step where a back-office action is due, built through the real services, and
the table of the actions tested by ``test_pages.test_action_with_confirmation``.

Each :class:`Case` names the user who acts, the form he sends, what the page must show, how to
observe the dossier, what must have changed once confirmed, the flows that must run, and a user
whose role may not take the action (403)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from sqlmodel import func, select

from certification.audit import SYSTEM, record_event
from certification.clock import now, today
from certification.controle import queries as controle_queries
from certification.controle import service as controles_svc
from certification.controle.models import Controle
from certification.db import session_scope
from certification.models import AuditEvent
from certification.jury.models import Certificate, Deliberation, JuryCandidate, JuryMember, JurySession
from certification.agrement.models import Agrement, AgrementRequest
from certification.appeals.models import Appeal
from certification.candidates.models import Candidate, Evaluation
from certification.training.models import Appui, TrainingEnrollment, TrainingSession
from certification.agrement import service as requests_svc
from certification.agrement import queries as agrement_queries
from certification.appeals import service as appeals_svc
from certification.training import appuis as appuis_svc
from certification.candidates import service as candidates_svc
from certification.jury import service as jury_svc
from certification.agrement import lifecycle
from certification.jury import queries as jury_queries
from certification.training import service as training_svc
from documents.formatting import to_local
from tests.factories import (
    add_structure,
    enroll_encadrant,
    grant_agrement,
    issue_results,
    jury_members,
    pieces,
    plan_past_session,
    plan_training,
    ready_candidates,
    siret,
    structure_account,
    structure_id_of,
    submit_request,
)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EVIL = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
PARTIAL = {"SP-B1": "validated", "SP-B2": "not_validated", "SP-B3": "validated"}


def local_input(moment: datetime) -> str:
    """A ``datetime-local`` value (French local time)."""
    return to_local(moment).strftime("%Y-%m-%dT%H:%M")


def state(model, entity_id: int) -> str:
    with session_scope() as s:
        return s.get(model, entity_id).state


def count(model, *where) -> int:
    with session_scope() as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


def events_of(model, entity_id: int) -> list[tuple[str, int | None, str]]:
    with session_scope() as s:
        rows = s.exec(select(AuditEvent).where(AuditEvent.entity_type == model.__tablename__,
                                               AuditEvent.entity_id == entity_id).order_by(AuditEvent.id))
        return [(e.action, e.actor_id, e.actor_role) for e in rows]


def touch(model, entity_id: int) -> None:
    """Someone else changes the dossier in between: an audited action (as the sweep's signalements)."""
    with session_scope() as s:
        record_event(s, entity_type=model.__tablename__, entity_id=entity_id, action="flag", actor=SYSTEM,
                     reason="Modification concurrente (test)")


def env(page: str, action: str, entity=None, *, form: str | None = None, **extra) -> dict[str, Any]:
    """What a case acts on: the page with the form, the action's URL, the dossier ``(model, id)``."""
    key = action.rstrip("/").rsplit("/", 1)[-1]
    return {"page": page, "post": action, "entity": entity, "form": form or f"form-{key}", **extra}


# --- dossiers at their step ----------------------------------------------------------------------


def agrement(people, suspended: bool = False) -> dict:
    aid = grant_agrement(people)
    if suspended:
        with session_scope() as s:
            lifecycle.suspend(s, people["officer"]["actor"], aid, "Contrôle en cours")
    return {"id": aid}


def structure_one(people) -> tuple[int, dict]:
    """Structure 1, its granted CQP SP agrément and its account (people["structure"]), made once."""
    if "structure" not in people:
        grant_agrement(people, 1)
        structure_account(people, siret(1))
    with session_scope() as s:
        aid = s.exec(select(Agrement.id).where(Agrement.structure_id == structure_id_of(1))).first()
    return aid, people["structure"]


def incomplete_request(people, n: int = 1) -> dict:
    """A request of the mandataire (for structure ``n``) whose compléments the officer asked for."""
    rid = submit_request(people["mandataire"]["actor"], n)
    with session_scope() as s:
        requests_svc.request_complements(s, people["officer"]["actor"], rid, "Statuts signés de l'association",
                                         deadline_days=15)
    return {"id": rid}


def candidate(people, stage: str) -> dict:
    """A CQP SP candidate of structure 1 (which has an account): « registered », « in_training »
    (no evaluation yet) or « postponed »."""
    _, structure = structure_one(people)
    actor = structure["actor"]
    with session_scope() as s:
        cid = candidates_svc.register_candidate(
            s, actor, certification_code="CQP_SP", last_name="Le Floc'h", first_names="Maëlys",
            birth_date=today().replace(year=today().year - 30), contract_type="CDDI", contract_start=today(),
            sex="F").id
        if stage != "registered":
            candidates_svc.start_training(s, actor, cid)
        if stage == "postponed":
            candidates_svc.postpone(s, actor, cid, "Arrêt maladie")
    return {"id": cid}


def certificate(people) -> dict:
    """The certificate of the candidate of a session whose results are notified (all blocs validated)."""
    j = jury(people, "notified")
    with session_scope() as s:
        return {"id": s.exec(select(Certificate.id).where(Certificate.candidate_id == j["candidate_id"])).one()}


STAGES = ("planned", "assigned", "visited", "reported", "action_plan", "evidence")


def controle(people, stage: str) -> dict:
    """A contrôle of the agrément of structure 1 (which has an account), up to ``stage``."""
    officer, controleur = people["officer"]["actor"], people["controleur"]["actor"]
    aid, structure = structure_one(people)
    with session_scope() as s:
        cid = controles_svc.plan_controle(s, officer, aid, reason="Signalement").id
    reached = STAGES.index(stage)
    if reached >= 1:
        with session_scope() as s:
            controles_svc.assign(s, officer, cid, people["controleur"]["id"])
    if reached >= 2:  # a visit five days ago
        with time_machine.travel(now() - timedelta(days=10)):
            with session_scope() as s:
                controles_svc.schedule_visit(s, controleur, cid, visit_at=datetime.now(UTC) + timedelta(days=5),
                                             place="Saint-Étienne")
    if reached >= 3:
        with session_scope() as s:
            controles_svc.submit_report(s, controleur, cid, summary="Écarts mineurs.", findings=[
                {"criterion": "Livret d'évaluation des blocs", "status": "non_conforme", "comment": "Absent"}])
    if reached >= 4:
        with session_scope() as s:
            controles_svc.decide(s, officer, cid, decision="action_plan", reason="Livret à mettre en place",
                                 action_plan_items="Livret pour chaque salarié",
                                 action_plan_deadline=today() + timedelta(days=30))
    if reached >= 5:
        with session_scope() as s:
            controles_svc.add_evidence(s, structure["actor"], cid, pieces()[:1], "Livrets")
    return {"id": cid, "agrement_id": aid}


JURY_STAGES = ("planned", "composed", "convened", "checked", "results", "deliberated", "notified")


def jury(people, stage: str, *, members: bool = True, candidates: bool = True, results=None) -> dict:
    """A CQP SP session with one ready candidate of structure 1 and a jury paritaire, up to ``stage``."""
    officer = people["officer"]["actor"]
    _, structure = structure_one(people)
    candidate_ids = ready_candidates(structure, 1)
    team = jury_members(people)
    reached = JURY_STAGES.index(stage)
    with session_scope() as s:
        # the session sat two hours ago: attendance, results and the PV come after its date
        sid = plan_past_session(s, officer, days_ago=1 / 12, place="Lyon, salle Gerland").id
        if reached >= 1 or members:
            for m in team:
                jury_svc.add_member(s, officer, sid, user_id=m["user"]["id"], college=m["college"],
                                    is_president=m["is_president"])
        if reached >= 1 or candidates:
            jury_svc.add_candidates(s, officer, sid, candidate_ids)
        if reached >= 2:
            jury_svc.convene(s, officer, sid)
        if reached >= 3:
            jury_svc.check_composition(s, officer, sid)
        if reached >= 4:
            for row in jury_queries.candidates_of(s, sid):
                jury_svc.record_results(s, officer, sid, row.candidate_id,
                                        results or {b: "validated" for b in row.blocs})
        if reached >= 5:
            jury_svc.close_deliberation(s, officer, sid)
        if reached >= 6:
            jury_svc.sign_pv(s, people["presidente"]["actor"], sid)
    if reached >= 6:
        issue_results(sid)
    return {"id": sid, "candidate_id": candidate_ids[0], "members": [m["user"]["id"] for m in team]}


def appeal(people, admissible: bool = False) -> dict:
    j = jury(people, "notified", results=PARTIAL)
    with session_scope() as s:
        a = appeals_svc.file_appeal(s, people["structure"]["actor"], candidate_id=j["candidate_id"],
                                    session_id=j["id"], grounds="Le bloc SP-B2 a été évalué sans le livret.")
        if admissible:
            appeals_svc.declare_admissible(s, people["officer"]["actor"], a.id)
        return {"id": a.id, "session_id": j["id"]}


def training(people, stage: str) -> dict:
    """A session of the formateur: « future » (in 10 days), « today » (one day, today), « enrolled »
    (future, one encadrant), « today_enrolled », « attended » (opened, present), « completed »."""
    structure_id = add_structure(7, name="Atelier d'insertion de Brest")
    structure_account(people, siret(7), "structure_7")
    days = [today()] if stage in ("today", "today_enrolled", "attended", "completed") else \
        [today() + timedelta(days=10), today() + timedelta(days=11)]
    sid = plan_training(people, days=days)
    out = {"id": sid, "structure_id": structure_id}
    if stage in ("enrolled", "today_enrolled", "attended", "completed"):
        out["enrollment_id"] = enroll_encadrant(people, sid, structure_id)
    formateur = people["formateur"]["actor"]
    if stage in ("attended", "completed"):
        with session_scope() as s:
            training_svc.record_attendance(s, formateur, sid, day=today(), present={out["enrollment_id"]: True})
    if stage == "completed":
        with session_scope() as s:
            training_svc.record_outcome(s, formateur, sid, out["enrollment_id"], completed=True)
    return out


def appui(people, stage: str) -> dict:
    """An appui of structure 8 (which has an account): « requested », « assigned » to the formateur,
    « visited » (a visit five days ago)."""
    structure_id = add_structure(8, name="Ressourcerie de Quimper")
    structure = structure_account(people, siret(8), "structure_8")
    with session_scope() as s:
        aid = appuis_svc.request_appui(s, structure["actor"], subject="Accueil des nouveaux salariés",
                                       need="Transmettre les gestes professionnels.").id
        if stage != "requested":
            appuis_svc.assign(s, people["officer"]["actor"], aid, people["formateur"]["id"])
    if stage == "visited":
        with time_machine.travel(now() - timedelta(days=10)):
            with session_scope() as s:
                appuis_svc.schedule_visit(s, people["formateur"]["actor"], aid,
                                          visit_at=datetime.now(UTC) + timedelta(days=5), place="Quimper")
    return {"id": aid, "structure_id": structure_id}


# --- the cases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    key: str
    setup: Callable[[dict], dict]  # people -> env (page, post, entity, form…)
    actor: str  # key of people
    fields: Callable[[dict], dict]  # env -> form fields
    observe: Callable[[dict], Any]  # env -> what the action changes
    check: Callable[[dict, Any], None]  # env, observed after -> assertions
    flows: Callable[[dict, Any], list]  # env, observed after -> [(dispatch function, id)]
    wrong: str  # key of people whose role may not take the action (403)
    files: Callable[[dict], dict] | None = None
    location: Callable[[dict, Any], str] | None = None  # default: the dossier page with ?fait=<action>
    escaped: bool = True  # whether the fields carry user text (EVIL)


def _agrement_case(key, suspended, expected):
    def setup(people):
        return dossier_env("agrements", Agrement, agrement(people, suspended), key)

    return Case(key, setup, "officer", lambda e: {"reason": f"{EVIL} décision du {today():%d/%m/%Y}"},
                lambda e: state(Agrement, e["id"]), lambda e, after: _eq(after, expected),
                lambda e, _: [("agrement_changed", e["id"])], "mandataire")


def _eq(actual, expected):
    assert actual == expected, (actual, expected)


def _open_controle(aid: int) -> int | None:
    with session_scope() as s:
        c = controle_queries.open_controle_of(s, aid)
        return c.id if c else None


def dossier_env(section: str, model, built: dict, key: str, form: str | None = None) -> dict:
    """The env of an action ``key`` on the dossier ``built`` (its ``id``) of ``/app/<section>``."""
    url = f"/app/{section}/{built['id']}"
    return env(url, f"{url}/{key}", (model, built["id"]), form=form, **built)


def _controle_env(people, stage, key):
    return dossier_env("controles", Controle, controle(people, stage), key)


def _controle_row(e):
    with session_scope() as s:
        c = s.get(Controle, e["id"])
        return (c.state, c.visit_place, len(c.findings or []), c.decision,
                len(controle_queries.files_of(s, c.id)), c.version)


def _jury_env(people, stage, key, **kw):
    return dossier_env("jurys", JurySession, jury(people, stage, **kw), key)


def _per_candidate(e: dict) -> dict:
    return {**e, "form": f"form-resultats-{e['candidate_id']}"}


def _jury_row(e):
    with session_scope() as s:
        j = s.get(JurySession, e["id"])
        members = s.exec(select(JuryMember).where(JuryMember.session_id == j.id).order_by(JuryMember.id)).all()
        return (j.state, len(members), tuple(m.present for m in members),
                count(JuryCandidate, JuryCandidate.session_id == j.id),
                count(Deliberation, Deliberation.session_id == j.id))


def _appeal_env(people, admissible, key):
    return dossier_env("recours", Appeal, appeal(people, admissible), key)


def _appeal_row(e):
    with session_scope() as s:
        return s.get(Appeal, e["id"]).state, s.get(JurySession, e["session_id"]).pv_version


def _training_env(people, stage, key, *, per: str | None = None):
    t = training(people, stage)
    return dossier_env("formations", TrainingSession, t, key, f"form-{key}-{t[per]}" if per else None)


def _training_row(e):
    with session_scope() as s:
        t = s.get(TrainingSession, e["id"])
        rows = s.exec(select(TrainingEnrollment).where(TrainingEnrollment.session_id == t.id)
                      .order_by(TrainingEnrollment.id)).all()
        return t.state, tuple((r.state, tuple(sorted(r.attendance.items()))) for r in rows)


def _appui_env(people, stage, key):
    return dossier_env("appuis", Appui, appui(people, stage), key)


def _appui_row(e):
    with session_scope() as s:
        a = s.get(Appui, e["id"])
        return a.state, a.formateur_id, a.visit_place, a.report_text, bool(a.report_file)


def _visit_fields(_e):
    return {"visit_at": local_input(now() + timedelta(days=12)), "place": f"{EVIL} salle 2",
            "duration_minutes": "120", "notes": "Prévoir les livrets."}


def _created(model):
    def observe(_e):
        with session_scope() as s:
            return s.exec(select(model.id).order_by(model.id.desc())).first()
    return observe


def _appui_request_env(people) -> dict:
    structure_id = add_structure(9, name="Jardin de Cocagne")
    structure_account(people, siret(9), "structure_9")
    return env("/app/appuis", "/app/appuis/demander", structure_id=structure_id)


def _plan_controle_env(people) -> dict:
    return dossier_env("agrements", Agrement, agrement(people), "controle")


def _request_row(e):
    with session_scope() as s:
        r = s.get(AgrementRequest, e["id"])
        return r.state, r.round, len(agrement_queries.pieces_of(s, r.id))


def _renewal_of(e):
    with session_scope() as s:
        r = agrement_queries.open_renewal_of(s, e["id"])
        return r.id if r else None


def _renewal_check(_e, after):
    with session_scope() as s:
        r = s.get(AgrementRequest, after)
        pieces_kinds = sorted(p.kind for p in agrement_queries.pieces_of(s, r.id))
    _eq((r.state, r.kind, pieces_kinds), ("submitted", "renewal", ["attestation_epsp", "dossier", "programme"]))


def _schedule_row(e):
    with session_scope() as s:
        t = s.get(TrainingSession, e["id"])
        return tuple(t.days), t.place, t.schedule_sequence


def _candidate_env(people, stage: str, key: str, form: str | None = None) -> dict:
    return dossier_env("candidats", Candidate, candidate(people, stage), key, form)


def _candidate_row(e):
    with session_scope() as s:
        rows = s.exec(select(Evaluation).where(Evaluation.candidate_id == e["id"])).all()
        return s.get(Candidate, e["id"]).state, [(r.bloc_code, r.result, len(r.files)) for r in rows]


def _certificate_env(people, key: str) -> dict:
    return dossier_env("certificats", Certificate, certificate(people), key)


def _certificate_row(e):
    with session_scope() as s:
        k = s.get(Certificate, e["id"])
        return k.state, k.version, k.holder_last_name, k.holder_sex


def _certificate_flow(e, _after):
    return [("certificate_changed", e["id"])]


def _presenter_env(people) -> dict:
    _, structure = structure_one(people)
    return dossier_env("candidats", Candidate, {"id": ready_candidates(structure, 1, mark_ready=False)[0]}, "presenter")


CASES: list[Case] = [
    # agrément requests (the mandataire's steps)
    Case("transmettre", lambda p: dossier_env("demandes", AgrementRequest, incomplete_request(p), "transmettre"),
         "mandataire", lambda e: {"comment": f"{EVIL} statuts signés joints"}, _request_row,
         lambda e, after: _eq(after, ("submitted", 2, 3)), lambda e, _: [("agrement_request_changed", e["id"])],
         "officer", files=lambda e: {"statuts": ("statuts signés.pdf", PDF, "application/pdf")}),
    Case("retirer-demande", lambda p: dossier_env("demandes", AgrementRequest, incomplete_request(p), "retirer"),
         "mandataire", lambda e: {"reason": f"{EVIL} la structure renonce"}, _request_row,
         lambda e, after: _eq(after[0], "withdrawn"), lambda e, _: [("agrement_request_changed", e["id"])],
         "officer"),
    Case("renouveler", lambda p: dossier_env("agrements", Agrement, agrement(p), "renouveler"), "mandataire",
         lambda e: {"motivation": f"{EVIL} activité poursuivie"}, _renewal_of, _renewal_check,
         lambda e, after: [("agrement_request_changed", after)], "officer",
         files=lambda e: {"programme": ("programme 2027.pdf", PDF, "application/pdf")},
         location=lambda e, after: f"/app/demandes/{after}?fait=renouvellement"),
    # agréments
    _agrement_case("suspendre", False, "suspended"),
    _agrement_case("lever", True, "active"),
    _agrement_case("retirer", False, "withdrawn"),
    Case("controle", _plan_controle_env, "officer", lambda e: {"reason": f"{EVIL} signalement d'un salarié"},
         lambda e: _open_controle(e["id"]),
         lambda e, after: _eq(state(Controle, after), "planned"), lambda e, after: [("controle_changed", after)],
         "mandataire", location=lambda e, after: f"/app/controles/{after}?fait=planifie"),
    # contrôles
    Case("visite", lambda p: _controle_env(p, "assigned", "visite"), "controleur", _visit_fields, _controle_row,
         lambda e, after: _eq(after[:2], ("visit_scheduled", f"{EVIL} salle 2")),
         lambda e, _: [("controle_changed", e["id"])], "structure"),
    Case("rapport", lambda p: _controle_env(p, "visited", "rapport"), "controleur",
         lambda e: {"constat_1_critere": "Encadrants formés à l'EPSP", "constat_1_statut": "conforme",
                    "constat_2_critere": "Livret d'évaluation des blocs", "constat_2_statut": "non_conforme",
                    "constat_2_commentaire": EVIL, "summary": "Structure bien tenue ; un écart."},
         _controle_row, lambda e, after: _eq(after[:5], ("report_submitted", "Saint-Étienne", 2, None, 1)),
         lambda e, _: [("controle_changed", e["id"])], "officer",
         files=lambda e: {"rapport": ("rapport signé.pdf", PDF, "application/pdf")}),
    Case("decision", lambda p: _controle_env(p, "reported", "decision"), "officer",
         lambda e: {"decision": "action_plan", "reason": EVIL, "action_plan_items": "Mettre en place le livret",
                    "action_plan_deadline": (today() + timedelta(days=45)).isoformat()},
         _controle_row, lambda e, after: _eq((after[0], after[3]), ("action_plan", "action_plan")),
         lambda e, _: [("controle_changed", e["id"])], "controleur"),
    Case("preuves", lambda p: _controle_env(p, "action_plan", "preuves"), "structure",
         lambda e: {"comment": f"{EVIL} livrets remis"}, _controle_row,
         lambda e, after: _eq((after[0], after[4]), ("action_plan", 1)),
         lambda e, _: [("controle_changed", e["id"])], "controleur",
         files=lambda e: {"evidence": ("livrets.pdf", PDF, "application/pdf")}),
    Case("cloturer", lambda p: _controle_env(p, "evidence", "cloturer"), "officer",
         lambda e: {"comment": f"{EVIL} preuves suffisantes"}, _controle_row,
         lambda e, after: _eq(after[0], "closed"), lambda e, _: [("controle_changed", e["id"])], "structure"),
    Case("annuler", lambda p: _controle_env(p, "planned", "annuler"), "officer",
         lambda e: {"reason": f"{EVIL} doublon"}, _controle_row, lambda e, after: _eq(after[0], "cancelled"),
         lambda e, _: [("controle_changed", e["id"])], "controleur"),
    # jury sessions
    Case("planifier", lambda p: (jury_members(p), env("/app/jurys", "/app/jurys/planifier"))[1], "officer",
         lambda e: {"certification_code": "CQP_SP", "scheduled_at": local_input(now() + timedelta(days=20)),
                    "place": f"{EVIL} Lyon", "quorum": "4", "duration_minutes": "180"},
         _created(JurySession), lambda e, after: _eq(state(JurySession, after), "planned"),
         lambda e, after: [("jury_changed", after)], "presidente",
         location=lambda e, after: f"/app/jurys/{after}?fait=planifier"),
    Case("membre", lambda p: _jury_env(p, "planned", "membre", members=False), "officer",
         lambda e: {"user_id": str(e["members"][0]), "college": "employeur", "is_president": "1"}, _jury_row,
         lambda e, after: _eq(after[1], 1), lambda e, _: [("jury_changed", e["id"])], "formateur", escaped=False),
    Case("candidats", lambda p: _jury_env(p, "planned", "candidats", candidates=False), "officer",
         lambda e: {f"candidat_{e['candidate_id']}": "1"}, _jury_row, lambda e, after: _eq(after[3], 1),
         lambda e, _: [("jury_changed", e["id"])], "structure", escaped=False),
    Case("convoquer", lambda p: _jury_env(p, "composed", "convoquer"), "officer", lambda e: {}, _jury_row,
         lambda e, after: _eq(after[0], "convened"), lambda e, _: [("jury_changed", e["id"])], "presidente",
         escaped=False),
    Case("presences", lambda p: _jury_env(p, "convened", "presences"), "officer",
         lambda e: {f"present_{uid}": "1" for uid in e["members"]}, _jury_row,
         lambda e, after: _eq(after[2], (True, True, True, True)), lambda e, _: [("jury_changed", e["id"])],
         "presidente", escaped=False),
    Case("composition", lambda p: _jury_env(p, "convened", "composition"), "officer", lambda e: {}, _jury_row,
         lambda e, after: _eq(after[0], "composition_checked"), lambda e, _: [("jury_changed", e["id"])],
         "presidente", escaped=False),
    Case("resultats", lambda p: _per_candidate(_jury_env(p, "checked", "resultats")), "presidente",
         lambda e: {"candidate_id": str(e["candidate_id"]), "bloc_SP-B1": "validated", "bloc_SP-B2": "not_validated",
                    "bloc_SP-B3": "validated", "comment": EVIL},
         _jury_row, lambda e, after: _eq((after[0], after[4]), ("composition_checked", 3)),
         lambda e, _: [("jury_changed", e["id"])], "salarie1"),
    Case("cloturer-jury", lambda p: {**_jury_env(p, "results", "cloturer"), "form": "form-cloturer"}, "presidente",
         lambda e: {}, _jury_row, lambda e, after: _eq(after[0], "deliberated"),
         lambda e, _: [("jury_changed", e["id"])], "salarie1", escaped=False),
    Case("signer", lambda p: _jury_env(p, "deliberated", "signer"), "presidente", lambda e: {}, _jury_row,
         lambda e, after: _eq(after[0], "pv_signed"), lambda e, _: [("jury_changed", e["id"])], "salarie1",
         escaped=False),
    Case("annuler-jury", lambda p: {**_jury_env(p, "planned", "annuler"), "form": "form-annuler"}, "officer",
         lambda e: {"reason": f"{EVIL} salle indisponible"}, _jury_row, lambda e, after: _eq(after[0], "cancelled"),
         lambda e, _: [("jury_changed", e["id"])], "presidente"),
    # recours
    Case("recevable", lambda p: _appeal_env(p, False, "recevable"), "officer", lambda e: {}, _appeal_row,
         lambda e, after: _eq(after, ("admissible", 1)), lambda e, _: [("jury_changed", e["session_id"])],
         "structure", escaped=False),
    Case("irrecevable", lambda p: _appeal_env(p, False, "irrecevable"), "officer",
         lambda e: {"reason": f"{EVIL} hors délai"}, _appeal_row, lambda e, after: _eq(after, ("inadmissible", 1)),
         lambda e, _: [("jury_changed", e["session_id"])], "structure"),
    Case("rejeter", lambda p: _appeal_env(p, True, "rejeter"), "officer",
         lambda e: {"reason": f"{EVIL} évaluation conforme"}, _appeal_row, lambda e, after: _eq(after, ("rejected", 1)),
         lambda e, _: [("jury_changed", e["session_id"])], "structure"),
    Case("fonde", lambda p: _appeal_env(p, True, "fonde"), "officer",
         lambda e: {"bloc_SP-B1": "validated", "bloc_SP-B2": "validated", "bloc_SP-B3": "validated",
                    "reason": f"{EVIL} livret retrouvé"},
         _appeal_row, lambda e, after: _eq(after, ("upheld", 2)), lambda e, _: [("jury_changed", e["session_id"])],
         "structure"),
    # EPSP training
    Case("programmer", lambda p: env("/app/formations", "/app/formations/programmer",
                                     formateur_id=p["formateur"]["id"]), "formateur",
         lambda e: {"formateur_id": str(e["formateur_id"]), "jour_1_date": (today() + timedelta(days=20)).isoformat(),
                    "jour_2_date": (today() + timedelta(days=21)).isoformat(), "place": f"{EVIL} Rennes",
                    "capacity": "10"},
         _created(TrainingSession), lambda e, after: _eq(state(TrainingSession, after), "planned"),
         lambda e, after: [("training_session_changed", after)], "mandataire",
         location=lambda e, after: f"/app/formations/{after}?fait=programmer"),
    Case("inscrire", lambda p: _training_env(p, "future", "inscrire"), "formateur",
         lambda e: {"structure_id": str(e["structure_id"]), "last_name": EVIL, "first_names": "Zoé",
                    "email": "zoe@aci.example.org"},
         _training_row, lambda e, after: _eq(after[1][0][0], "registered"),
         lambda e, _: [("training_session_changed", e["id"])], "structure_7"),
    Case("ouvrir", lambda p: _training_env(p, "today", "ouvrir"), "formateur", lambda e: {}, _training_row,
         lambda e, after: _eq(after[0], "in_progress"), lambda e, _: [("training_session_changed", e["id"])],
         "structure_7", escaped=False),
    Case("presences-formation", lambda p: {**_training_env(p, "today_enrolled", "presences"), "form": "form-presences"},
         "formateur", lambda e: {"day": today().isoformat(), f"present_{e['enrollment_id']}": "1"}, _training_row,
         lambda e, after: _eq(after, ("in_progress", (("registered", ((today().isoformat(), True),)),))),
         lambda e, _: [("training_session_changed", e["id"])], "structure_7", escaped=False),
    Case("resultat", lambda p: _training_env(p, "attended", "resultat", per="enrollment_id"), "formateur",
         lambda e: {"enrollment_id": str(e["enrollment_id"]), "completed": "1", "reason": EVIL}, _training_row,
         lambda e, after: _eq(after[1][0][0], "completed"), lambda e, _: [("training_session_changed", e["id"])],
         "structure_7"),
    Case("desinscrire", lambda p: _training_env(p, "enrolled", "desinscrire", per="enrollment_id"), "formateur",
         lambda e: {"enrollment_id": str(e["enrollment_id"]), "reason": f"{EVIL} arrêt maladie"}, _training_row,
         lambda e, after: _eq(after[1][0][0], "withdrawn"), lambda e, _: [("training_session_changed", e["id"])],
         "structure_7"),
    Case("cloturer-formation", lambda p: {**_training_env(p, "completed", "cloturer"), "form": "form-cloturer"},
         "formateur", lambda e: {"comment": f"{EVIL} bonne session"}, _training_row,
         lambda e, after: _eq(after[0], "closed"), lambda e, _: [("training_session_changed", e["id"])], "structure_7"),
    Case("reprogrammer", lambda p: _training_env(p, "enrolled", "reprogrammer"), "formateur",
         lambda e: {"jour_1_date": (today() + timedelta(days=12)).isoformat(),
                    "jour_2_date": (today() + timedelta(days=13)).isoformat(), "place": f"{EVIL} Brest",
                    "hours": "9 h – 17 h"},
         _schedule_row, lambda e, after: _eq(after[1:], (f"{EVIL} Brest", 1)),
         lambda e, _: [("training_session_changed", e["id"])], "structure_7"),
    Case("annuler-formation", lambda p: {**_training_env(p, "future", "annuler"), "form": "form-annuler"},
         "formateur", lambda e: {"reason": f"{EVIL} formateur indisponible"}, _training_row,
         lambda e, after: _eq(after[0], "cancelled"), lambda e, _: [("training_session_changed", e["id"])],
         "structure_7"),
    # appuis pédagogiques
    Case("demander", lambda p: _appui_request_env(p), "structure_9",
         lambda e: {"structure_id": str(e["structure_id"]), "subject": f"{EVIL} accueil",
                    "need": "Former les nouveaux encadrants."},
         _created(Appui), lambda e, after: _eq(state(Appui, after), "requested"),
         lambda e, after: [("appui_changed", after)], "formateur",
         location=lambda e, after: f"/app/appuis/{after}?fait=demander"),
    Case("confier-appui", lambda p: {**_appui_env(p, "requested", "confier"), "form": "form-confier",
                                     "formateur_id": p["formateur"]["id"]}, "officer",
         lambda e: {"formateur_id": str(e["formateur_id"])}, _appui_row, lambda e, after: _eq(after[0], "assigned"),
         lambda e, _: [("appui_changed", e["id"])], "formateur", escaped=False),
    Case("visite-appui", lambda p: {**_appui_env(p, "assigned", "visite"), "form": "form-visite"}, "formateur",
         _visit_fields, _appui_row, lambda e, after: _eq(after[:3][0::2], ("scheduled", f"{EVIL} salle 2")),
         lambda e, _: [("appui_changed", e["id"])], "structure_8"),
    Case("compte-rendu", lambda p: _appui_env(p, "visited", "compte-rendu"), "formateur",
         lambda e: {"text": f"{EVIL} gestes transmis"}, _appui_row,
         lambda e, after: _eq((after[0], after[4]), ("reported", True)), lambda e, _: [("appui_changed", e["id"])],
         "officer", files=lambda e: {"compte_rendu": ("compte rendu.pdf", PDF, "application/pdf")}),
    Case("annuler-appui", lambda p: {**_appui_env(p, "requested", "annuler"), "form": "form-annuler"}, "officer",
         lambda e: {"reason": f"{EVIL} besoin couvert"}, _appui_row, lambda e, after: _eq(after[0], "cancelled"),
         lambda e, _: [("appui_changed", e["id"])], "formateur"),
    # candidates
    Case("inscrire-candidat", lambda p: (structure_one(p), env("/app/candidats", "/app/candidats/inscrire",
                                                              structure_id=structure_id_of(1)))[1], "structure",
         lambda e: {"structure_id": str(e["structure_id"]), "certification_code": "CQP_SP", "last_name": EVIL,
                    "first_names": "Aïssatou", "birth_date": "1994-03-02", "sex": "F", "contract_type": "CDDI",
                    "contract_start": today().isoformat(), "bloc_SP-B1": "1", "bloc_SP-B2": "1"},
         _created(Candidate), lambda e, after: _eq(state(Candidate, after), "registered"), lambda e, after: [],
         "formateur", location=lambda e, after: f"/app/candidats/{after}?fait=inscrire"),
    Case("evaluer", lambda p: _candidate_env(p, "in_training", "evaluer"), "structure",
         lambda e: {"bloc_code": "SP-B2", "evaluated_on": today().isoformat(), "result": "acquis",
                    "evaluator_name": "Yann Le Gall, encadrant", "comment": f"{EVIL} tri maîtrisé"},
         _candidate_row, lambda e, after: _eq(after, ("in_training", [("SP-B2", "acquis", 1)])), lambda e, _: [],
         "formateur", files=lambda e: {"evidence": ("grille SP-B2.pdf", PDF, "application/pdf")}),
    Case("commencer", lambda p: _candidate_env(p, "registered", "commencer"), "officer", lambda e: {},
         _candidate_row, lambda e, after: _eq(after[0], "in_training"), lambda e, _: [], "formateur", escaped=False),
    Case("presenter", _presenter_env, "structure", lambda e: {},
         lambda e: state(Candidate, e["id"]), lambda e, after: _eq(after, "ready_for_jury"), lambda e, _: [],
         "formateur", escaped=False),
    Case("ajourner", lambda p: _candidate_env(p, "in_training", "ajourner"), "structure",
         lambda e: {"reason": f"{EVIL} contrat suspendu"}, _candidate_row, lambda e, after: _eq(after[0], "postponed"),
         lambda e, _: [], "formateur"),
    Case("reprendre", lambda p: _candidate_env(p, "postponed", "reprendre"), "structure", lambda e: {},
         _candidate_row, lambda e, after: _eq(after[0], "in_training"), lambda e, _: [], "formateur", escaped=False),
    Case("retirer-candidat", lambda p: _candidate_env(p, "in_training", "retirer", "form-retirer"), "structure",
         lambda e: {"reason": f"{EVIL} fin de contrat"}, _candidate_row, lambda e, after: _eq(after[0], "withdrawn"),
         lambda e, _: [], "formateur"),
    # certificates
    Case("duplicata", lambda p: _certificate_env(p, "duplicata"), "officer",
         lambda e: {"reason": f"{EVIL} original perdu"}, _certificate_row, lambda e, after: _eq(after[:2], ("valid", 2)),
         _certificate_flow, "structure"),
    Case("corriger", lambda p: _certificate_env(p, "corriger"), "officer",
         lambda e: {"last_name": "Martin N'Guessan", "first_names": "Zoé-Hélène", "birth_date": "1990-01-02",
                    "sex": "F", "reason": f"{EVIL} erreur de saisie"},
         _certificate_row, lambda e, after: _eq(after, ("valid", 2, "Martin N'Guessan", "F")), _certificate_flow,
         "structure"),
    Case("revoquer", lambda p: _certificate_env(p, "revoquer"), "officer",
         lambda e: {"reason": f"{EVIL} fraude établie"}, _certificate_row, lambda e, after: _eq(after[0], "revoked"),
         _certificate_flow, "structure"),
]

