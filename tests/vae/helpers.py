"""Builders of the VAE tests: candidates on the VAE pathway, through the real services."""

from __future__ import annotations

from datetime import date

from certification.db import session_scope
from certification.candidates import service as cand


def register_vae(structure: dict, *, last_name: str = "N'Diaye", first_names: str = "Aïssatou",
                 pathway: str = "vae", email: str = "aissatou@example.org") -> int:
    """A CQP SP candidate registered by ``structure`` on the VAE pathway (through the service)."""
    with session_scope() as db:
        return cand.register_candidate(
            db, structure["actor"], certification_code="CQP_SP", last_name=last_name, first_names=first_names,
            birth_date=date(1985, 4, 2), contract_type="CDDI", contract_start=date(2026, 1, 5), sex="F",
            email=email, pathway=pathway,
        ).id
