"""The appeal's (recours) states, their labels and its state machine (who may fire what): filed,
then admissible or inadmissible, then upheld or rejected; all decided by an officer."""

from __future__ import annotations

from enum import StrEnum

from certification.models import Role
from certification.statemachine import StateMachine, transition


class AppealState(StrEnum):
    filed = "filed"
    admissible = "admissible"
    inadmissible = "inadmissible"
    upheld = "upheld"
    rejected = "rejected"


APPEAL_STATE_LABELS = {
    AppealState.filed: "déposé",
    AppealState.admissible: "recevable, en examen par le jury",
    AppealState.inadmissible: "irrecevable",
    AppealState.upheld: "fondé : décision modifiée",
    AppealState.rejected: "rejeté",
}
APPEAL = StateMachine(
    name="appeal",
    states=APPEAL_STATE_LABELS,
    transitions=[
        transition(
            "declare_admissible", [AppealState.filed], AppealState.admissible, [Role.officer], "déclarer recevable"
        ),
        transition(
            "declare_inadmissible",
            [AppealState.filed],
            AppealState.inadmissible,
            [Role.officer],
            "déclarer irrecevable",
            requires_reason=True,
        ),
        transition(
            "uphold",
            [AppealState.admissible],
            AppealState.upheld,
            [Role.officer],
            "déclarer fondé",
            requires_reason=True,
        ),
        transition(
            "reject", [AppealState.admissible], AppealState.rejected, [Role.officer], "rejeter", requires_reason=True
        ),
    ],
)
