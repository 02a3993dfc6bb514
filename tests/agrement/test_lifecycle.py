"""Services of the agrément lifecycle: decisions, system transitions, registration, renewal."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlmodel import select

from certification.audit import SYSTEM, timeline
from certification.db import new_session, session_scope
from certification.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from certification.models import Certification
from certification.agrement.models import Agrement, AgrementRequest
from certification.services.files import PieceIn
from certification.agrement import queries as agrement_queries
from certification.agrement import service as svc
from certification.agrement import lifecycle
from tests.factories import grant_request, grant_agrement, instruct
from tests.factories import submit_request

TODAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
START, END = date(2026, 1, 1), date(2028, 12, 31)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(TODAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def agrement_id(people):
    return grant_agrement(people, start=START, end=END)


def state_of(agrement_id: int) -> str:
    with session_scope() as db:
        return db.get(Agrement, agrement_id).state


def events(agrement_id: int) -> list:
    with session_scope() as db:
        return timeline(db, "agrements", agrement_id)


def allowed(agrement_id: int, on: date) -> bool:
    with session_scope() as db:
        a = db.get(Agrement, agrement_id)
        return agrement_queries.registration_allowed(db, a.structure_id, a.certification_id, on)


# --- decisions of the officer ----------------------------------------------------------------


def test_suspend_reinstate_withdraw_are_audited_with_their_reason(people, agrement_id):
    officer = people["officer"]["actor"]
    with session_scope() as db:
        lifecycle.suspend(db, officer, agrement_id, "  Grilles d'évaluation absentes.  ", controle_id=7)
    assert state_of(agrement_id) == "suspended"
    with session_scope() as db:
        lifecycle.reinstate(db, officer, agrement_id, "Plan d'actions réalisé.")
    assert state_of(agrement_id) == "active"
    with session_scope() as db:
        lifecycle.withdraw(db, officer, agrement_id, "Manquements répétés.")
    assert state_of(agrement_id) == "withdrawn"

    decisions = [e for e in events(agrement_id) if e.action != "create"]
    assert [(e.action, e.from_state, e.to_state, e.reason) for e in decisions] == [
        ("suspend", "active", "suspended", "Grilles d'évaluation absentes."),
        ("reinstate", "suspended", "active", "Plan d'actions réalisé."),
        ("withdraw", "active", "withdrawn", "Manquements répétés."),
    ]
    assert all((e.actor_id, e.actor_role) == (officer.user_id, "officer") for e in decisions)
    assert decisions[0].data == {"controle_id": 7} and decisions[1].data == {}
    with pytest.raises(InvalidTransition), session_scope() as db:  # withdrawn is final
        lifecycle.reinstate(db, officer, agrement_id, "Erreur")


def test_a_suspended_agrement_can_be_withdrawn(people, agrement_id):
    officer = people["officer"]["actor"]
    with session_scope() as db:
        lifecycle.suspend(db, officer, agrement_id, "Contrôle défavorable.")
        lifecycle.withdraw(db, officer, agrement_id, "Aucune mise en conformité.")
    assert state_of(agrement_id) == "withdrawn"


@pytest.mark.parametrize("who", ["mandataire", "controleur", "formateur", "system"])
def test_only_the_officer_decides(people, agrement_id, who):
    actor = SYSTEM if who == "system" else people[who]["actor"]
    for service in (lifecycle.suspend, lifecycle.withdraw):
        with pytest.raises(Forbidden), session_scope() as db:
            service(db, actor, agrement_id, "Motif")
    with session_scope() as db:
        lifecycle.suspend(db, people["officer"]["actor"], agrement_id, "Motif")
    with pytest.raises(Forbidden), session_scope() as db:
        lifecycle.reinstate(db, actor, agrement_id, "Motif")
    assert state_of(agrement_id) == "suspended"
    assert [e.action for e in events(agrement_id)] == ["create", "suspend"]


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_reason_is_required(people, agrement_id, reason):
    officer = people["officer"]["actor"]
    for service in (lifecycle.suspend, lifecycle.withdraw):
        with pytest.raises(ValidationFailed) as exc, session_scope() as db:
            service(db, officer, agrement_id, reason)
        assert exc.value.code == "reason_required"
    assert state_of(agrement_id) == "active" and len(events(agrement_id)) == 1


def test_unknown_agrement(people):
    with pytest.raises(NotFound), session_scope() as db:
        lifecycle.suspend(db, people["officer"]["actor"], 999, "Motif")


# --- system transitions ----------------------------------------------------------------------


def test_expiring_then_expired_are_fired_by_the_system_only(people, agrement_id, frozen_clock):
    with pytest.raises(Forbidden), session_scope() as db:
        lifecycle.mark_expiring(db, people["officer"]["actor"], agrement_id)
    with session_scope() as db:
        lifecycle.mark_expiring(db, SYSTEM, agrement_id)
    assert state_of(agrement_id) == "expiring"
    with pytest.raises(Conflict) as exc, session_scope() as db:
        lifecycle.expire(db, SYSTEM, agrement_id)
    assert exc.value.code == "not_yet_expired"
    frozen_clock.move_to(datetime(2029, 1, 1, 6, 0, tzinfo=UTC))
    with pytest.raises(Forbidden), session_scope() as db:
        lifecycle.expire(db, people["officer"]["actor"], agrement_id)
    with session_scope() as db:
        lifecycle.expire(db, SYSTEM, agrement_id)
    assert state_of(agrement_id) == "expired"
    *_, expiring, expired = events(agrement_id)
    assert (expiring.action, expiring.actor_role, expiring.reason) == (
        "mark_expiring",
        "system",
        "Échéance le 31/12/2028.",
    )
    assert (expired.action, expired.from_state, expired.to_state) == ("expire", "expiring", "expired")
    with pytest.raises(InvalidTransition), session_scope() as db:
        lifecycle.suspend(db, people["officer"]["actor"], agrement_id, "Trop tard")


# --- registration of candidates --------------------------------------------------------------


def test_registration_follows_the_dates(agrement_id):
    assert not allowed(agrement_id, START - timedelta(days=1))
    assert allowed(agrement_id, START) and allowed(agrement_id, date(2027, 6, 1)) and allowed(agrement_id, END)
    assert not allowed(agrement_id, END + timedelta(days=1))
    with session_scope() as db:
        a = db.get(Agrement, agrement_id)
        assert agrement_queries.valid_agrement_for(db, a.structure_id, a.certification_id, START).id == agrement_id
        epsp = db.exec(select(Certification).where(Certification.code == "CQP_EPSP")).one()
        assert not agrement_queries.registration_allowed(db, a.structure_id, epsp.id, START)
        assert not agrement_queries.registration_allowed(db, a.structure_id + 100, a.certification_id, START)


def test_registration_across_suspension_reinstatement_and_withdrawal(people, agrement_id):
    officer = people["officer"]["actor"]
    on = TODAY.date()
    assert allowed(agrement_id, on)
    with session_scope() as db:
        lifecycle.suspend(db, officer, agrement_id, "Contrôle")
    assert not allowed(agrement_id, on)
    with session_scope() as db:
        lifecycle.reinstate(db, officer, agrement_id, "Conforme")
        lifecycle.mark_expiring(db, SYSTEM, agrement_id)
    assert allowed(agrement_id, on)  # arriving at échéance is still valid
    with session_scope() as db:
        lifecycle.withdraw(db, officer, agrement_id, "Retrait")
    assert not allowed(agrement_id, on)
    with session_scope() as db:
        a = db.get(Agrement, agrement_id)
        assert agrement_queries.valid_agrement_for(db, a.structure_id, a.certification_id, on) is None


def test_registration_ends_with_expiry(agrement_id, frozen_clock):
    frozen_clock.move_to(datetime(2029, 1, 2, tzinfo=UTC))
    with session_scope() as db:
        lifecycle.expire(db, SYSTEM, agrement_id)
    assert not allowed(agrement_id, END) and not allowed(agrement_id, END + timedelta(days=1))


# --- renewal ---------------------------------------------------------------------------------


NEW_PIECE = PieceIn("programme", "programme 2029.pdf", "application/pdf", 700, "c" * 64, "uploads/cc/cc/c.pdf")


def renew(people, agrement_id, who="mandataire", **kw) -> AgrementRequest:
    with session_scope() as db:
        return svc.request_renewal(db, people[who]["actor"], agrement_id, **kw)


def test_renewal_reuses_the_previous_file(people):
    rid = submit_request(people["mandataire"]["actor"], 1)
    agrement_id = grant_request(rid, people, start=START, end=END)
    with session_scope() as db:  # the agrément covers part of the requested scope
        db.get(Agrement, agrement_id).scope = ["SP-B1", "SP-B2"]
    request = renew(people, agrement_id, pieces=[NEW_PIECE], motivation="  Poursuite de l'activité.  ")
    with session_scope() as db:
        renewal = db.get(AgrementRequest, request.id)
        previous = db.get(AgrementRequest, rid)
        assert (renewal.kind, renewal.previous_agrement_id, renewal.state) == ("renewal", agrement_id, "submitted")
        assert (renewal.structure_id, renewal.certification_id) == (previous.structure_id, previous.certification_id)
        assert renewal.scope == ["SP-B1", "SP-B2"] and renewal.motivation == "Poursuite de l'activité."
        assert renewal.mandataire_id == people["mandataire"]["id"] and renewal.reference != previous.reference
        old = agrement_queries.pieces_of(db, rid)
        new = agrement_queries.pieces_of(db, renewal.id)
        copied = [(p.kind, p.original_name, p.sha256, p.relative_path, p.size) for p in new[: len(old)]]
        assert copied == [(p.kind, p.original_name, p.sha256, p.relative_path, p.size) for p in old]
        assert {p.id for p in new}.isdisjoint({p.id for p in old})
        assert all(p.round == 1 and p.request_id == renewal.id for p in new)
        assert (new[-1].kind, new[-1].sha256, new[-1].uploaded_by_id) == (
            "programme",
            "c" * 64,
            people["mandataire"]["id"],
        )
        (submitted,) = timeline(db, "agrement_requests", renewal.id)
        assert submitted.data["kind"] == "renewal" and submitted.data["pieces_copied"] == 2
        assert timeline(db, "agrements", agrement_id)[-1].action == "renewal_requested"
        # the copied pieces satisfy the recevabilité
        svc.declare_admissible(db, people["officer"]["actor"], renewal.id)


def test_renewal_only_once_at_a_time(people, agrement_id):
    first = renew(people, agrement_id)
    with pytest.raises(Conflict) as exc:
        renew(people, agrement_id, pieces=[NEW_PIECE])
    assert exc.value.code == "renewal_already_open" and first.reference in exc.value.message
    with session_scope() as db:
        svc.withdraw(db, people["mandataire"]["actor"], first.id, "Dossier à reprendre")
    assert renew(people, agrement_id).id != first.id  # a closed attempt does not block a new one


def test_of_two_concurrent_renewal_requests_one_wins(people, agrement_id, monkeypatch):
    late = new_session()
    try:
        seen = late.get(Agrement, agrement_id)  # read before the other request commits
        renew(people, agrement_id)
        # the late one checked for an open request before the winner committed
        monkeypatch.setattr(svc, "open_renewal_of", lambda *_a: None)
        monkeypatch.setattr(svc, "open_request_for", lambda *_a: None)
        with pytest.raises(Conflict) as exc:
            svc.request_renewal(late, people["mandataire"]["actor"], agrement_id)
        assert exc.value.code == "concurrent_update" and seen.version == 1
    finally:
        late.rollback()
        late.close()
    with session_scope() as db:
        assert len(db.exec(select(AgrementRequest).where(AgrementRequest.kind == "renewal")).all()) == 1


def test_renewal_is_for_the_mandataire_who_sees_the_agrement(people, agrement_id):
    for who in ("officer", "controleur"):
        with pytest.raises(Forbidden):
            renew(people, agrement_id, who=who)
    with pytest.raises(NotFound):
        renew(people, agrement_id, who="other_mandataire")
    with session_scope() as db:
        assert db.exec(select(AgrementRequest).where(AgrementRequest.kind == "renewal")).all() == []


def test_renewal_needs_an_agrement_in_force(people, agrement_id):
    with session_scope() as db:
        lifecycle.suspend(db, people["officer"]["actor"], agrement_id, "Contrôle")
    with pytest.raises(Conflict) as exc:
        renew(people, agrement_id)
    assert exc.value.code == "not_renewable" and "suspendu" in exc.value.message
    with session_scope() as db:
        lifecycle.reinstate(db, people["officer"]["actor"], agrement_id, "Levée")
        lifecycle.mark_expiring(db, SYSTEM, agrement_id)
    assert renew(people, agrement_id).kind == "renewal"  # arriving at échéance: the usual case


def test_plain_submission_cannot_renew_a_withdrawn_agrement(people, agrement_id):
    with session_scope() as db:
        lifecycle.withdraw(db, people["officer"]["actor"], agrement_id, "Retrait")
    with pytest.raises(Conflict) as exc:
        submit_request(people["mandataire"]["actor"], 1, previous_agrement_id=agrement_id)
    assert exc.value.code == "not_renewable"


def test_granting_a_renewal_continues_the_previous_agrement(people, agrement_id):
    officer = people["officer"]["actor"]
    request = renew(people, agrement_id)
    new_id = grant_request(request.id, people)
    with session_scope() as db:
        previous, new = db.get(Agrement, agrement_id), db.get(Agrement, new_id)
        assert previous.state == "renewed"
        assert (new.start_date, new.end_date, new.state) == (date(2029, 1, 1), date(2031, 12, 31), "active")
        assert new.scope == previous.scope
        renewed = timeline(db, "agrements", agrement_id)[-1]
        assert (renewed.action, renewed.from_state, renewed.to_state) == ("renew", "active", "renewed")
        assert (renewed.actor_id, renewed.data["by_number"]) == (officer.user_id, new.number)
        assert timeline(db, "agrements", new_id)[0].data["renews"] == previous.number
        assert agrement_queries.successor_of(db, agrement_id).id == new_id
    # no gap for the registration of candidates: the renewed one covers until its end date
    for on in (TODAY.date(), END, END + timedelta(days=1), date(2031, 12, 31)):
        assert allowed(agrement_id, on), on
    assert not allowed(agrement_id, date(2032, 1, 1))
    with pytest.raises(Conflict):
        renew(people, agrement_id)  # renewed: no second renewal
    # a suspension of the new agrément is not bypassed through the renewed one
    with session_scope() as db:
        lifecycle.suspend(db, officer, new_id, "Contrôle défavorable")
    assert not allowed(agrement_id, TODAY.date()) and not allowed(agrement_id, date(2030, 1, 1))


def test_renewal_granted_after_expiry_starts_today(people, frozen_clock):
    agrement_id = grant_agrement(people, start=START, end=date(2026, 6, 30))
    request = renew(people, agrement_id)
    instruct(request.id, people)
    frozen_clock.move_to(datetime(2026, 7, 10, 9, 0, tzinfo=UTC))
    with session_scope() as db:
        lifecycle.expire(db, SYSTEM, agrement_id)
        _, new = svc.grant(db, people["officer"]["actor"], request.id)
        assert (new.start_date, new.end_date) == (date(2026, 7, 10), date(2029, 7, 9))
    assert state_of(agrement_id) == "expired"  # stays expired: it ended before the renewal
    assert not allowed(agrement_id, date(2026, 7, 5)) and allowed(agrement_id, date(2026, 7, 10))


def test_renewal_of_a_suspended_agrement_cannot_be_granted(people, agrement_id):
    request = renew(people, agrement_id)
    instruct(request.id, people)
    with session_scope() as db:
        lifecycle.suspend(db, people["officer"]["actor"], agrement_id, "Contrôle")
    with pytest.raises(InvalidTransition) as exc, session_scope() as db:
        svc.grant(db, people["officer"]["actor"], request.id)
    assert exc.value.code == "not_renewable"
    with session_scope() as db:
        assert db.get(AgrementRequest, request.id).state == "under_review"
        assert len(db.exec(select(Agrement)).all()) == 1
