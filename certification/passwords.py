"""Password policy of the accounts (created or changed): a minimum length, not a common password,
not the e-mail address. Refusals are French 422 errors (:class:`ValidationFailed`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from certification.errors import ValidationFailed
from certification.settings import get_settings

COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent / "data" / "common_passwords.txt"
MIN_DISTINCT_CHARACTERS = 5


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _is_common(password: str) -> bool:
    lowered = password.lower()
    stem = lowered.rstrip("0123456789!?.*-_@#$ ")  # « password2026! » is « password »
    return lowered in common_passwords() or (stem in common_passwords())


def password_problem(password: str, email: str) -> str | None:
    """Why ``password`` is refused for the account ``email`` (a French sentence), or None."""
    minimum = get_settings().password_min_length
    lowered, address = password.lower(), email.strip().lower()
    local_part = address.split("@", 1)[0]
    if len(password) < minimum:
        return f"Le mot de passe doit comporter au moins {minimum} caractères."
    if len(set(lowered)) < MIN_DISTINCT_CHARACTERS:
        return "Le mot de passe est trop répétitif : variez les caractères."
    if _is_common(password):
        return "Ce mot de passe figure parmi les mots de passe les plus courants ; choisissez-en un autre."
    if lowered == address or (len(local_part) >= 3 and local_part in lowered):
        return "Le mot de passe ne doit pas reprendre l'adresse e-mail du compte."
    return None


def check_password(password: str, email: str) -> None:
    """Raise :class:`ValidationFailed` (422) when ``password`` does not follow the policy."""
    problem = password_problem(password, email)
    if problem is not None:
        raise ValidationFailed(problem, code="weak_password")
