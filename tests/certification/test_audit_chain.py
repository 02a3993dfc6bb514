"""The audit trail is tamper-evident: a row altered, deleted or re-hashed in the database is named
by the verification (and by `cqp check`)."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import select

from certification.audit import SYSTEM, record_event
from certification.audit_chain import verify_chain
from certification.db import session_scope
from certification.models import AuditEvent
from tests.factories import make_users, submit_request


def _events() -> list[AuditEvent]:
    with session_scope() as db:
        return list(db.exec(select(AuditEvent).order_by(AuditEvent.id)))


def _world() -> list[AuditEvent]:
    people = make_users()
    for n in (1, 2):
        request_id = submit_request(people["mandataire"]["actor"], n)
        with session_scope() as db:
            for i in range(3):
                record_event(
                    db,
                    entity_type="agrement_requests",
                    entity_id=request_id,
                    action="note",
                    actor=SYSTEM,
                    reason=f"Note n° {i} — « accentuée »",
                    data={"n": i, "d": {"z": 1, "a": [1, 2]}},
                )
    return _events()


def test_every_row_is_chained_to_the_previous_row_of_its_entity():
    events = _world()
    assert all(e.row_hash and len(e.row_hash) == 64 for e in events)
    by_entity: dict = {}
    for e in events:
        assert e.prev_hash == by_entity.get((e.entity_type, e.entity_id), "")
        by_entity[(e.entity_type, e.entity_id)] = e.row_hash
    with session_scope() as db:
        report = verify_chain(db)
    assert report.intact and report.checked == len(events)


def test_an_altered_row_is_named(engine):
    events = _world()
    target = [e for e in events if e.action == "note"][1]
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET reason = 'Réécrit' WHERE id = :id"), {"id": target.id})
    with session_scope() as db:
        report = verify_chain(db)
    assert report.first_break is not None and report.first_break.event_id == target.id
    assert "modifié" in report.first_break.describe() and str(target.id) in report.first_break.describe()


def test_a_deleted_row_breaks_the_link_of_the_next_one(engine):
    events = _world()
    notes = [e for e in events if e.action == "note" and e.entity_id == events[-1].entity_id]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": notes[0].id})
    with session_scope() as db:
        report = verify_chain(db)
    assert report.first_break.event_id == notes[1].id and "lien" in report.first_break.reason


def test_a_rehashed_row_breaks_the_next_link(engine):
    from certification.audit_chain import row_hash

    events = _world()
    notes = [e for e in events if e.action == "note" and e.entity_id == events[-1].entity_id]
    forged = notes[0]
    forged.reason = "Falsifié"
    with engine.begin() as conn:  # the forger recomputes the row's own hash
        conn.execute(
            text("UPDATE audit_events SET reason = :r, row_hash = :h WHERE id = :id"),
            {"r": forged.reason, "h": row_hash(forged.prev_hash, forged), "id": forged.id},
        )
    with session_scope() as db:
        report = verify_chain(db)
    assert report.first_break.event_id == notes[1].id


def test_the_migration_seals_rows_written_before_the_chain(engine):
    from certification.audit_chain import seal_existing

    events = _world()
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET prev_hash = NULL, row_hash = NULL"))
    with session_scope() as db:
        assert verify_chain(db).first_break.event_id == events[0].id  # unsealed
    with engine.begin() as conn:
        assert seal_existing(conn) == len(events)
    sealed = _events()
    assert [(e.prev_hash, e.row_hash) for e in sealed] == [(e.prev_hash, e.row_hash) for e in events]
    with session_scope() as db:
        assert verify_chain(db).intact
