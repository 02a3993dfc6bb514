"""The declaration of a certificate to the SI CPF (Caisse des Dépôts) as an explicit state machine.

pending -> sent -> accepted (final: an accepted passage is never sent again)
                -> rejected -> resent -> accepted | rejected ...
pending | rejected -> cancelled (the certificate was revoked before being accepted)

Also the rules of time: a record is due 3 months after its certificate's issue, a batch is
reminded to the officers while its processing report is not imported.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from certification.clock import now, today
from certification.cpf.models import CpfExportBatch, CpfRecord
from certification.models import Role
from certification.statemachine import StateMachine, transition


class CpfState(StrEnum):
    pending = "pending"
    sent = "sent"
    accepted = "accepted"
    rejected = "rejected"
    resent = "resent"
    cancelled = "cancelled"


CPF_STATE_LABELS = {
    CpfState.pending: "à transmettre",
    CpfState.sent: "transmis, en attente du compte rendu",
    CpfState.accepted: "accepté par la Caisse des Dépôts",
    CpfState.rejected: "rejeté : à corriger puis retransmettre",
    CpfState.resent: "retransmis après rejet, en attente du compte rendu",
    CpfState.cancelled: "annulé (certificat révoqué avant acceptation)",
}

# States in which the certifier still owes a flux (the record goes in the next batch).
OWED_STATES = frozenset({CpfState.pending, CpfState.rejected})
# In a batch whose processing report is not imported yet: the file may never have been deposited.
AWAITING_REPORT_STATES = frozenset({CpfState.sent, CpfState.resent})
# Not declared yet (no report has accepted it): overdue once past the due date, sent or not.
UNDECLARED_STATES = OWED_STATES | AWAITING_REPORT_STATES

CPF_RECORD = StateMachine(
    name="cpf_record", states=CPF_STATE_LABELS,
    transitions=[
        transition("send", [CpfState.pending], CpfState.sent, [Role.system, Role.officer], "transmettre à la Caisse des Dépôts"),
        transition("resend", [CpfState.rejected], CpfState.resent, [Role.system, Role.officer], "retransmettre après correction"),
        transition("accept", [CpfState.sent, CpfState.resent], CpfState.accepted, [Role.officer, Role.system], "accepté (compte rendu de traitement)"),
        transition("reject", [CpfState.sent, CpfState.resent], CpfState.rejected, [Role.officer, Role.system], "rejeté (compte rendu de traitement)"),
        transition("cancel", [CpfState.pending, CpfState.rejected], CpfState.cancelled, [Role.system, Role.officer], "annuler (certificat révoqué)",
                   requires_reason=True),
    ],
)


# --- batches (CpfExportBatch.state) and the audit trail's entity types ------------------------------

BATCH_GENERATED, BATCH_REPORTED = "generated", "report_imported"  # CpfExportBatch.state
BATCH_ENTITY = CpfExportBatch.__tablename__
RECORD_ENTITY = CpfRecord.__tablename__


# --- dates: the due date of a record, the Paris day of a batch, its report reminders ----------------

PARIS = ZoneInfo("Europe/Paris")
DUE_MONTHS = 3
REPORT_REMINDER_STEPS = 2  # reminders of a batch without report: N days after it was produced, then 2N


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` months, clamped to the end of a shorter month (30/11 + 3 = 28/02)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(issued_on: date) -> date:
    return add_months(issued_on, DUE_MONTHS)


def is_overdue(record: CpfRecord, on: date | None = None) -> bool:
    """Past its due date and not declared yet: still owed, or sent in a batch whose processing
    report was not imported (nothing says the Caisse des Dépôts received and accepted it)."""
    return CpfState(record.state) in UNDECLARED_STATES and record.due_on < (on or today())


def local_date(value: datetime) -> date:
    """The day in Paris of ``value``."""
    return value.astimezone(PARIS).date()


def produced_on(batch: CpfExportBatch) -> date:
    """The day (Paris) ``batch`` was produced."""
    return local_date(batch.created_at)


def paris_today() -> date:
    return local_date(now())


def report_reminder_step(batch: CpfExportBatch, on: date, every_days: int) -> int:
    """The reminder due for ``batch`` on ``on`` (a Paris day): 0 for none (report imported, too
    early, reminders off), 1 from ``every_days`` days after it was produced, 2 (the last) from
    twice that."""
    if batch.state != BATCH_GENERATED or every_days <= 0:
        return 0
    return min((on - produced_on(batch)).days // every_days, REPORT_REMINDER_STEPS)
