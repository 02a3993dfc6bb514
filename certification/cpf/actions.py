"""Who may do what now in the SI CPF export (see :mod:`certification.actions` for the rule
shared by every process): the names of the API's action endpoints (``/exports/cpf/…``) that an
actor may take on a record or a batch. Only the officers act here; the system's own steps (a
batch produced, a record cancelled) are the flow's."""

from __future__ import annotations

from sqlmodel import Session

from certification.audit import Actor
from certification.cpf.models import CpfExportBatch, CpfRecord
from certification.cpf.states import CpfState
from certification.models import Role


def record_actions(_session: Session, actor: Actor, record: CpfRecord) -> list[str]:
    """An officer may ask to re-send a rejected record as it is (``resend``)."""
    if actor.role is Role.officer and record.state == CpfState.rejected:
        return ["resend"]
    return []


def batch_actions(_session: Session, actor: Actor, _batch: CpfExportBatch) -> list[str]:
    """An officer may declare (or correct) the day a batch was deposited and import its
    processing report (again: an import changes nothing twice)."""
    return ["deposit", "report"] if actor.role is Role.officer else []
