"""SIRET validation (14 digits, Luhn checksum; La Poste's establishments use a sum rule)."""

from __future__ import annotations

import re

from certification.errors import ValidationFailed

LA_POSTE_SIREN = "356000000"
_SEPARATORS = re.compile(r"[\s.\-\u00a0\u202f]")


def normalize_siret(raw: str) -> str:
    return _SEPARATORS.sub("", raw or "")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def is_valid_siret(raw: str) -> bool:
    siret = normalize_siret(raw)
    if len(siret) != 14 or not siret.isdigit():
        return False
    if siret.startswith(LA_POSTE_SIREN) and siret != LA_POSTE_SIREN + "00012":
        # La Poste: the establishments' SIRET digits sum to a multiple of 5.
        return sum(int(c) for c in siret) % 5 == 0
    return luhn_ok(siret)


def validate_siret(raw: str) -> str:
    """Return the normalized SIRET or raise ValidationFailed with a French message."""
    siret = normalize_siret(raw)
    if len(siret) != 14 or not siret.isdigit():
        raise ValidationFailed(
            "Le SIRET doit comporter exactement 14 chiffres.", code="invalid_siret", details={"siret": raw}
        )
    if not is_valid_siret(siret):
        raise ValidationFailed(
            "Le SIRET est invalide (clé de contrôle incorrecte).", code="invalid_siret", details={"siret": raw}
        )
    return siret
