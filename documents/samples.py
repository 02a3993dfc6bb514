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


def sample_controle(**overrides: Any) -> dict[str, Any]:
    """A complete ``controle`` dict (every key any contrôle letter or e-mail may use).

    The decision is an action plan; the visit was rescheduled once (``visit_sequence`` 1).
    """
    controle: dict[str, Any] = {
        "reference": "CTL-2026-0001",
        "kind": "periodic",
        "kind_label": "contrôle périodique",
        "reason": "Contrôle à mi-parcours de l'agrément (18 mois après son début).",
        "structure_name": SAMPLE_STRUCTURE_NAME,
        "structure_siret": "73282932000074",
        "structure_address": "12 rue de l'Église\n69007 Lyon",
        "structure_region": "Auvergne-Rhône-Alpes",
        "structure_email": "contact@aci-exemple.fr",
        "certification_title": "CQP Salarié Polyvalent",
        "certification_code": "CQP_SP",
        "agrement_number": "AGR-CQP_SP-2026-0001",
        "agrement_start_date": date(2026, 1, 1),
        "agrement_end_date": date(2028, 12, 31),
        "controleur_name": "François Lefèvre-N'Diaye",
        "controleur_email": "francois.lefevre@controleurs.example.org",
        "visit_at": datetime(2026, 3, 12, 8, 30, tzinfo=timezone.utc),  # 9 h 30 in Paris
        "visit_end": datetime(2026, 3, 12, 11, 30, tzinfo=timezone.utc),  # 12 h 30 in Paris
        "visit_place": "Atelier de l'Église, 12 rue de l'Église, 69007 Lyon",
        "visit_notes": "Accès par la cour.\nPrévoir les <b>livrets</b> des candidats & les plannings.",
        "visit_sequence": 1,
        "findings": [
            {
                "criterion": "Encadrants formés à l'EPSP",
                "status": "conforme",
                "comment": "Deux encadrants formés en 2025.",
            },
            {
                "criterion": "Suivi des évaluations en situation de production",
                "status": "non_conforme",
                "comment": "Grilles d'évaluation absentes pour 3 candidats.\nPas de <i>traçabilité</i> des preuves.",
            },
            {
                "criterion": "Information des candidats",
                "status": "observation",
                "comment": "Livret d'accueil à mettre à jour (référentiel 2024).",
            },
        ],
        "report_summary": "Structure globalement conforme.\nUn écart sur le suivi des évaluations.",
        "report_submitted_at": datetime(2026, 3, 20, 16, 45, tzinfo=timezone.utc),  # 17 h 45 in Paris
        "decision": "action_plan",
        "decision_reason": "Écart constaté sur le suivi des évaluations (critère « Suivi des évaluations »).",
        "action_plan_items": (
            "1. Mettre en place une grille d'évaluation par candidat ;\n"
            "2. Archiver les preuves d'évaluation <signées> ;\n"
            "3. Mettre à jour le livret d'accueil."
        ),
        "action_plan_deadline": date(2026, 4, 1),
        "days_left": 5,
        "evidence": [
            {"filename": "grilles-évaluation.pdf", "uploaded_at": datetime(2026, 3, 25, 9, 0, tzinfo=timezone.utc)},
            {"filename": "livret_accueil_2026.pdf", "uploaded_at": datetime(2026, 3, 27, 14, 10, tzinfo=timezone.utc)},
        ],
    }
    controle.update(overrides)
    return controle


def sample_controle_context(**controle_overrides: Any) -> dict[str, Any]:
    """A letter/e-mail context around :func:`sample_controle`."""
    return {
        "certifier_name": "Organisme certificateur CQP de la branche des ACI",
        "today": date(2026, 3, 23),
        "controle": sample_controle(**controle_overrides),
        "recipient_name": None,
        "action_url": "https://cqp.example.org/controles/1",
    }


def sample_agrement(**overrides: Any) -> dict[str, Any]:
    """A complete ``agrement`` dict (lifecycle e-mails: échéance, expiration, suspension...)."""
    agrement: dict[str, Any] = {
        "number": "AGR-CQP_SP-2026-0001",
        "structure_name": SAMPLE_STRUCTURE_NAME,
        "structure_siret": "73282932000074",
        "structure_email": "contact@aci-exemple.fr",
        "certification_title": "CQP Salarié Polyvalent",
        "certification_code": "CQP_SP",
        "start_date": date(2026, 1, 1),
        "end_date": date(2028, 12, 31),
        "state": "expiring",
        "state_label": "arrive à échéance",
        "days_left": 30,
        "reason": "Plan d'actions non réalisé à l'échéance.\nAbsence de <b>grilles</b> d'évaluation.",
    }
    agrement.update(overrides)
    return agrement


def sample_agrement_context(**agrement_overrides: Any) -> dict[str, Any]:
    """An e-mail context around :func:`sample_agrement`."""
    return {
        "certifier_name": "Organisme certificateur CQP de la branche des ACI",
        "today": date(2028, 12, 1),
        "agrement": sample_agrement(**agrement_overrides),
        "recipient_name": None,
        "action_url": "https://cqp.example.org/agrements/1",
    }
