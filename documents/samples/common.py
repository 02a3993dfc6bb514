"""Sample contexts shared by every process: the agrément, the juries and certificates, the
verification page, the supervision alerts and the activity report (the others: one module per
process beside this one)."""

from __future__ import annotations

from datetime import date, datetime, UTC
from typing import Any

SAMPLE_STRUCTURE_NAME = "<script>alert('x')</script> & Fils"
SAMPLE_CERTIFIER_NAME = "Organisme certificateur CQP de la branche des ACI"
SAMPLE_SITE = "https://cqp.example.org"


def sample_structure(name: str = SAMPLE_STRUCTURE_NAME) -> dict[str, str]:
    """A structure as the letters and e-mails name it (the keys of ``flows.context.structure_fields``)."""
    return {
        "structure_name": name,
        "structure_siret": "73282932000074",
        "structure_address": "12 rue de l'Église\n69007 Lyon",
        "structure_region": "Auvergne-Rhône-Alpes",
        "structure_email": "contact@aci-exemple.fr",
    }


def sample_letter_context(key: str, sample: dict[str, Any], today: date, **extra: Any) -> dict[str, Any]:
    """A letter/e-mail context: the certifier, the day of the letter, a process's ``sample`` dict
    under ``key``, and the ``extra`` variables of its templates (``action_url``, ``recipient_name``...)."""
    return {"certifier_name": SAMPLE_CERTIFIER_NAME, "today": today, key: sample, **extra}


def sample_dossier_context(key: str, sample: dict[str, Any], today: date, path: str, **extra: Any) -> dict[str, Any]:
    """:func:`sample_letter_context` of a dossier's letter or e-mail: no named recipient, and the
    link to the dossier's page ``path`` on the sample site."""
    return sample_letter_context(key, sample, today, recipient_name=None, action_url=f"{SAMPLE_SITE}{path}", **extra)


def sample_request(**overrides: Any) -> dict[str, Any]:
    """A complete ``request`` dict (every key any letter or e-mail may use)."""
    request: dict[str, Any] = {
        "reference": "AGR-2026-00001",
        **sample_structure(),
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
    request, deadlines = sample_request(**request_overrides), {"days_left": 5, "avis_deadline": date(2026, 12, 14)}
    return sample_dossier_context("request", request, date(2026, 11, 23), "/agrement-requests/1", **deadlines)


def sample_agrement(**overrides: Any) -> dict[str, Any]:
    """A complete ``agrement`` dict (lifecycle e-mails: échéance, expiration, suspension...)."""
    agrement: dict[str, Any] = {
        "number": "AGR-CQP_SP-2026-0001",
        **sample_structure(),
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
    return sample_dossier_context("agrement", sample_agrement(**agrement_overrides), date(2028, 12, 1), "/agrements/1")


# --- Juries, certificates and recours ------------------------------------------------

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
_SAMPLE_LAST_NAMES = (
    "Martin",
    "Bernard",
    "Lefèvre",
    "Nguyen",
    "Da Silva",
    "N'Guessan",
    "Müller",
    "Ørsted",
    "García",
    "Côté",
)
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
            {
                "name": "Hélène Lefèvre",
                "college": "employeur",
                "college_label": "collège employeurs",
                "is_president": True,
                "present": True,
                "sex": "F",
            },
            {
                "name": "Jean-Michel D'Arcy",
                "college": "employeur",
                "college_label": "collège employeurs",
                "is_president": False,
                "present": True,
                "sex": "M",
            },
            {
                "name": "Fatoumata Koné",
                "college": "salarie",
                "college_label": "collège salariés",
                "is_president": False,
                "present": True,
                "sex": None,
            },
            {
                "name": "Anne-Sophie L'Hôte <em>",
                "college": "salarie",
                "college_label": "collège salariés",
                "is_president": False,
                "present": False,
                "sex": "F",
            },
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
    return sample_letter_context("jury", sample_jury(n_candidates, **jury_overrides), date(2026, 6, 12))


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
            {
                "code": code,
                "title": title,
                "valid_until": None,
                "equivalence": None,
                "acquired_on": date(2025, 11, 20) if code == "BC02" else date(2026, 6, 12),
            }
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
            {
                "code": "BC01",
                "title": SAMPLE_BLOCS[0][1],
                "acquired_on": date(2026, 6, 12),
                "valid_until": date(2031, 6, 12),
                "equivalence": None,
            },
            {
                "code": "BC03",
                "title": SAMPLE_BLOCS[2][1],
                "acquired_on": date(2025, 11, 20),
                "valid_until": date(2030, 11, 20),
                "equivalence": None,
            },
        ],
        "verification_url": "https://cqp.example.org/verification/SP-2026-000124",
    }
    values.update(overrides)
    return sample_certificate(**values)


def sample_certificate_context(**certificate_overrides: Any) -> dict[str, Any]:
    """A parchemin / attestation context around :func:`sample_certificate`."""
    return sample_letter_context("certificate", sample_certificate(**certificate_overrides), date(2026, 6, 15))


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
            "Le bloc BC02 n'a pas été évalué <b>équitablement</b>.\nL'évaluateur était mon encadrant & tuteur."
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
    return sample_letter_context("recours", sample_recours(**recours_overrides), date(2026, 7, 20))


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
        result.update(
            number="SP-2026-<script>",
            holder_initials=None,
            certification_title=None,
            kind_label=None,
            issued_on=None,
            blocs=[],
        )
    result.update(result_overrides)
    return {"certifier_name": SAMPLE_CERTIFIER_NAME, "result": result}


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
    alert, links = sample_alert(**alert_overrides), {"action_url": f"{SAMPLE_SITE}/app/", "mail_reference": "jury:1"}
    return sample_letter_context("alert", alert, date(2026, 6, 13), **links)


def sample_activity_context() -> dict[str, Any]:
    """The yearly activity report (page and PDF) of two years and three regions."""
    from certification.reporting.queries import ActivityReport, ActivityRow
    from documents.activity_report import activity_context

    totals = [ActivityRow(2025, None, 120, 20, 8, 1, 300, 40), ActivityRow(2026, None, 130, 22, 9, 2, 310, 45)]
    regions = [
        ActivityRow(2026, "Auvergne-Rhône-Alpes", 50, 9, 4, 1, 120, 15),
        ActivityRow(2026, "Île-de-France", 60, 10, 3, 1, 140, 20),
        ActivityRow(2026, "Occitanie", 20, 3, 2, 0, 50, 10),
    ]
    return activity_context(
        ActivityReport(years=[2025, 2026], totals=totals, regions=regions, appuis_available=True, year=2026)
    )
