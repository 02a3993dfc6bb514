"""Build the template context of an agrément request (documents and e-mails share it), and what
every process's context shares: its head (:func:`letter_context`) and the structure's part."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from certification.clock import today
from certification.models import Certification, Structure, User
from certification.agrement.read_model import RequestView
from certification.agrement.states import PIECE_KINDS
from certification.settings import get_settings


def letter_context(page: str | None = None, **dossier: dict[str, Any]) -> dict[str, Any]:
    """The context of a process's letters and e-mails: the certifier's name, today, the dossier's
    back-office ``page`` (``/app/…``) as ``action_url`` when it has one, then the ``dossier`` as
    its templates name it (``controle={...}``)."""
    settings = get_settings()
    head: dict[str, Any] = {"certifier_name": settings.certifier_name, "today": today()}
    if page is not None:
        head["action_url"] = f"{settings.public_base_url}{page}"
    return {**head, **dossier}


def structure_fields(structure: Structure) -> dict[str, str]:
    """A structure as the letters and e-mails of every process name it (``structure_name``,
    ``structure_siret``, ``structure_address``, ``structure_region``, ``structure_email``)."""
    return {
        "structure_name": structure.name,
        "structure_siret": structure.siret,
        "structure_address": structure.address,
        "structure_region": structure.region,
        "structure_email": structure.email,
    }


def state_fields(dossier: Any, labels: Mapping[Any, str]) -> dict[str, str]:
    """A dossier's state as its letters and e-mails show it: ``state`` (the code) and ``state_label``
    (its French label in ``labels``, the process's)."""
    return {"state": dossier.state, "state_label": labels[dossier.state]}


def certification_fields(cert: Certification) -> dict[str, str]:
    """A certification as the letters and e-mails of every process name it (``certification_code``,
    ``certification_title``)."""
    return {"certification_code": cert.code, "certification_title": cert.title}


def person_fields(key: str, user: User | None) -> dict[str, str | None]:
    """A person as the letters and e-mails name them: ``<key>_name``, ``<key>_email`` and ``<key>_sex``
    (M | F, for the agreement: « contrôleur »/« contrôleuse »), all None when nobody holds the part yet."""
    return {
        f"{key}_name": user.full_name if user else None,
        f"{key}_email": user.email if user else None,
        f"{key}_sex": user.sex if user else None,
    }


def request_context(view: RequestView, round: int | None = None) -> dict[str, Any]:
    """The request as its letters and e-mails show it, mapped from its read model
    (:mod:`certification.agrement.read_model`); ``round``: the submission round they are about
    (default: the current one), so that a round's accusé de réception lists its own pieces."""
    request, cert, mandataire, agrement = view.request, view.certification, view.mandataire, view.agrement
    round = round or request.round
    titles = view.bloc_titles
    return letter_context(
        request={
            "id": request.id,
            "reference": request.reference,
            "kind": request.kind,
            "state": request.state,
            "round": round,
            **structure_fields(view.structure),
            **certification_fields(cert),
            "mandataire_name": mandataire.full_name,
            "mandataire_email": mandataire.email,
            "submitted_at": view.submitted_at(round),
            "pieces": [
                {
                    "filename": p.original_name,
                    "sha256": p.sha256,
                    "size": p.size,
                    "kind_label": PIECE_KINDS.get(p.kind, p.kind),
                }
                for p in view.pieces_of_round(round)
            ],
            "complement_request": request.complement_request,
            "complements_deadline": request.complements_deadline,
            "avis": request.avis,
            "avis_comment": request.avis_comment,
            "avis_deadline": request.avis_deadline,
            "decision_reason": request.decision_reason,
            "agrement_number": agrement.number if agrement else None,
            "start_date": agrement.start_date if agrement else None,
            "end_date": agrement.end_date if agrement else None,
            "scope": [f"{code} — {titles[code]}" if code in titles else code for code in view.scope],
        },
    )
