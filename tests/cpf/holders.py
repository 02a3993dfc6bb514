"""What every SI CPF export test starts from: an agréée structure's account and CQP SP registered
under an RNCP/RS code (the certifications without one are not declared)."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from certification.db import session_scope
from certification.models import Certification
from tests.factories import grant_agrement, siret, structure_account


def registered_structure(people: dict[str, Any], code: str) -> dict[str, Any]:
    """The account of an agréée structure, once CQP SP is registered under ``code``."""
    grant_agrement(people, 1)
    structure = structure_account(people, siret(1))
    with session_scope() as s:
        cert = s.exec(select(Certification).where(Certification.code == "CQP_SP")).one()
        cert.registry_code = code
        s.add(cert)
    return structure
