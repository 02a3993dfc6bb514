"""Request dependencies: authentication and role checks (enforced server side on every endpoint)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from certification.audit import Actor
from certification.db import session_scope
from api.errors import Unauthorized
from certification.errors import Forbidden
from certification.models import Role, User
from certification.services.users import user_for_token

bearer = HTTPBearer(auto_error=False, description="Jeton obtenu par POST /auth/token")


@dataclass(frozen=True)
class Principal:
    user: User
    actor: Actor


def current_principal(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Authentification requise (en-tête Authorization: Bearer <jeton>).")
    with session_scope() as db:
        user = user_for_token(db, credentials.credentials)
    if user is None:
        raise Unauthorized("Jeton invalide ou expiré.")
    return Principal(user, Actor.of(user))


def require(*roles: Role) -> Callable[..., Principal]:
    """Dependency allowing only ``roles``."""

    def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        if principal.actor.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"Action réservée aux rôles : {allowed}.", code="role_not_allowed")
        return principal

    dependency.roles = roles
    return dependency


def idempotency_key(
    key: str | None = Header(
        default=None,
        alias="Idempotency-Key",
        max_length=200,
        description="Clé unique choisie par le client : un nouvel envoi avec la même clé rejoue la réponse.",
    ),
) -> str | None:
    return key.strip() if key else None


# The principals of the most common role sets, as typed parameters: ``principal: Officer``.
Officer = Annotated[Principal, Depends(require(Role.officer))]
StructureOrOfficer = Annotated[Principal, Depends(require(Role.structure, Role.officer))]
OfficerOrJuryMember = Annotated[Principal, Depends(require(Role.officer, Role.jury_member))]
Mandataire = Annotated[Principal, Depends(require(Role.mandataire))]
ControleurOrOfficer = Annotated[Principal, Depends(require(Role.controleur, Role.officer))]
FormateurOrOfficer = Annotated[Principal, Depends(require(Role.formateur, Role.officer))]
