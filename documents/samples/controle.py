"""Sample contexts of the contrôle d'agrément's letters and e-mails."""

from __future__ import annotations

from datetime import date, datetime, UTC
from typing import Any

from documents.samples.common import sample_dossier_context, sample_structure


def sample_controle(**overrides: Any) -> dict[str, Any]:
    """A complete ``controle`` dict (every key any contrôle letter or e-mail may use).

    The decision is an action plan; the visit was rescheduled once (``visit_sequence`` 1).
    """
    controle: dict[str, Any] = {
        "reference": "CTL-2026-0001",
        "kind": "periodic",
        "kind_label": "contrôle périodique",
        "reason": "Contrôle à mi-parcours de l'agrément (18 mois après son début).",
        **sample_structure(),
        "certification_title": "CQP Salarié Polyvalent",
        "certification_code": "CQP_SP",
        "agrement_number": "AGR-CQP_SP-2026-0001",
        "agrement_start_date": date(2026, 1, 1),
        "agrement_end_date": date(2028, 12, 31),
        "controleur_name": "François Lefèvre-N'Diaye",
        "controleur_email": "francois.lefevre@controleurs.example.org",
        "controleur_sex": "M",
        "visit_at": datetime(2026, 3, 12, 8, 30, tzinfo=UTC),  # 9 h 30 in Paris
        "visit_end": datetime(2026, 3, 12, 11, 30, tzinfo=UTC),  # 12 h 30 in Paris
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
        "report_submitted_at": datetime(2026, 3, 20, 16, 45, tzinfo=UTC),  # 17 h 45 in Paris
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
            {"filename": "grilles-évaluation.pdf", "uploaded_at": datetime(2026, 3, 25, 9, 0, tzinfo=UTC)},
            {"filename": "livret_accueil_2026.pdf", "uploaded_at": datetime(2026, 3, 27, 14, 10, tzinfo=UTC)},
        ],
    }
    controle.update(overrides)
    return controle


def sample_controle_context(**controle_overrides: Any) -> dict[str, Any]:
    """A letter/e-mail context around :func:`sample_controle`."""
    return sample_dossier_context("controle", sample_controle(**controle_overrides), date(2026, 3, 23), "/controles/1")
