"""What an actor may do now in the SI CPF export (certification.cpf.actions): only the officers
act; a rejected record may be re-sent as it is, a batch's deposit declared and its report
imported. What is listed is what the services accept."""

from __future__ import annotations

from datetime import date

import pytest

from certification.audit import SYSTEM, Actor
from certification.cpf.actions import batch_actions, record_actions
from certification.cpf.models import CpfExportBatch, CpfRecord
from certification.cpf.states import CpfState
from certification.models import Role

OFFICER = Actor(1, Role.officer, "Camille Martin")


def record(state: CpfState) -> CpfRecord:
    return CpfRecord(
        certificate_id=1,
        certification_id=1,
        technical_id="CQP-SP-2026-0001",
        state=state.value,
        issued_on=date(2026, 1, 5),
        due_on=date(2026, 4, 5),
    )


@pytest.mark.parametrize("state", list(CpfState))
def test_only_a_rejected_record_may_be_resent_by_an_officer(state):
    assert record_actions(None, OFFICER, record(state)) == (["resend"] if state is CpfState.rejected else [])
    for role in (Role.structure, Role.controleur, Role.jury_member):
        assert record_actions(None, Actor(2, role, "Autre"), record(state)) == []
    assert record_actions(None, SYSTEM, record(state)) == []


def test_an_officer_declares_the_deposit_and_imports_the_report_of_a_batch():
    batch = CpfExportBatch(
        reference="CPF-SP-2026-0001",
        certification_id=1,
        registry_type="RNCP",
        registry_code="RNCP34567",
        state="generated",
        filename="f.xml",
        relative_path="f.xml",
        sha256="0" * 64,
    )
    assert batch_actions(None, OFFICER, batch) == ["deposit", "report"]
    assert batch_actions(None, Actor(2, Role.structure, "Structure"), batch) == []
    assert batch_actions(None, SYSTEM, batch) == []
