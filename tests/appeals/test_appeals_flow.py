"""An appeal's letters through the jury session's flow, with real PDFs: its acknowledgement, then
upheld, its decision letter and e-mail, the PV modificatif and the appellant's new results."""

from __future__ import annotations

import pytest
from sqlmodel import select

from certification.appeals import service as appeals
from certification.candidates.models import Candidate
from certification.db import session_scope
from certification.jury import queries as jury_queries
from certification.jury.models import Certificate
from flows.jury import advance_jury
from notifications.models import OutboxMessage
from tests.factories import ALL_VALIDATED, PARTIAL, deliberated_session, ready_candidates
from tests.flows.conftest import generated_documents, pdf_text

pytestmark = pytest.mark.integration


def test_appeal_letters_and_new_pv(world, settings):
    people = world
    (cid,) = ready_candidates(people["structure"], 1)
    sid = deliberated_session(people, [cid], {cid: PARTIAL})
    advance_jury(sid)
    officer = people["officer"]["actor"]
    structure, grounds = people["structure"]["actor"], "Évaluation du bloc SP-B2 <contestée>."
    with session_scope() as db:
        appeal = appeals.file_appeal(db, structure, candidate_id=cid, jury_session_id=sid, grounds=grounds)
        appeals.declare_admissible(db, officer, appeal.id)
        appeals.uphold(db, officer, appeal.id, reason="Erreur reconnue par le jury", results=ALL_VALIDATED)
    outcome = advance_jury(sid)
    assert outcome.state == "results_notified"
    assert sorted(outcome.documents) == ["certificat-v1", "pv_jury-v2", "recours_decision-v1"]
    with session_scope() as db:
        structure_id = db.get(Candidate, cid).structure_id
        templates = sorted(
            m.template for m in db.exec(select(OutboxMessage).where(OutboxMessage.entity_type == "appeals"))
        )
    assert templates == ["appeals/recours_decision", "appeals/recours_recu"]
    assert sorted(outcome.mails) == ["decision", "received", f"results:c{cid}:v2", f"results:s{structure_id}:v2"]
    with session_scope() as db:
        states = sorted((c.kind, c.state) for c in db.exec(select(Certificate)))
        assert states == [("attestation", "superseded"), ("certificate", "valid")]
        assert jury_queries.get_jury_session(db, officer, sid).pv_version == 2
    (letter,) = generated_documents("appeals")
    assert (letter.kind, letter.version) == ("recours_decision", 1)
    assert "Décision sur votre recours : recours fondé" in pdf_text(
        (settings.data_dir / letter.relative_path).read_bytes()
    )
    pv2 = next(d for d in generated_documents("jury_sessions") if d.version == 2)
    assert "modificatif" in pdf_text((settings.data_dir / pv2.relative_path).read_bytes()).lower()
