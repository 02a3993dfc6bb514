"""Sample contexts of the EPSP training's and the appuis pédagogiques' documents and e-mails."""

from __future__ import annotations

from datetime import date, datetime, UTC
from typing import Any

from documents.samples.common import (
    SAMPLE_CERTIFIER_NAME,
    SAMPLE_OTHER_STRUCTURE_NAME,
    sample_letter_context,
    sample_structure,
)


def sample_training(**overrides: Any) -> dict[str, Any]:
    """A complete ``training`` dict (EPSP training e-mails and attestation), as
    ``flows.training.training_context`` builds it: a two-day session, first programming."""
    training: dict[str, Any] = {
        "reference": "FORM-2026-0001",
        "title": "Encadrer en situation de production (EPSP)",
        "formateur_name": "Zoë Ærøskøbing",
        "formateur_email": "zoe.aeroskobing@formateurs.example.org",
        "formateur_sex": "F",
        "days": [date(2026, 5, 18), date(2026, 5, 19)],
        "start_date": date(2026, 5, 18),
        "end_date": date(2026, 5, 19),
        "hours": "9 h 00 – 12 h 30 et 13 h 30 – 17 h 00",
        "hours_per_day": 7,
        "place": "Maison de l'Emploi, 3 rue de l'Église, 69007 Lyon",
        "notes": "Apporter un <b>livret</b> d'accueil & un exemple de grille.",
        "state": "completed",
        "state_label": "terminée",
        "schedule_sequence": 0,
        "cancel_reason": "Nombre d'inscrits insuffisant.\nUne nouvelle session sera proposée.",
        "certification_code": "CQP_EPSP",
        "certification_title": "CQP Encadrant Pédagogique en Situation de Production",
    }
    training.update(overrides)
    return training


def sample_enrollment(**overrides: Any) -> dict[str, Any]:
    """An ``enrollment`` entry of a training session (``flows.training.enrollment_entry``): completed."""
    days = [date(2026, 5, 18), date(2026, 5, 19)]
    enrollment: dict[str, Any] = {
        "id": 1,
        "state": "completed",
        "state_label": "formation validée",
        "last_name": "N'Diaye-Lefèvre",
        "first_names": "Éloïse",
        "name": "Éloïse N'Diaye-Lefèvre",
        "email": "eloise.ndiaye@aci-exemple.fr",
        **sample_structure(SAMPLE_OTHER_STRUCTURE_NAME),
        "attendance": [{"day": d, "present": True} for d in days],
        "days_attended": 2,
        "hours_attended": 14,
        "outcome_reason": None,
        "completed_at": datetime(2026, 5, 19, 15, 0, tzinfo=UTC),
        "attestation_number": "EPSP-2026-000001",
    }
    enrollment.update(overrides)
    return enrollment


def sample_training_context(**training_overrides: Any) -> dict[str, Any]:
    """An e-mail / attestation context around :func:`sample_training` and :func:`sample_enrollment`
    (``attestation`` stands in for the ``request`` of the letters' base template)."""
    training, enrollment = sample_training(**training_overrides), sample_enrollment()
    return {
        "certifier_name": SAMPLE_CERTIFIER_NAME,
        "today": date(2026, 5, 19),
        "action_url": "https://cqp.example.org/app/formations/1",
        "training": training,
        "enrollment": enrollment,
        "attestation": {
            "reference": enrollment["attestation_number"],
            "structure_name": enrollment["structure_name"],
            "structure_siret": enrollment["structure_siret"],
            "structure_address": enrollment["structure_address"],
            "certification_code": training["certification_code"],
            "certification_title": training["certification_title"],
        },
    }


def sample_appui(**overrides: Any) -> dict[str, Any]:
    """A complete ``appui`` dict (``flows.training.appui_context``): scheduled once, reported."""
    appui: dict[str, Any] = {
        "reference": "APP-2026-0001",
        "subject": "Mise en place des grilles d'évaluation",
        "need": "Accompagner l'équipe encadrante sur l'évaluation <b>en situation</b> & le suivi des preuves.",
        "state": "reported",
        "state_label": "compte rendu déposé",
        "requested_by": "Aïssatou Diallo",
        "requested_at": datetime(2026, 4, 2, 8, 0, tzinfo=UTC),
        **sample_structure(SAMPLE_OTHER_STRUCTURE_NAME),
        "formateur_name": "Zoë Ærøskøbing",
        "formateur_email": "zoe.aeroskobing@formateurs.example.org",
        "formateur_sex": "F",
        "visit_at": datetime(2026, 4, 20, 7, 30, tzinfo=UTC),  # 9 h 30 in Paris
        "visit_end": datetime(2026, 4, 20, 10, 30, tzinfo=UTC),
        "visit_place": "Atelier de l'Église, 12 rue de l'Église, 69007 Lyon",
        "visit_notes": "Accès par la cour.",
        "visit_sequence": 0,
        "report_text": "Grilles présentées et adoptées.\nSuivi des preuves à consolider.",
        "reported_at": datetime(2026, 4, 21, 14, 0, tzinfo=UTC),
        "cancel_reason": "La structure a retiré sa demande.",
    }
    appui.update(overrides)
    return appui


def sample_appui_context(**appui_overrides: Any) -> dict[str, Any]:
    return sample_letter_context(
        "appui", sample_appui(**appui_overrides), date(2026, 4, 21), action_url="https://cqp.example.org/app/appuis/1"
    )
