"""Sample contexts of the VAE pathway's letters and e-mails."""

from __future__ import annotations

from datetime import date, datetime, UTC
from typing import Any

from documents.samples.common import sample_dossier_context, sample_structure


def sample_vae(**overrides: Any) -> dict[str, Any]:
    """A complete ``vae`` dict (every key any VAE letter or e-mail may use): a request declared
    recevable for two blocs, accompanied, its livret 2 deposited."""
    vae: dict[str, Any] = {
        "reference": "VAE-2026-0001",
        "state": "recevable",
        "state_label": "demande recevable : livret 2 attendu",
        **sample_structure(),
        "certification_title": "CQP Salarié Polyvalent",
        "certification_code": "CQP_SP",
        "candidate_reference": "CAND-2026-00001",
        "candidate_name": "Aïssatou N'Diaye",
        "candidate_sex": "F",
        "candidate_email": "aissatou.ndiaye@example.org",
        "blocs": [
            {"code": "SP1", "title": "Accueillir et informer un client ou un usager"},
            {"code": "SP2", "title": "Réaliser des opérations de manutention et de stockage"},
        ],
        "experience": "Six ans d'activité en ressourcerie <tri & vente>.",
        "filed_at": datetime(2026, 2, 2, 9, 0, tzinfo=UTC),
        "recevabilite_due_on": date(2026, 4, 3),
        "days_left": 5,
        "decision": "recevable",
        "decision_reason": "Expérience de plus d'un an en rapport direct avec les blocs demandés.",
        "decided_at": datetime(2026, 3, 2, 14, 0, tzinfo=UTC),
        "decided_by_name": "Camille Martin",
        "livret2_due_on": date(2026, 5, 31),
        "livret2_name": "livret 2 – Aïssatou N'Diaye.pdf",
        "livret2_deposited_at": datetime(2026, 4, 20, 10, 0, tzinfo=UTC),
        "accompanist_name": "Hélène Dubois",
        "accompanist_organisation": "Centre de bilan de l'Ouest",
        "accompaniment_hours": 20,
    }
    vae.update(overrides)
    return vae


def sample_vae_context(**vae_overrides: Any) -> dict[str, Any]:
    """A letter/e-mail context around :func:`sample_vae`."""
    return sample_dossier_context("vae", sample_vae(**vae_overrides), date(2026, 3, 2), "/app/vae/1")
