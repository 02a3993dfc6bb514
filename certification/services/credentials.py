"""Open Badges 3.0 credentials: one per certificate (the certification) and one per bloc it
carries, signed by the certifier as VC-JWT (EdDSA, Ed25519), revocable through a W3C Bitstring
Status List, verifiable by anyone.

Called from :mod:`certification.jury.issuance` inside the transaction that issues, corrects
or revokes the certificate, so the credential rows and the status bits never disagree with the
certificate register. The status list is derived from the ``revoked_at`` of the rows: a bit is
set in the same transaction as the revocation.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import secrets
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import OKPKey
from sqlmodel import Session, select

from certification import keys
from certification.audit import SYSTEM, record_on
from certification.clock import now
from certification.candidates.models import Candidate
from certification.models import Certification, CertificationVersion
from certification.jury.models import BlocAcquisition, Certificate
from certification.models_credentials import Credential
from certification.numbering import next_value
from certification.services.referential import (
    bloc_titles,
    blocs_of,
    parse_registry_code,
    version_of,
    version_registry_code,
    version_title,
)
from certification.settings import get_settings

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
TYPES = ["VerifiableCredential", "OpenBadgeCredential"]
STATUS_LIST_BITS = 131072  # 16 KiB, the minimum size of a Bitstring Status List (herd privacy)
ALGORITHM = "EdDSA"
ENTITY = Certificate.__tablename__

MESSAGES = {
    "valid": "Ce justificatif numérique est valide : il a été délivré et signé par le certificateur.",
    "revoked": "Ce justificatif numérique a été révoqué par le certificateur : il ne vaut plus attestation.",
    "altered": "Ce justificatif numérique a été altéré ou n'est pas lisible : sa signature ne correspond pas "
               "à son contenu.",
    "unknown_issuer": "Émetteur inconnu : ce justificatif n'a pas été signé par une clé du certificateur.",
    "expired": "Ce justificatif numérique n'est plus en cours de validité.",
    "not_yet_valid": "Ce justificatif numérique n'est pas encore en vigueur.",
}
LABELS = {"valid": "valide", "revoked": "révoqué", "altered": "altéré", "unknown_issuer": "émetteur inconnu",
          "expired": "expiré", "not_yet_valid": "pas encore en vigueur"}


# --- public URLs ------------------------------------------------------------------------------------


def base_url() -> str:
    return get_settings().public_base_url.rstrip("/")


def issuer_id() -> str:
    return f"{base_url()}/credentials/issuer"


def status_list_url() -> str:
    return f"{base_url()}/credentials/status/1"


def achievement_id(certification_code: str, bloc_code: str | None = None) -> str:
    tail = f"/{bloc_code}" if bloc_code else ""
    return f"{base_url()}/credentials/achievements/{certification_code}{tail}"


def issuer_profile() -> dict[str, Any]:
    settings = get_settings()
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": issuer_id(), "type": ["Profile"], "name": settings.certifier_name, "url": base_url(),
        "email": settings.officers_mailbox,
        "description": "Certificateur des CQP de la branche des ateliers et chantiers d'insertion.",
        "otherIdentifier": [{"type": "IdentifierEntry", "identifier": f"{base_url()}/.well-known/jwks.json",
                             "identifierType": "identifier"}],
    }


# --- achievements (from the référentiel) ---------------------------------------------------------


def _alignment(cert: Certification, version: CertificationVersion | None = None) -> list[dict[str, Any]]:
    parsed = parse_registry_code(version_registry_code(cert, version))
    if parsed is None:
        return []
    registry, code = parsed
    number = code.removeprefix(registry)
    url = f"https://www.francecompetences.fr/recherche/{registry.lower()}/{number}/"
    return [{"type": ["Alignment"], "targetName": f"{version_title(cert, version)} ({code})", "targetUrl": url,
             "targetCode": code, "targetFramework": "Répertoire national des certifications professionnelles"
             if registry == "RNCP" else "Répertoire spécifique", "targetType": "ext:FranceCompetences"}]


def achievement(cert: Certification, bloc_code: str | None, bloc_title: str | None,
                version: CertificationVersion | None = None) -> dict[str, Any]:
    """The achievement definition of a certification or of one of its blocs, as ``version`` of its
    référentiel words it (its title and record; the certification's when None)."""
    title = version_title(cert, version)
    if bloc_code is None:
        name, kind = title, "Certificate"
        description = f"Certificat de qualification professionnelle « {title} », délivré par " \
                      f"{get_settings().certifier_name} lorsque tous les blocs de compétences sont acquis."
        narrative = "Tous les blocs de compétences du référentiel validés par un jury paritaire, au vu des " \
                    "évaluations réalisées en situation de production."
    else:
        name, kind = f"{bloc_code} — {bloc_title}", "Competency"
        description = f"Bloc de compétences {bloc_code} du {title} : {bloc_title}."
        narrative = f"Bloc de compétences « {bloc_title} » validé par un jury paritaire, au vu des évaluations " \
                    "réalisées en situation de production selon les critères du référentiel."
    return {
        "id": achievement_id(cert.code, bloc_code), "type": ["Achievement"], "achievementType": kind,
        "name": name, "description": description, "criteria": {"narrative": narrative},
        "humanCode": bloc_code or cert.code, "inLanguage": "fr",
        "creator": {"id": issuer_id(), "type": ["Profile"], "name": get_settings().certifier_name},
        **({"alignment": _alignment(cert, version)} if _alignment(cert, version) else {}),
    }


def achievements_of(db: Session, cert: Certification) -> list[dict[str, Any]]:
    return [achievement(cert, None, None)] + [achievement(cert, b.code, b.title) for b in blocs_of(db, cert.id)]


# --- signing --------------------------------------------------------------------------------------


def _sign(payload: dict[str, Any]) -> tuple[str, str]:
    key = keys.signing_key()
    jwk = _jwk(key.kid, key)
    header = {"alg": ALGORITHM, "kid": key.kid, "typ": "JWT"}
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    with _eddsa():
        return jws.serialize_compact(header, data, jwk, algorithms=[ALGORITHM]), key.kid


_jwks: dict[str, OKPKey] = {}


def _jwk(kid: str, key: keys.CredentialKey) -> OKPKey:
    """The signing key as a JWK, imported once per key (a key id names one key for good)."""
    jwk = _jwks.get(kid)
    if jwk is None:
        jwk = _jwks[kid] = OKPKey.import_key(_private_pem(key))
    return jwk


@contextmanager
def _eddsa() -> Iterator[None]:
    """RFC 9864 deprecates "EdDSA" in favour of "Ed25519"; Open Badges 3.0 verifiers and wallets
    expect "EdDSA", so joserfc's warning is silenced where we use it on purpose."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)
        yield


def _private_pem(key: keys.CredentialKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _identity(candidate: Candidate, holder_name: str) -> list[dict[str, Any]]:
    """The recipient as OB 3.0 allows without publishing the e-mail: a salted SHA-256 hash of it,
    and the name in clear (the name is printed on the certificate anyway)."""
    out = []
    email = (candidate.email or "").strip().lower()
    if email:
        salt = secrets.token_hex(8)
        out.append({"type": "IdentityObject", "identityType": "emailAddress", "hashed": True, "salt": salt,
                    "identityHash": "sha256$" + hashlib.sha256((email + salt).encode()).hexdigest()})
    out.append({"type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": holder_name})
    return out


def _valid_until(db: Session, row: Certificate, bloc_code: str | None) -> date | None:
    """An attestation's blocs count 5 years (partial validation); a certificate does not expire."""
    if row.kind != "attestation" or bloc_code is None:
        return None
    acquisition = db.exec(select(BlocAcquisition).where(
        BlocAcquisition.candidate_id == row.candidate_id, BlocAcquisition.bloc_code == bloc_code,
        BlocAcquisition.session_id == row.session_id)).first()
    return acquisition.valid_until if acquisition else None


def build_credential(db: Session, row: Certificate, bloc_code: str | None, bloc_title: str | None,
                     *, credential_uuid: str, status_index: int, issued: datetime) -> dict[str, Any]:
    cert = db.get(Certification, row.certification_id)
    candidate = db.get(Candidate, row.candidate_id)
    holder = f"{row.holder_first_names} {row.holder_last_name}"
    definition = achievement(cert, bloc_code, bloc_title, version_of(db, candidate))
    valid_from = datetime.combine(row.issued_on, time(0, 0), tzinfo=UTC)
    until = _valid_until(db, row, bloc_code)
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": f"urn:uuid:{credential_uuid}",
        "type": TYPES,
        "name": definition["name"],
        "issuer": {"id": issuer_id(), "type": ["Profile"], "name": get_settings().certifier_name, "url": base_url()},
        "validFrom": _iso(valid_from),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": _identity(candidate, holder),
            "achievement": definition,
            "activityEndDate": _iso(valid_from),
            "licenseNumber": row.number,
        },
        "credentialStatus": {
            "id": f"{status_list_url()}#{status_index}", "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation", "statusListIndex": str(status_index),
            "statusListCredential": status_list_url(),
        },
        "evidence": [{"type": ["Evidence"], "name": f"Décision du jury, document n° {row.number}",
                      "id": f"{base_url()}/verify/{row.number}"}],
    }
    if until is not None:
        credential["validUntil"] = _iso(datetime.combine(until, time(23, 59, 59), tzinfo=UTC))
    # VC-JWT (OB 3.0 §8.2): the credential is the payload, with the registered claims beside it.
    credential.update({"iss": issuer_id(), "jti": credential["id"], "nbf": int(valid_from.timestamp()),
                       "iat": int(issued.timestamp())})
    if until is not None:
        credential["exp"] = int(datetime.combine(until, time(23, 59, 59), tzinfo=UTC).timestamp())
    return credential


# --- issuance, re-issue, revocation ---------------------------------------------------------------


def _achievements_for(db: Session, row: Certificate) -> list[tuple[str | None, str | None]]:
    titles = bloc_titles(db, db.get(Candidate, row.candidate_id))  # the holder's version
    blocs = [(code, titles.get(code, code)) for code in row.blocs]
    return ([(None, None)] if row.kind == "certificate" else []) + blocs


def credentials_of(db: Session, certificate_id: int, *, version: int | None = None) -> list[Credential]:
    query = select(Credential).where(Credential.certificate_id == certificate_id)
    if version is not None:
        query = query.where(Credential.certificate_version == version)
    return list(db.exec(query.order_by(Credential.id)))


def issue(db: Session, row: Certificate, *, new: bool = False) -> list[Credential]:
    """The credentials of the certificate's current version, once (re-running returns the same).
    ``new``: the certificate was created by this transaction, so it has none yet."""
    existing = [] if new else credentials_of(db, row.id, version=row.version)
    if existing:
        return existing
    cert = db.get(Certification, row.certification_id)
    issued = now()
    out = []
    achievements = _achievements_for(db, row)
    first = next_value(db, "credential-status", 0, count=len(achievements)) - len(achievements)
    for index, (bloc_code, bloc_title) in enumerate(achievements, start=first):
        if index >= STATUS_LIST_BITS:  # pragma: no cover - 131,072 credentials: a second list is needed
            raise RuntimeError("the revocation status list is full")
        credential_uuid = str(uuid.uuid4())
        payload = build_credential(db, row, bloc_code, bloc_title, credential_uuid=credential_uuid,
                                   status_index=index, issued=issued)
        token, kid = _sign(payload)
        credential = Credential(certificate_id=row.id, certificate_version=row.version, bloc_code=bloc_code,
                                achievement_key=bloc_code or cert.code, credential_uuid=credential_uuid,
                                status_index=index, kid=kid, jwt=token, issued_at=issued)
        db.add(credential)
        out.append(credential)
    db.flush()
    issued_now = {"credentials": [c.achievement_key for c in out], "status_indexes": [c.status_index for c in out]}
    record_on(db, row, "credentials_issued", SYSTEM, data={"version": row.version, **issued_now})
    return out


def revoke(db: Session, row: Certificate, reason: str, *, before_version: int | None = None) -> int:
    """Set the status bits of the certificate's credentials (of the versions before ``before_version``
    if given); returns how many were revoked."""
    query = select(Credential).where(Credential.certificate_id == row.id, Credential.revoked_at.is_(None))
    if before_version is not None:
        query = query.where(Credential.certificate_version < before_version)
    revoked = list(db.exec(query))
    at = now()
    for credential in revoked:
        credential.revoked_at, credential.revoked_reason = at, reason
        db.add(credential)
    if revoked:
        db.flush()
        revoked_now = {"reason": reason, "status_indexes": [c.status_index for c in revoked]}
        record_on(db, row, "credentials_revoked", SYSTEM, data=revoked_now)
    return len(revoked)


# --- the status list ------------------------------------------------------------------------------


def revoked_indexes(db: Session) -> list[int]:
    return list(db.exec(select(Credential.status_index).where(Credential.revoked_at.is_not(None))))


def encode_bitstring(indexes: list[int]) -> str:
    """W3C Bitstring Status List: bit i is bit (7 - i % 8) of byte i // 8, GZIP, multibase base64url."""
    bits = bytearray(STATUS_LIST_BITS // 8)
    for index in indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode()


def decode_bitstring(encoded: str) -> bytes:
    data = encoded.removeprefix("u")
    return gzip.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))


def bit_is_set(bitstring: bytes, index: int) -> bool:
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(db: Session) -> dict[str, Any]:
    moment = now()
    return {
        "@context": [VC_CONTEXT],
        "id": status_list_url(),
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_id(),
        "validFrom": _iso(moment),
        "credentialSubject": {"id": f"{status_list_url()}#list", "type": "BitstringStatusList",
                              "statusPurpose": "revocation", "encodedList": encode_bitstring(revoked_indexes(db))},
        "iss": issuer_id(), "jti": status_list_url(), "nbf": int(moment.timestamp()) - 1,
        "iat": int(moment.timestamp()),
    }


def signed_status_list(db: Session) -> str:
    return _sign(status_list_credential(db))[0]


# --- verification ---------------------------------------------------------------------------------


@dataclass
class CredentialCheck:
    status: str  # valid | revoked | altered | unknown_issuer | expired | not_yet_valid
    message: str
    label: str
    credential: dict[str, Any] | None = None
    kid: str | None = None
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, Any]:
        credential = self.credential or {}
        subject = credential.get("credentialSubject") or {}
        names = [i.get("identityHash") for i in subject.get("identifier", []) if i.get("identityType") == "name"]
        return {"achievement": (subject.get("achievement") or {}).get("name"), "holder": names[0] if names else None,
                "number": subject.get("licenseNumber"), "valid_from": credential.get("validFrom"),
                "valid_until": credential.get("validUntil"), "id": credential.get("id")}


def _result(status: str, **kw: Any) -> CredentialCheck:
    return CredentialCheck(status=status, message=MESSAGES[status], label=LABELS[status], **kw)


def _b64json(part: str) -> dict[str, Any]:
    value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def verify_credential(db: Session, token: str) -> CredentialCheck:
    """What a verifier concludes from a compact VC-JWT: signature by a key of the certifier, OB 3.0
    shape, dates, and the revocation bit of the status list (read from the register)."""
    token = "".join((token or "").split())
    parts = token.split(".")
    try:
        if len(parts) != 3:
            raise ValueError("not a compact JWS")
        header, claims = _b64json(parts[0]), _b64json(parts[1])
    except (ValueError, UnicodeDecodeError):
        return _result("altered")
    key = keys.find_key(str(header.get("kid", "")))
    issuer = claims.get("issuer")
    issuer = issuer.get("id") if isinstance(issuer, dict) else issuer
    if key is None or header.get("alg") != ALGORITHM:
        return _result("unknown_issuer", kid=header.get("kid"))
    try:
        with _eddsa():
            jws.deserialize_compact(token, OKPKey.import_key(_public_pem(key)), algorithms=[ALGORITHM])
    except (JoseError, ValueError):
        return _result("altered", kid=key.kid)
    checks = {"signature": True, "issuer": issuer == issuer_id() and claims.get("iss") == issuer_id(),
              "context": claims.get("@context", [])[:2] == [VC_CONTEXT, OB_CONTEXT],
              "type": set(TYPES) <= set(claims.get("type", []))}
    if not all(checks.values()):
        return _result("altered", kid=key.kid, credential=claims, checks=checks)
    moment = now()
    valid_from, valid_until = _parse_time(claims.get("validFrom")), _parse_time(claims.get("validUntil"))
    if valid_from is not None and valid_from > moment:
        return _result("not_yet_valid", kid=key.kid, credential=claims, checks=checks)
    status = claims.get("credentialStatus") or {}
    try:
        index = int(status.get("statusListIndex"))
    except (TypeError, ValueError):
        return _result("altered", kid=key.kid, credential=claims, checks=checks)
    bitstring = decode_bitstring(encode_bitstring(revoked_indexes(db)))
    checks["status"] = not bit_is_set(bitstring, index)
    if not checks["status"]:
        return _result("revoked", kid=key.kid, credential=claims, checks=checks)
    if valid_until is not None and valid_until < moment:
        return _result("expired", kid=key.kid, credential=claims, checks=checks)
    return _result("valid", kid=key.kid, credential=claims, checks=checks)


def _public_pem(key: keys.CredentialKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
