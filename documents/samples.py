"""Sample template contexts: previews, setup checks (render every template) and tests.

The structure name deliberately contains markup, so that any template forgetting to
escape it shows up at once.
"""

from __future__ import annotations

from datetime import date, datetime, UTC
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
        "submitted_at": datetime(2026, 11, 23, 13, 5, tzinfo=UTC),  # 14 h 05 in Paris
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
    return {
        "certifier_name": "Organisme certificateur CQP de la branche des ACI",
        "today": date(2026, 3, 23),
        "controle": sample_controle(**controle_overrides),
        "recipient_name": None,
        "action_url": "https://cqp.example.org/controles/1",
    }


def sample_vae(**overrides: Any) -> dict[str, Any]:
    """A complete ``vae`` dict (every key any VAE letter or e-mail may use): a request declared
    recevable for two blocs, accompanied, its livret 2 deposited."""
    vae: dict[str, Any] = {
        "reference": "VAE-2026-0001",
        "state": "recevable",
        "state_label": "demande recevable : livret 2 attendu",
        "structure_name": SAMPLE_STRUCTURE_NAME,
        "structure_siret": "73282932000074",
        "structure_address": "12 rue de l'Église\n69007 Lyon",
        "structure_email": "contact@aci-exemple.fr",
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
    return {
        "certifier_name": "Organisme certificateur CQP de la branche des ACI",
        "today": date(2026, 3, 2),
        "vae": sample_vae(**vae_overrides),
        "recipient_name": None,
        "action_url": "https://cqp.example.org/app/vae/1",
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


# --- Juries, certificates and recours ------------------------------------------------

SAMPLE_CERTIFIER_NAME = "Organisme certificateur CQP de la branche des ACI"
#: A compound name with accents and an apostrophe, plus markup that must stay text.
SAMPLE_HOLDER_FIRST_NAMES = "Marie-Noëlle"
SAMPLE_HOLDER_LAST_NAME = "O'Brien-Lefèvre <script>"
SAMPLE_OTHER_STRUCTURE_NAME = "Atelier d'insertion « Les Jardins de l'Œuvre »"

SAMPLE_BLOCS = (
    ("BC01", "Accueillir et informer les publics"),
    ("BC02", "Réaliser des travaux d'entretien et de maintenance"),
    ("BC03", "Travailler en équipe & rendre compte de son activité"),
    ("BC04", "Appliquer les règles d'hygiène, de sécurité et de prévention"),
)
BLOC_RESULT_LABELS = {
    "validated": "Validé",
    "not_validated": "Non validé",
    "absent": "Absent",
    "previously_acquired": "Acquis antérieurement",
}
OUTCOME_LABELS = {
    "certified": "Certifié",
    "partial": "Validation partielle",
    "none": "Aucun bloc validé",
    "absent": "Absent",
}
_SAMPLE_LAST_NAMES = ("Martin", "Bernard", "Lefèvre", "Nguyen", "Da Silva", "N'Guessan", "Müller", "Ørsted", "García", "Côté")
_SAMPLE_FIRST_NAMES = ("Zoé", "Jean-Baptiste", "Aïssatou", "Loïc", "Hélène", "François", "Anaïs", "Noël")


def _sample_candidate(index: int) -> dict[str, Any]:
    """Candidate ``index`` (0-based) of :func:`sample_jury`: outcomes cycle over the four cases."""
    outcome = ("certified", "partial", "none", "absent")[index % 4]
    results = {
        "certified": ("validated", "previously_acquired", "validated", "validated"),
        "partial": ("validated", "not_validated", "validated", "not_validated"),
        "none": ("not_validated", "not_validated", "not_validated", "not_validated"),
        "absent": ("absent", "absent", "absent", "absent"),
    }[outcome]
    if index == 0:
        last_name, first_names = SAMPLE_HOLDER_LAST_NAME, SAMPLE_HOLDER_FIRST_NAMES
    elif index == 1:
        last_name, first_names = "<b>Durand</b> & D'Arcy", "Jean-Émile"
    else:
        last_name = f"{_SAMPLE_LAST_NAMES[index % len(_SAMPLE_LAST_NAMES)]}-{index + 1:03d}"
        first_names = _SAMPLE_FIRST_NAMES[index % len(_SAMPLE_FIRST_NAMES)]
    number = None
    if outcome in ("certified", "partial"):
        number = f"SP-2026-{123 + index:06d}"
    return {
        "reference": f"CAND-2026-{index + 1:05d}",
        "last_name": last_name,
        "first_names": first_names,
        "birth_date": date(1980 + index % 25, 1 + index % 12, 1 + index % 28),
        "structure_name": SAMPLE_STRUCTURE_NAME if index % 2 == 0 else SAMPLE_OTHER_STRUCTURE_NAME,
        "blocs": [
            {"code": code, "title": title, "result": result, "result_label": BLOC_RESULT_LABELS[result]}
            for (code, title), result in zip(SAMPLE_BLOCS, results)
        ],
        "outcome": outcome,
        "outcome_label": OUTCOME_LABELS[outcome],
        "certificate_number": number,
        "sex": ("F", "M", None)[index % 3],
        "version_label": "1",
        "version_note": None,  # « version 2 » when the session mixes versions of the référentiel
    }


def sample_jury(n_candidates: int = 3, **overrides: Any) -> dict[str, Any]:
    """A complete ``jury`` dict (PV de jury, jury e-mails) with ``n_candidates`` candidates.

    The first candidate is certified (``SAMPLE_HOLDER_*`` name), the second partially
    validated, the third has no bloc, the fourth was absent, and so on. The PV is signed.
    """
    jury: dict[str, Any] = {
        "reference": "JURY-2026-0001",
        "certification_code": "CQP_SP",
        "certification_title": "CQP Salarié Polyvalent",
        "scheduled_at": datetime(2026, 6, 12, 7, 30, tzinfo=UTC),  # 9 h 30 in Paris (CEST)
        "place": "Maison de l'Emploi, 3 rue de l'Église, 69007 Lyon",
        "video_link": "https://visio.example.org/jury/2026-0001?code=A1&lang=fr",
        "quorum": 3,
        "president_name": "Hélène Lefèvre",
        "members": [
            {"name": "Hélène Lefèvre", "college": "employeur", "college_label": "collège employeurs",
             "is_president": True, "present": True, "sex": "F"},
            {"name": "Jean-Michel D'Arcy", "college": "employeur", "college_label": "collège employeurs",
             "is_president": False, "present": True, "sex": "M"},
            {"name": "Fatoumata Koné", "college": "salarie", "college_label": "collège salariés",
             "is_president": False, "present": True, "sex": None},
            {"name": "Anne-Sophie L'Hôte <em>", "college": "salarie", "college_label": "collège salariés",
             "is_president": False, "present": False, "sex": "F"},
        ],
        "candidates": [_sample_candidate(i) for i in range(n_candidates)],
        "mixed_versions": False,
        "pv_version": 1,
        "pv_signed_at": datetime(2026, 6, 12, 14, 10, tzinfo=UTC),  # 16 h 10 in Paris
        "pv_signed_by": "Hélène Lefèvre",
        "recours_note": None,
    }
    jury.update(overrides)
    return jury


def sample_jury_context(n_candidates: int = 3, **jury_overrides: Any) -> dict[str, Any]:
    """A PV / e-mail context around :func:`sample_jury`."""
    return {
        "certifier_name": SAMPLE_CERTIFIER_NAME,
        "today": date(2026, 6, 12),
        "jury": sample_jury(n_candidates, **jury_overrides),
    }


def sample_certificate(**overrides: Any) -> dict[str, Any]:
    """A complete ``certificate`` dict (parchemin, attestation de blocs, results e-mail).

    ``qr_svg`` is computed from ``verification_url`` unless given.
    """
    from documents.qr import qr_svg

    certificate: dict[str, Any] = {
        "number": "SP-2026-000123",
        "kind": "certificate",
        "kind_label": "Certificat de qualification professionnelle",
        "holder_last_name": SAMPLE_HOLDER_LAST_NAME,
        "holder_first_names": SAMPLE_HOLDER_FIRST_NAMES,
        "holder_birth_date": date(1980, 1, 1),
        "holder_sex": "F",
        "certification_code": "CQP_SP",
        "certification_title": "CQP Salarié Polyvalent",
        "registry_code": "RS6149",
        "blocs": [
            {"code": code, "title": title, "valid_until": None, "equivalence": None,
             "acquired_on": date(2025, 11, 20) if code == "BC02" else date(2026, 6, 12)}
            for code, title in SAMPLE_BLOCS
        ],
        "jury_reference": "JURY-2026-0001",
        "jury_date": date(2026, 6, 12),
        "issued_on": date(2026, 6, 15),
        "verification_url": "https://cqp.example.org/verification/SP-2026-000123",
        "version": 1,
        "duplicate": False,
        "correction_note": None,
        "state": "valid",
    }
    certificate.update(overrides)
    if "qr_svg" not in overrides:
        certificate["qr_svg"] = qr_svg(certificate["verification_url"])
    return certificate


def sample_attestation(**overrides: Any) -> dict[str, Any]:
    """A ``certificate`` dict of kind 'attestation': two blocs acquired, valid five years."""
    values: dict[str, Any] = {
        "number": "SP-2026-000124",
        "kind": "attestation",
        "kind_label": "Attestation de validation de blocs de compétences",
        "blocs": [
            {"code": "BC01", "title": SAMPLE_BLOCS[0][1], "acquired_on": date(2026, 6, 12),
             "valid_until": date(2031, 6, 12), "equivalence": None},
            {"code": "BC03", "title": SAMPLE_BLOCS[2][1], "acquired_on": date(2025, 11, 20),
             "valid_until": date(2030, 11, 20), "equivalence": None},
        ],
        "verification_url": "https://cqp.example.org/verification/SP-2026-000124",
    }
    values.update(overrides)
    return sample_certificate(**values)


def sample_certificate_context(**certificate_overrides: Any) -> dict[str, Any]:
    """A parchemin / attestation context around :func:`sample_certificate`."""
    return {
        "certifier_name": SAMPLE_CERTIFIER_NAME,
        "today": date(2026, 6, 15),
        "certificate": sample_certificate(**certificate_overrides),
    }


def sample_recours(**overrides: Any) -> dict[str, Any]:
    """A complete ``recours`` dict (decision letter, e-mails); decided: rejected."""
    recours: dict[str, Any] = {
        "reference": "REC-2026-0001",
        "candidate_name": f"{SAMPLE_HOLDER_FIRST_NAMES} {SAMPLE_HOLDER_LAST_NAME}",
        "candidate_sex": "F",
        "structure_name": SAMPLE_STRUCTURE_NAME,
        "jury_reference": "JURY-2026-0001",
        "jury_date": date(2026, 6, 12),
        "certification_title": "CQP Salarié Polyvalent",
        "filed_at": datetime(2026, 7, 1, 8, 15, tzinfo=UTC),  # 10 h 15 in Paris
        "grounds": (
            "Le bloc BC02 n'a pas été évalué <b>équitablement</b>.\n"
            "L'évaluateur était mon encadrant & tuteur."
        ),
        "state": "decided",
        "decision": "rejected",
        "decision_reason": (
            "Le jury a réexaminé l'ensemble des preuves du bloc BC02.\n"
            "Aucun lien d'intérêt n'a été établi avec le <i>membre</i> du jury."
        ),
        "deadline": date(2026, 8, 12),
    }
    recours.update(overrides)
    return recours


def sample_recours_context(**recours_overrides: Any) -> dict[str, Any]:
    """A letter / e-mail context around :func:`sample_recours`."""
    return {
        "certifier_name": SAMPLE_CERTIFIER_NAME,
        "today": date(2026, 7, 20),
        "recours": sample_recours(**recours_overrides),
    }


def sample_verification_context(status: str = "valid", **result_overrides: Any) -> dict[str, Any]:
    """A context of the public verification page (``api/templates/verification.html``)."""
    result: dict[str, Any] = {
        "status": status,
        "number": "SP-2026-000123",
        "holder_initials": "M.-N. O.",
        "certification_title": "CQP Salarié Polyvalent",
        "kind_label": "Certificat de qualification professionnelle",
        "issued_on": date(2026, 6, 15),
        "revoked_on": None,
        "revoked_reason": None,
        "blocs": [f"{code} — {title}" for code, title in SAMPLE_BLOCS],
    }
    if status == "revoked":
        result.update(revoked_on=date(2026, 9, 1), revoked_reason="Fraude constatée <b>après</b> délibération.")
    elif status == "unknown":
        result.update(number="SP-2026-<script>", holder_initials=None, certification_title=None,
                      kind_label=None, issued_on=None, blocs=[])
    result.update(result_overrides)
    return {"certifier_name": SAMPLE_CERTIFIER_NAME, "result": result}


# --- EPSP training, appuis pédagogiques, SI CPF and supervision alerts ---------------


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
        "structure_name": SAMPLE_OTHER_STRUCTURE_NAME,
        "structure_siret": "73282932000074",
        "structure_address": "12 rue de l'Église\n69007 Lyon",
        "structure_region": "Auvergne-Rhône-Alpes",
        "structure_email": "contact@aci-exemple.fr",
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
        "structure_name": SAMPLE_OTHER_STRUCTURE_NAME,
        "structure_siret": "73282932000074",
        "structure_address": "12 rue de l'Église\n69007 Lyon",
        "structure_region": "Auvergne-Rhône-Alpes",
        "structure_email": "contact@aci-exemple.fr",
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
    return {
        "certifier_name": SAMPLE_CERTIFIER_NAME,
        "today": date(2026, 4, 21),
        "action_url": "https://cqp.example.org/app/appuis/1",
        "appui": sample_appui(**appui_overrides),
    }


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
            {"technical_id": "SP-2026-000123", "holder": "Hugo ERNAUX", "issued_on": date(2026, 3, 2),
             "due_on": date(2026, 6, 2), "days_left": -3, "overdue": True, "state_label": "à transmettre",
             "held_reason": None, "error_message": None, "awaiting_report": False, "batch": None,
             "batch_produced_on": None, "batch_deposited_on": None},
            {"technical_id": "SP-2026-000124", "holder": "Éloïse N'DIAYE-LEFÈVRE", "issued_on": date(2026, 3, 20),
             "due_on": date(2026, 6, 20), "days_left": 15, "overdue": False, "state_label": "retenu",
             "held_reason": "Date de naissance du titulaire manquante.", "error_message": "Nom inconnu",
             "awaiting_report": False, "batch": None, "batch_produced_on": None, "batch_deposited_on": None},
            {"technical_id": "SP-2026-000125", "holder": "Zoë ÆRØSKØBING", "issued_on": date(2026, 3, 1),
             "due_on": date(2026, 6, 1), "days_left": -4, "overdue": True,
             "state_label": "transmis, en attente du compte rendu", "held_reason": None, "error_message": None,
             "awaiting_report": True, "batch": "CPF-SP-2026-0001", "batch_produced_on": date(2026, 5, 4),
             "batch_deposited_on": None},
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
    return {
        "certifier_name": SAMPLE_CERTIFIER_NAME,
        "today": date(2026, 5, 19),
        "action_url": "https://cqp.example.org/app/",
        "cpf": sample_cpf(**cpf_overrides),
    }


def sample_alert(**overrides: Any) -> dict[str, Any]:
    """An ``alert`` dict holding the keys of both supervision e-mails (``flows.monitoring``): a flow
    failing in a row (``alerte_flux``) and an undeliverable message (``alerte_courriel``)."""
    alert: dict[str, Any] = {
        "process": "jury",
        "process_label": "Session de jury",
        "entity_id": 1,
        "failures": 3,
        "error": "Dossier de documents non accessible en écriture : /var/lib/cqp/documents",
        "since": datetime(2026, 6, 12, 15, 0, tzinfo=UTC),
        "subject": "[JURY-2026-0001] Résultats du jury du 12 juin 2026 : Éloïse N'Diaye-Lefèvre",
        "attempts": 5,
        "status": "pending",
        "created_at": datetime(2026, 6, 12, 15, 5, tzinfo=UTC),
    }
    alert.update(overrides)
    return alert


def sample_alert_context(**alert_overrides: Any) -> dict[str, Any]:
    return {
        "certifier_name": SAMPLE_CERTIFIER_NAME,
        "today": date(2026, 6, 13),
        "action_url": "https://cqp.example.org/app/",
        "mail_reference": "jury:1",
        "alert": sample_alert(**alert_overrides),
    }


def sample_activity_context() -> dict[str, Any]:
    """The yearly activity report (page and PDF) of two years and three regions."""
    from certification.services.reporting import ActivityReport, ActivityRow
    from documents.activity_report import activity_context

    totals = [ActivityRow(2025, None, 120, 20, 8, 1, 300, 40), ActivityRow(2026, None, 130, 22, 9, 2, 310, 45)]
    regions = [ActivityRow(2026, "Auvergne-Rhône-Alpes", 50, 9, 4, 1, 120, 15),
               ActivityRow(2026, "Île-de-France", 60, 10, 3, 1, 140, 20),
               ActivityRow(2026, "Occitanie", 20, 3, 2, 0, 50, 10)]
    return activity_context(ActivityReport(years=[2025, 2026], totals=totals, regions=regions,
                                           appuis_available=True, year=2026))
