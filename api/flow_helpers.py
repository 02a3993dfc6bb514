"""What the API takes from the flows (the training attestation's kind, the SI CPF flow module),
imported on first use.

Importing a ``flows.<process>`` module imports Prefect, about a third of the API's start-up; the
API needs them only once a dossier is shown, so ``cqp run`` answers ``/health`` without waiting
for that import.
"""

from __future__ import annotations

from typing import Any


def training_attestation_kind() -> str:
    from flows.training import ATTESTATION

    return ATTESTATION


def cpf() -> Any:
    from flows import cpf as module

    return module
