"""Sample contexts of the SI CPF export's e-mails."""

from __future__ import annotations

from datetime import date
from typing import Any

from documents.samples.common import sample_letter_context


def sample_cpf(**overrides: Any) -> dict[str, Any]:
    """A ``cpf`` dict holding the keys of both SI CPF e-mails (``flows.cpf``): the alert
    (records owed, held, awaiting a report) and the reminder of a batch without imported report."""
    cpf: dict[str, Any] = {
        "certification_code": "CQP_SP",
        "certification_title": "CQP Salarié Polyvalent",
        "registry_code": "RS6149",
        "days_before": 15,
        "overdue_count": 1,
        "held_count": 1,
        "awaiting_count": 1,
        "owed_count": 2,
        "export_error": None,
        "records": [
            {
                "technical_id": "SP-2026-000123",
                "holder": "Hugo ERNAUX",
                "issued_on": date(2026, 3, 2),
                "due_on": date(2026, 6, 2),
                "days_left": -3,
                "overdue": True,
                "state_label": "à transmettre",
                "held_reason": None,
                "error_message": None,
                "awaiting_report": False,
                "batch": None,
                "batch_produced_on": None,
                "batch_deposited_on": None,
            },
            {
                "technical_id": "SP-2026-000124",
                "holder": "Éloïse N'DIAYE-LEFÈVRE",
                "issued_on": date(2026, 3, 20),
                "due_on": date(2026, 6, 20),
                "days_left": 15,
                "overdue": False,
                "state_label": "retenu",
                "held_reason": "Date de naissance du titulaire manquante.",
                "error_message": "Nom inconnu",
                "awaiting_report": False,
                "batch": None,
                "batch_produced_on": None,
                "batch_deposited_on": None,
            },
            {
                "technical_id": "SP-2026-000125",
                "holder": "Zoë ÆRØSKØBING",
                "issued_on": date(2026, 3, 1),
                "due_on": date(2026, 6, 1),
                "days_left": -4,
                "overdue": True,
                "state_label": "transmis, en attente du compte rendu",
                "held_reason": None,
                "error_message": None,
                "awaiting_report": True,
                "batch": "CPF-SP-2026-0001",
                "batch_produced_on": date(2026, 5, 4),
                "batch_deposited_on": None,
            },
        ],
        "batch_id": 1,
        "reference": "CPF-SP-2026-0001",
        "filename": "CPF-SP-2026-0001.xml",
        "relative_path": "exports/cpf/CQP_SP/CPF-SP-2026-0001.xml",
        "record_count": 2,
        "resent_count": 1,
        "produced_on": date(2026, 5, 4),
        "days_since": 15,
        "deposited_on": None,
        "step": 1,
        "last": False,
        "next_on": date(2026, 6, 3),
        "earliest_due_on": date(2026, 6, 1),
    }
    cpf.update(overrides)
    return cpf


def sample_cpf_context(**cpf_overrides: Any) -> dict[str, Any]:
    return sample_letter_context(
        "cpf", sample_cpf(**cpf_overrides), date(2026, 5, 19), action_url="https://cqp.example.org/app/"
    )
