"""Users, passwords and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlmodel import Session, select

from certification.clock import as_utc, now
from certification.errors import Conflict, ValidationFailed
from certification.models import ApiToken, Role, User

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt_hex, digest_hex = stored.split("$")
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session,
    *,
    email: str,
    full_name: str,
    role: Role | str,
    password: str | None = None,
    structure_id: int | None = None,
    sex: str | None = None,
) -> User:
    email = email.strip().lower()
    if "@" not in email:
        raise ValidationFailed("Adresse e-mail invalide.", code="invalid_email")
    role = Role(role)
    if role is Role.system:
        raise ValidationFailed("Le rôle « system » est réservé.", code="invalid_role")
    if role is Role.structure and structure_id is None:
        raise ValidationFailed("Un compte structure doit être rattaché à une structure.", code="structure_required")
    if sex not in (None, "M", "F"):
        raise ValidationFailed("Sexe invalide : « M » (masculin) ou « F » (féminin).", code="invalid_sex")
    if session.exec(select(User).where(User.email == email)).first():
        raise Conflict(f"Un compte existe déjà pour {email}.", code="duplicate_user")
    user = User(
        email=email,
        full_name=full_name.strip(),
        role=role.value,
        structure_id=structure_id,
        sex=sex,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    return user


def issue_token(session: Session, user: User, *, ttl_hours: int | None = 12, label: str = "") -> str:
    """Create an opaque bearer token; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=_token_hash(token),
            label=label,
            expires_at=now() + timedelta(hours=ttl_hours) if ttl_hours else None,
        )
    )
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _token_hash(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and as_utc(row.expires_at) <= now():
        return None
    user = session.get(User, row.user_id)
    return user if user and user.active else None


def login(session: Session, email: str, password: str, *, ttl_hours: int) -> tuple[User, str] | None:
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None or not user.active or not verify_password(password, user.password_hash):
        return None
    return user, issue_token(session, user, ttl_hours=ttl_hours, label="login")
