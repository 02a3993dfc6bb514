"""A big jury's certificates spread over the workers (scale-out): the jury's run hands parts of them
to other runs (``jury-results-part``), renders its own part, waits, then sends every e-mail; a part
that no worker takes is rendered by the jury's run itself. Here the other workers are threads that
run what a ``jury-results-part`` run runs (``store_certificates``); tests/scaleout runs them on real
workers of a Prefect server."""

from __future__ import annotations

import threading
import time

import pytest
from sqlmodel import select

from certification.models import AuditEvent
from certification.db import session_scope
from certification.jury import service as jury_svc
from certification.jury.models import Certificate
from certification.settings import reset_settings_cache
from flows import jury_results
from flows.certificates import CERT_ENTITY
from flows.jury import advance_jury
from notifications.models import OutboxMessage
from tests.factories import closed_jury
from tests.flows.conftest import generated_documents

SIZE = 7  # certificates; parts of 3: the jury's run keeps 3 and hands over 3, then 1


@pytest.fixture
def deployment_mode(monkeypatch):
    monkeypatch.setenv("CQP_FLOW_DISPATCH", "deployment")
    monkeypatch.setenv("CQP_RENDER_PART_SIZE", "3")
    monkeypatch.setenv("CQP_RENDER_PART_WAIT_SECONDS", "2")
    reset_settings_cache()
    yield
    reset_settings_cache()


def _signed_jury(size: int) -> int:
    people, sid = closed_jury(size)
    with session_scope() as db:
        jury_svc.sign_pv(db, people["presidente"]["actor"], sid)
    return sid


def _candidates_of(sid: int) -> list[int]:
    with session_scope() as db:
        return list(db.exec(select(Certificate.candidate_id).where(Certificate.session_id == sid)))


def _check_everything_once(sid: int, size: int) -> None:
    """Every certificate's document and « document generated » audit row once, the PV once, one
    results e-mail per candidate and one for the structure listing them in the PV's order."""
    certificates = generated_documents(CERT_ENTITY)
    assert len(certificates) == size == len({d.entity_id for d in certificates})
    assert len(generated_documents("jury_sessions")) == 1
    with session_scope() as db:
        generated = db.exec(
            select(AuditEvent.entity_id).where(
                AuditEvent.entity_type == CERT_ENTITY, AuditEvent.action == "document_generated"
            )
        ).all()
        results = db.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key.contains(":results:"))).all()
        numbers = list(
            db.exec(select(Certificate.number).where(Certificate.session_id == sid).order_by(Certificate.candidate_id))
        )
    assert sorted(generated) == sorted(d.entity_id for d in certificates)
    keys = [m.dedupe_key for m in results]
    assert len(keys) == len(set(keys)) == size + 1
    (structure,) = [m for m in results if m.template == "jury/resultats_jury_structure"]
    assert len(structure.attachments) == size  # each candidate's document, wherever it was rendered
    body = structure.body_text
    positions = [body.index(n) for n in numbers]
    assert positions == sorted(positions), "the structure's e-mail lists its candidates in the PV's order"
    candidate_mails = [m for m in results if m.template == "jury/resultats_jury"]
    assert all(any(a["filename"].endswith(".pdf") for a in m.attachments) for m in candidate_mails)


def test_the_parts_are_rendered_by_other_workers_and_every_effect_happens_once(deployment_mode):
    sid = _signed_jury(SIZE)
    parts_done: list[tuple[list[int], list[str]]] = []
    workers: list[threading.Thread] = []

    def other_worker(session_id: int, candidate_ids: list[int]) -> None:
        time.sleep(0.3)  # taken a little later, as a worker polling the server would
        parts_done.append((candidate_ids, jury_results.store_certificates(session_id, candidate_ids).documents))

    def hand_off(session_id, parts):
        for part in parts:
            workers.append(threading.Thread(target=other_worker, args=(session_id, part)))
            workers[-1].start()
        return [f"run-{i}" for i in range(len(parts))]

    jury_results.hand_off_parts, real = hand_off, jury_results.hand_off_parts
    jury_results._runs_over, real_over = (lambda runs: not any(w.is_alive() for w in workers)), jury_results._runs_over
    try:
        outcome = advance_jury(sid)
    finally:
        jury_results.hand_off_parts, jury_results._runs_over = real, real_over
    assert outcome.state == "results_notified"
    order = _candidates_of(sid)
    assert sorted(len(ids) for ids, _ in parts_done) == [1, 3]  # the parts beyond the run's own first 3
    handed = {cid for ids, _ in parts_done for cid in ids}
    assert len(handed) == 4 and handed <= set(order)
    assert sum(len(docs) for _, docs in parts_done) == 4  # the parts stored their certificates themselves
    assert len([d for d in outcome.documents if d.startswith(("certificat", "attestation"))]) == 3  # the run, its own
    assert len(outcome.certificates) == SIZE
    _check_everything_once(sid, SIZE)
    assert advance_jury(sid).mails == []  # nothing more owed


def test_a_part_no_worker_takes_is_rendered_by_the_jurys_own_run(deployment_mode):
    sid = _signed_jury(SIZE)
    jury_results.hand_off_parts, real = (lambda session_id, parts: ["never-taken"]), jury_results.hand_off_parts
    jury_results._runs_over, real_over = (lambda runs: False), jury_results._runs_over
    started = time.monotonic()
    try:
        outcome = advance_jury(sid)
    finally:
        jury_results.hand_off_parts, jury_results._runs_over = real, real_over
    waited = time.monotonic() - started
    assert outcome.state == "results_notified"
    assert len([d for d in outcome.documents if d.startswith(("certificat", "attestation"))]) == SIZE
    assert waited >= 2  # CQP_RENDER_PART_WAIT_SECONDS without a document from the parts, then on its own
    _check_everything_once(sid, SIZE)


def test_a_jury_is_not_split_outside_the_scale_out_mode_nor_when_small(monkeypatch):
    monkeypatch.setenv("CQP_RENDER_PART_SIZE", "3")
    for mode, ids, parts in [
        ("background", list(range(7)), 1),
        ("inline", list(range(7)), 1),
        ("deployment", list(range(3)), 1),
        ("deployment", list(range(7)), 3),
    ]:
        monkeypatch.setenv("CQP_FLOW_DISPATCH", mode)
        reset_settings_cache()
        split = jury_results._parts(ids)
        assert len(split) == parts and [i for part in split for i in part] == ids
    monkeypatch.setenv("CQP_RENDER_PART_SIZE", "0")  # never
    reset_settings_cache()
    assert jury_results._parts(list(range(700))) == [list(range(700))]
    reset_settings_cache()
