"""Services of the agrément request: transitions, audit trail, visibility, concurrency."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlmodel import select

from certification.audit import timeline
from certification.db import new_session, session_scope
from certification.errors import Conflict, Forbidden, NotFound, ValidationFailed
from certification.models import AuditEvent, Counter, StructureLink
from certification.agrement.models import Agrement, AgrementRequest
from certification.numbering import next_value
from certification.agrement import service as svc
from certification.agrement import queries as agrement_queries
from tests.factories import pieces, submit_request, transitions

PIECES = pieces()


def submit(actor, n=1, pieces=PIECES, **kw) -> int:
    return submit_request(actor, n, pieces_in=pieces, **kw)


def test_submission_is_recorded_with_reference_pieces_link_and_audit(people):
    mandataire = people["mandataire"]["actor"]
    rid = submit(mandataire)
    with session_scope() as db:
        request = db.get(AgrementRequest, rid)
        assert request.reference.startswith("DA-") and request.reference.endswith("-00001")
        assert request.state == "submitted" and request.round == 1
        assert request.scope == ["SP-B1", "SP-B2", "SP-B3"]
        assert {p.kind for p in agrement_queries.pieces_of(db, rid)} == {"dossier", "attestation_epsp"}
        link = db.exec(select(StructureLink).where(StructureLink.user_id == mandataire.user_id)).one()
        assert link.kind == "mandataire" and link.structure_id == request.structure_id
        (event,) = timeline(db, "agrement_requests", rid)
        assert (event.action, event.from_state, event.to_state) == ("submit", None, "submitted")
        assert (event.actor_id, event.actor_role, event.actor_label) == (
            mandataire.user_id,
            "mandataire",
            "Hélène Dubois-Lefèvre",
        )


def test_second_reference_follows_the_first(people):
    first, second = submit(people["mandataire"]["actor"], 1), submit(people["mandataire"]["actor"], 2)
    with session_scope() as db:
        refs = [db.get(AgrementRequest, i).reference for i in (first, second)]
    assert [r[-5:] for r in refs] == ["00001", "00002"]


def test_invalid_siret_is_refused_and_nothing_is_written(people):
    with pytest.raises(ValidationFailed, match="SIRET"), session_scope() as db:
        svc.submit_request(
            db,
            people["mandataire"]["actor"],
            structure=svc.StructureIn(siret="73282932000075", name="X"),
            certification_code="CQP_SP",
            pieces=PIECES,
        )
    with session_scope() as db:
        assert db.exec(select(AgrementRequest)).all() == []
        assert db.exec(select(AuditEvent)).all() == []


def test_only_mandataires_submit(people):
    for who in ("officer", "controleur", "formateur"):
        with pytest.raises(Forbidden):
            submit(people[who]["actor"])


def test_one_open_request_per_structure_and_certification(people):
    submit(people["mandataire"]["actor"])
    with pytest.raises(Conflict, match="déjà en cours"):
        submit(people["other_mandataire"]["actor"])


def test_unknown_bloc_in_scope(people):
    with pytest.raises(ValidationFailed, match="SP-B9"):
        submit(people["mandataire"]["actor"], scope=["SP-B1", "SP-B9"])


def test_full_path_to_granted_agrement_with_audit_trail(people):
    officer, mandataire = people["officer"]["actor"], people["mandataire"]["actor"]
    rid = submit(mandataire)
    with session_scope() as db:
        svc.declare_admissible(db, officer, rid, "Dossier complet")
    with session_scope() as db:
        svc.give_avis(db, mandataire, rid, "favorable", "Très bon plateau technique")
    with session_scope() as db:
        request, agrement = svc.grant(db, officer, rid, start_date=date(2027, 1, 1))
        number = agrement.number
    with session_scope() as db:
        request = db.get(AgrementRequest, rid)
        agrement = db.exec(select(Agrement).where(Agrement.request_id == rid)).one()
        assert request.state == "granted" and request.decided_by_id == officer.user_id
        assert agrement.number == number and agrement.number.startswith("AGR-SP-")
        assert (agrement.start_date, agrement.end_date) == (date(2027, 1, 1), date(2029, 12, 31))
        assert agrement.state == "active" and agrement.scope == request.scope
        steps = transitions(db, "agrement_requests", rid)
        assert steps == [
            ("submit", None, "submitted", "mandataire"),
            ("declare_admissible", "submitted", "admissible", "officer"),
            ("start_review", "admissible", "under_review", "system"),
            ("give_avis", "under_review", "under_review", "mandataire"),
            ("grant", "under_review", "granted", "officer"),
        ]
        (created,) = timeline(db, "agrements", agrement.id)
        assert created.to_state == "active" and created.data["request"] == request.reference


def test_complements_round_trip(people):
    officer, mandataire = people["officer"]["actor"], people["mandataire"]["actor"]
    rid = submit(mandataire, pieces=PIECES[:1])
    with session_scope() as db:
        with pytest.raises(Conflict, match="attestation de formation EPSP"):
            svc.declare_admissible(db, officer, rid)
    with session_scope() as db:
        svc.request_complements(db, officer, rid, "Merci de joindre l'attestation EPSP.", deadline_days=20)
    with session_scope() as db:
        request = db.get(AgrementRequest, rid)
        assert request.state == "incomplete" and request.complements_deadline is not None
        svc.provide_complements(db, mandataire, rid, comment="Voici l'attestation.", pieces=PIECES[1:])
    with session_scope() as db:
        request = db.get(AgrementRequest, rid)
        assert (request.state, request.round) == ("submitted", 2)
        assert [(p.kind, p.round) for p in agrement_queries.pieces_of(db, rid)] == [
            ("dossier", 1),
            ("attestation_epsp", 2),
        ]
        svc.declare_admissible(db, officer, rid)
        last = timeline(db, "agrement_requests", rid)[-3]
        assert (last.action, last.reason) == ("provide_complements", "Voici l'attestation.")


def test_another_mandataire_neither_sees_nor_acts(people):
    rid = submit(people["mandataire"]["actor"])
    other = people["other_mandataire"]["actor"]
    with session_scope() as db:
        with pytest.raises(NotFound):
            agrement_queries.get_request(db, other, rid)
        with pytest.raises(NotFound):
            svc.withdraw(db, other, rid, "non")
        assert agrement_queries.list_requests(db, other) == []
        assert [r.id for r in agrement_queries.list_requests(db, people["officer"]["actor"])] == [rid]
        with pytest.raises(Forbidden):
            agrement_queries.list_requests(db, people["controleur"]["actor"])


def test_concurrent_actions_on_the_same_request_fire_once(people):
    officer = people["officer"]["actor"]
    rid = submit(people["mandataire"]["actor"])
    first, second = new_session(), new_session()
    try:
        a = agrement_queries.get_request(first, officer, rid)
        b = agrement_queries.get_request(second, officer, rid)
        assert a.state == b.state == "submitted"
        svc.declare_admissible(first, officer, rid)
        first.commit()
        with pytest.raises(Conflict):
            svc.request_complements(second, officer, rid, "trop tard")
        second.rollback()
    finally:
        first.close()
        second.close()
    with session_scope() as db:
        assert [e.action for e in timeline(db, "agrement_requests", rid)] == [
            "submit",
            "declare_admissible",
            "start_review",
        ]


def test_failure_mid_transition_leaves_no_half_state(people, monkeypatch):
    officer, mandataire = people["officer"]["actor"], people["mandataire"]["actor"]
    rid = submit(mandataire)
    with session_scope() as db:
        svc.declare_admissible(db, officer, rid)
        svc.give_avis(db, mandataire, rid, "favorable")

    def broken(*_a, **_k):
        raise RuntimeError("database went away")

    monkeypatch.setattr(svc, "next_value", broken)  # fails after the transition was applied
    with pytest.raises(RuntimeError), session_scope() as db:
        svc.grant(db, officer, rid)
    with session_scope() as db:
        assert db.get(AgrementRequest, rid).state == "under_review"
        assert db.exec(select(Agrement)).all() == []
        assert timeline(db, "agrement_requests", rid)[-1].action == "give_avis"


def test_defavorable_avis_must_be_motivated_and_refusal_needs_reason(people):
    officer, mandataire = people["officer"]["actor"], people["mandataire"]["actor"]
    rid = submit(mandataire)
    with session_scope() as db:
        svc.declare_admissible(db, officer, rid)
        with pytest.raises(ValidationFailed):
            svc.give_avis(db, mandataire, rid, "defavorable", "")
        svc.give_avis(db, mandataire, rid, "defavorable", "Encadrement insuffisant")
        with pytest.raises(Conflict, match="déjà été rendu"):
            svc.give_avis(db, mandataire, rid, "favorable")
        with pytest.raises(ValidationFailed):
            svc.refuse(db, officer, rid, " ")
        svc.refuse(db, officer, rid, "Encadrement <b>insuffisant</b>")
    with session_scope() as db:
        assert db.get(AgrementRequest, rid).decision_reason == "Encadrement <b>insuffisant</b>"


def test_numbers_never_repeat_nor_skip_under_concurrency(engine):
    results: list[int] = []
    errors: list[Exception] = []

    def worker():
        try:
            for _ in range(10):
                with session_scope() as db:
                    results.append(next_value(db, "test", 2026))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == list(range(1, 41))


def test_rolled_back_number_is_given_again(engine):
    with pytest.raises(RuntimeError), session_scope() as db:
        next_value(db, "rollback", 2026)
        raise RuntimeError
    with session_scope() as db:
        assert next_value(db, "rollback", 2026) == 1
        assert db.get(Counter, ("rollback", 2026)).value == 1
