"""The certifier's signing keys: Ed25519 keys of the Open Badges credentials, and the key and
certificate that seal the PDFs (PAdES).

Embedded mode (``CQP_KEYS_MODE=embedded``, the default): created on first use under
``<data_dir>/keys/`` (directories 0700, files 0600) next to a ``NOT_FOR_PRODUCTION.txt`` marker:

* ``credentials/<created>-<kid>.pem``: Ed25519 private keys (PKCS#8). The newest signs; every key
  of the folder is published in the JWKS, so credentials signed before a rotation stay verifiable;
* ``seal/``: a local certification authority (``ca.pem``) and the certifier's ECDSA P-256 key and
  certificate issued by it (``certifier-key.pem``, ``certifier.pem``).

Production mode: nothing is created. The credential keys are read from ``credential_keys_path``
and the seal from the PKCS#12 file ``signing_pkcs12_path`` (password from
``signing_pkcs12_password`` or ``signing_pkcs12_password_path``).

Private keys are never logged, never returned by a route: only public keys leave this module.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from certification.settings import get_settings

MARKER = "NOT_FOR_PRODUCTION.txt"
MARKER_TEXT = (
    "NOT FOR PRODUCTION\n\nThese keys and this certification authority were created by the embedded mode of the\n"
    "CQP engine for demonstrations and tests. Documents and credentials they sign are not trusted by anyone.\n"
    "In production set CQP_KEYS_MODE=production, CQP_CREDENTIAL_KEYS_PATH and CQP_SIGNING_PKCS12_PATH.\n"
)
_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int] | None, list[CredentialKey]]] = {}


class KeyConfigurationError(RuntimeError):
    """The configured key material is missing or unreadable (production mode)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class CredentialKey:
    kid: str
    private: ed25519.Ed25519PrivateKey
    created: str

    @property
    def public_bytes(self) -> bytes:
        return self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def public_jwk(self) -> dict[str, str]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url(self.public_bytes),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        }

    def __repr__(self) -> str:  # never print the private key
        return f"CredentialKey(kid={self.kid!r}, created={self.created!r})"


def key_id(public_raw: bytes) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) of an Ed25519 public key."""
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": b64url(public_raw)}, separators=(",", ":"), sort_keys=True
    )
    return b64url(hashlib.sha256(canonical.encode()).digest())


# --- files ------------------------------------------------------------------------------------


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _embedded_root() -> Path:
    root = get_settings().keys_dir
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(root, 0o700)
    marker = root / MARKER
    if not marker.exists():
        marker.write_text(MARKER_TEXT)
    return root


def _publish_dir(build: Callable[[Path], object], target: Path) -> None:
    """Build a directory in a temporary sibling, then rename it into place: two processes starting
    together keep one set of keys (the loser's is discarded)."""
    if target.exists():
        return
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(tmp)
        os.rename(tmp, target)
    except OSError:
        if not target.exists():
            raise
    finally:
        if tmp.exists():
            for child in tmp.iterdir():
                child.unlink()
            tmp.rmdir()


def _pem(private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _new_credential_key_file(folder: Path) -> Path:
    private = ed25519.Ed25519PrivateKey.generate()
    kid = key_id(private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    path = folder / f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{kid}.pem"
    _write_private(path, _pem(private))
    return path


# --- credential keys ----------------------------------------------------------------------------


def credential_keys_dir() -> Path:
    settings = get_settings()
    if settings.credential_keys_path is not None:
        return settings.credential_keys_path
    return settings.keys_dir / "credentials"


def _load_credential_keys(folder: Path) -> list[CredentialKey]:
    keys = []
    for path in sorted(folder.glob("*.pem")):
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private, ed25519.Ed25519PrivateKey):
            raise KeyConfigurationError(f"{path.name}: not an Ed25519 key")
        raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        keys.append(CredentialKey(kid=key_id(raw), private=private, created=path.name.split("-", 1)[0]))
    return keys


def _stamp(folder: Path) -> tuple[int, int] | None:
    """Identity and modification time of the folder: a key added (rotation, by any process) or a
    folder replaced (restore, tests) is seen at the next signature."""
    try:
        st = folder.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns)


def credential_keys() -> list[CredentialKey]:
    """Every credential key, oldest first (the last one signs)."""
    folder = credential_keys_dir()
    with _lock:
        stamp = _stamp(folder)
        cached = _cache.get(folder)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        if stamp is None or not any(folder.glob("*.pem")):
            if get_settings().keys_mode != "embedded":
                raise KeyConfigurationError(f"no Ed25519 credential key in {folder}")
            _embedded_root()
            folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            _publish_dir(_new_credential_key_file, folder)
            stamp = _stamp(folder)
        keys = _load_credential_keys(folder)
        if not keys:
            raise KeyConfigurationError(f"no Ed25519 credential key in {folder}")
        _cache[folder] = (stamp, keys)
        return keys


def signing_key() -> CredentialKey:
    return credential_keys()[-1]


def find_key(kid: str) -> CredentialKey | None:
    return next((k for k in credential_keys() if k.kid == kid), None)


def rotate_credential_key() -> CredentialKey:
    """A new signing key; the former ones stay published (their credentials remain verifiable)."""
    credential_keys()
    folder = credential_keys_dir()
    path = _new_credential_key_file(folder)
    forget_keys()
    return next(k for k in credential_keys() if path.name.endswith(f"-{k.kid}.pem"))


def public_jwks() -> dict:
    return {"keys": [k.public_jwk() for k in credential_keys()]}


def forget_keys() -> None:
    """Drop the cached keys (after a rotation, or when the tests change the data folder)."""
    with _lock:
        _cache.clear()
        _seal_cache.clear()


# --- the seal of the PDFs -------------------------------------------------------------------------

_seal_cache: dict[str, Seal] = {}


@dataclass(frozen=True)
class Seal:
    """Where pyHanko finds the certifier's key: PEM files (embedded) or a PKCS#12 file."""

    key_file: Path | None = None
    cert_file: Path | None = None
    ca_file: Path | None = None
    pkcs12_file: Path | None = None
    embedded: bool = True
    fingerprint: str = ""  # SHA-256 of the certificate or PKCS#12 file: a new one is loaded anew
    stamp: tuple[int, int] | None = None  # of that file, to notice it was replaced

    def __repr__(self) -> str:
        return f"Seal(embedded={self.embedded}, cert={self.cert_file or self.pkcs12_file})"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, get_settings().certifier_name[:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
        ]
    )


def _certificate(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    signer: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        # Wide validity: the embedded keys serve demonstrations and tests, which move the clock.
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2060, 1, 1, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    return builder.sign(signer, hashes.SHA256())


def _build_seal(folder: Path) -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("AC locale CQP (NON PRODUCTION)")
    ca_cert = _certificate(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate(
        _name(f"{get_settings().certifier_name} (NON PRODUCTION)"), ca_name, key.public_key(), ca_key, ca=False
    )
    _write_private(folder / "ca-key.pem", _pem(ca_key))
    _write_private(folder / "certifier-key.pem", _pem(key))
    (folder / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (folder / "certifier.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def seal() -> Seal:
    settings = get_settings()
    cache_key = str(settings.data_dir.resolve()) + str(settings.signing_pkcs12_path)
    with _lock:
        cached = _seal_cache.get(cache_key)
        if cached is not None and cached.stamp == _stamp(cached.cert_file or cached.pkcs12_file):
            return cached
        if settings.signing_pkcs12_path is not None:
            if not settings.signing_pkcs12_path.is_file():
                raise KeyConfigurationError("the PKCS#12 file of CQP_SIGNING_PKCS12_PATH does not exist")
            result = Seal(
                pkcs12_file=settings.signing_pkcs12_path,
                embedded=False,
                fingerprint=hashlib.sha256(settings.signing_pkcs12_path.read_bytes()).hexdigest(),
                stamp=_stamp(settings.signing_pkcs12_path),
            )
        elif settings.keys_mode != "embedded":
            raise KeyConfigurationError("CQP_SIGNING_PKCS12_PATH is required in production mode")
        else:
            folder = _embedded_root() / "seal"
            _publish_dir(_build_seal, folder)
            result = Seal(
                key_file=folder / "certifier-key.pem",
                cert_file=folder / "certifier.pem",
                ca_file=folder / "ca.pem",
                fingerprint=hashlib.sha256((folder / "certifier.pem").read_bytes()).hexdigest(),
                stamp=_stamp(folder / "certifier.pem"),
            )
        _seal_cache[cache_key] = result
        return result
