"""Sample template contexts: previews, setup checks (render every template) and tests.

The structure name deliberately contains markup, so that any template forgetting to
escape it shows up at once.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

SAMPLE_STRUCTURE_NAME = "<script>alert('x')</script> & Fils"


def sample_request(**overrides: Any) -> dict[str, Any]:
    """A complete ``request`` dict (every key any letter or e-mail may use)."""
    request: dict[str, Any] = {
        "reference": "AGR-2026-00001",
        "structure_name": SAMPLE_STRUCTURE_NAME,
        "structure_siret": "73282932000074",
        "structure_address": "12 rue de l'Église\n69007 Lyon",
        "structure_region": "Auvergne-Rhône-Alpes",
        "structure_email": "contact@aci-exemple.fr",
        "certification_code": "CQP_SP",
        "certification_title": "CQP Salarié Polyvalent",
        "mandataire_name": "Hélène Lefèvre",
        "mandataire_email": "helene.lefevre@example.org",
        "submitted_at": datetime(2026, 11, 23, 13, 5, tzinfo=timezone.utc),  # 14 h 05 in Paris
        "round": 1,
        "pieces": [
            {
                "filename": "statuts-signés.pdf",
                "sha256": "0123456789abcdef" * 4,
                "size": 1_258_291,
                "kind_label": "Statuts de la structure",
            },
            {
                "filename": "attestation_EPSP.pdf",
                "sha256": "fedcba9876543210" * 4,
                "size": 48_213,
                "kind_label": "Attestation de formation EPSP des encadrants",
            },
        ],
        "complement_request": (
            "Merci de fournir :\n- l'attestation EPSP de l'encadrant <b>principal</b> ;\n- le budget prévisionnel."
        ),
        "complements_deadline": date(2026, 12, 23),
        "avis": "favorable",
        "avis_comment": "Dossier solide.\nEncadrement formé.",
        "avis_deadline": date(2026, 12, 14),
        "decision_reason": "Absence d'encadrant formé à l'EPSP.\nProjet pédagogique incomplet.",
        "agrement_number": "AGR-CQP_SP-2026-0001",
        "start_date": date(2027, 1, 1),
        "end_date": date(2029, 12, 31),
        "scope": ["BC01 — Accueillir et informer", "BC02 — Réaliser des travaux d'entretien"],
    }
    request.update(overrides)
    return request


def sample_context(**request_overrides: Any) -> dict[str, Any]:
    """A letter/e-mail context around :func:`sample_request`."""
    return {
        "certifier_name": "Organisme certificateur CQP de la branche des ACI",
        "today": date(2026, 11, 23),
        "request": sample_request(**request_overrides),
        "recipient_name": None,
        "action_url": "https://cqp.example.org/agrement-requests/1",
        "days_left": 5,
        "avis_deadline": date(2026, 12, 14),
    }
