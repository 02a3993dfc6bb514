"""The declaration of a certificate to the SI CPF (Caisse des Dépôts) as an explicit state machine.

pending -> sent -> accepted (final: an accepted passage is never sent again)
                -> rejected -> resent -> accepted | rejected ...
pending | rejected -> cancelled (the certificate was revoked before being accepted)
"""

from __future__ import annotations

from enum import StrEnum

from certification.models import Role
from certification.statemachine import StateMachine, transition

O, S = Role.officer, Role.system


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

K = CpfState
CPF_RECORD = StateMachine(
    name="cpf_record",
    states=CPF_STATE_LABELS,
    initial=K.pending,
    final=frozenset({K.accepted, K.cancelled}),
    transitions=[
        transition("send", [K.pending], K.sent, [S, O], "transmettre à la Caisse des Dépôts"),
        transition("resend", [K.rejected], K.resent, [S, O], "retransmettre après correction"),
        transition("accept", [K.sent, K.resent], K.accepted, [O, S], "accepté (compte rendu de traitement)"),
        transition("reject", [K.sent, K.resent], K.rejected, [O, S], "rejeté (compte rendu de traitement)"),
        transition("cancel", [K.pending, K.rejected], K.cancelled, [S, O], "annuler (certificat révoqué)",
                   requires_reason=True),
    ],
)
