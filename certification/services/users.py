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
from certification.passwords import check_password

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


# Hashed for an unknown address, so that a login takes as long whether the address exists or not.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    db: Session,
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
    if password:
        check_password(password, email)
    if db.exec(select(User).where(User.email == email)).first():
        raise Conflict(f"Un compte existe déjà pour {email}.", code="duplicate_user")
    user = User(
        email=email,
        full_name=full_name.strip(),
        role=role.value,
        structure_id=structure_id,
        sex=sex,
        password_hash=hash_password(password) if password else None,
    )
    db.add(user)
    db.flush()
    return user


def issue_token(db: Session, user: User, *, ttl_hours: int | None = 12, label: str = "") -> str:
    """Create an opaque bearer token; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    db.add(
        ApiToken(
            user_id=user.id,
            token_hash=_token_hash(token),
            label=label,
            expires_at=now() + timedelta(hours=ttl_hours) if ttl_hours else None,
        )
    )
    db.flush()
    return token


def user_for_token(db: Session, token: str) -> User | None:
    row = db.exec(select(ApiToken).where(ApiToken.token_hash == _token_hash(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and as_utc(row.expires_at) <= now():
        return None
    user = db.get(User, row.user_id)
    return user if user and user.active else None


def login(db: Session, email: str, password: str, *, ttl_hours: int) -> tuple[User, str] | None:
    user = db.exec(select(User).where(User.email == email.strip().lower())).first()
    # The password is hashed in every case (a dummy hash for an unknown address or an account
    # without password), so that the answer's timing does not tell which addresses exist.
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    matches = verify_password(password, stored)
    if user is None or not user.active or not user.password_hash or not matches:
        return None
    return user, issue_token(db, user, ttl_hours=ttl_hours, label="login")


def change_password(db: Session, user: User, current: str, new: str) -> None:
    """Change ``user``'s password after checking the current one; the policy applies to the new one.
    Every other token of the user stays valid (revoke them explicitly)."""
    if not verify_password(current, user.password_hash):
        raise ValidationFailed("Le mot de passe actuel est incorrect.", code="bad_current_password")
    check_password(new, user.email)
    user.password_hash = hash_password(new)
    db.add(user)
    db.flush()


def revoke_token(db: Session, token: str) -> bool:
    """Revoke one bearer token (logout). False when it was unknown or already revoked."""
    row = db.exec(select(ApiToken).where(ApiToken.token_hash == _token_hash(token))).first()
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now()
    db.add(row)
    db.flush()
    return True


def revoke_user_tokens(db: Session, user_id: int) -> int:
    """Revoke every live token of a user (stolen token, departure); returns how many."""
    rows = db.exec(select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))).all()
    at = now()
    for row in rows:
        row.revoked_at = at
        db.add(row)
    db.flush()
    return len(rows)
