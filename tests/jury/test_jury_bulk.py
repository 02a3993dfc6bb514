"""A jury of 130 candidates (the certifier's 2023 yearly volume) in one session: every document and
e-mail exactly once, through a real Prefect run and a real SMTP server."""

from __future__ import annotations

import time

import pytest
from sqlmodel import func, select

from certification.db import session_scope
from certification.candidates.models import Candidate
from certification.jury.models import Certificate
from documents.models import GeneratedDocument
from flows.jury import jury_session_flow
from notifications.models import OutboxMessage
from tests.factories import deliberated_session, grant_agrement, make_users, ready_candidates, siret, structure_account

pytestmark = pytest.mark.integration
SIZE = 130


async def test_a_jury_of_130_candidates(prefect_server, smtp):
    people = make_users()
    grant_agrement(people, 1)
    structure_account(people, siret(1))
    ids = ready_candidates(people["structure"], SIZE)
    partial = {cid: {"SP-B1": "validated", "SP-B2": "not_validated", "SP-B3": "validated"} for cid in ids[::10]}
    sid = deliberated_session(people, ids, partial)

    started = time.perf_counter()
    result = await jury_session_flow(sid)
    elapsed = time.perf_counter() - started
    print(
        f"\n130-candidate jury: {elapsed:.1f} s for {len(result['documents'])} documents "
        f"and {len(result['mails'])} e-mails"
    )
    assert result["state"] == "results_notified"
    again = await jury_session_flow(sid)
    assert len(result["certificates"]) == SIZE
    # A second run owes nothing: it does nothing (and does not rebuild the session).
    assert again["documents"] == [] and again["mails"] == [] and again["certificates"] == []

    with session_scope() as db:

        def count(model, *where):
            return db.exec(select(func.count()).select_from(model).where(*where)).one()

        assert count(Certificate) == SIZE
        assert count(Certificate, Certificate.kind == "attestation") == len(partial)
        assert count(Candidate, Candidate.state == "certified") == SIZE - len(partial)
        numbers = list(db.exec(select(Certificate.number)))
        assert len(set(numbers)) == SIZE
        assert count(GeneratedDocument) == SIZE + 1  # one PV
        keys = list(db.exec(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.contains(":results:"))))
        # one e-mail per candidate, one for their structure (not 130 to the structure)
        assert len(keys) == len(set(keys)) == SIZE + 1
        assert count(OutboxMessage, OutboxMessage.status != "sent") == 0
    # the results, plus what the earlier steps owed: 4 convocations and the « PV à signer »
    assert len(smtp.by_subject("sultats")) == SIZE + 1
    assert len(smtp.messages) == len({m["Message-ID"] for m in smtp.messages}) == SIZE + 1 + 4 + 1
