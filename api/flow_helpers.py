"""The read helpers of the flows that the API shows (``waiting_for``…), imported on first use.

Importing a ``flows.<process>`` module imports Prefect, about a third of the API's start-up; the
API needs them only once a dossier is shown, so ``cqp run`` answers ``/health`` without waiting
for that import.
"""

from __future__ import annotations

from typing import Any


def request_waiting_for(request: Any) -> str | None:
    from flows.agrement import waiting_for

    return waiting_for(request)


def controle_waiting_for(controle: Any) -> str | None:
    from flows.controle import waiting_for

    return waiting_for(controle)


def vae_waiting_for(dossier: Any) -> str | None:
    from flows.vae import waiting_for

    return waiting_for(dossier)


def training_waiting_for(db: Any) -> str | None:
    from flows.training import training_waiting_for as waiting_for

    return waiting_for(db)


def appui_waiting_for(appui: Any) -> str | None:
    from flows.training import appui_waiting_for as waiting_for

    return waiting_for(appui)


def training_attestation_kind() -> str:
    from flows.training import ATTESTATION

    return ATTESTATION


def cpf() -> Any:
    from flows import cpf as module

    return module
