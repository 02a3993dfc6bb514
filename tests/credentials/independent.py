"""An independent verifier of the engine's credentials and sealed PDFs, for the tests: the JWT is
split and its Ed25519 signature checked with ``cryptography`` directly (not joserfc nor the
engine's code), the status list decoded by hand; PDFs are validated by pyHanko's validator with
the local CA as the only trust root."""

from __future__ import annotations

import base64
import gzip
import json
from io import BytesIO
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


def b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def decode_verified(token: str, jwks: dict) -> tuple[dict, dict]:
    """(header, payload) of a compact JWS whose EdDSA signature checks with the JWKS key of its kid."""
    head, body, signature = token.split(".")
    header = json.loads(b64decode(head))
    assert header["alg"] == "EdDSA", header
    jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519"
    Ed25519PublicKey.from_public_bytes(b64decode(jwk["x"])).verify(b64decode(signature), f"{head}.{body}".encode())
    return header, json.loads(b64decode(body))


def signature_fails(token: str, jwks: dict) -> bool:
    try:
        decode_verified(token, jwks)
    except (InvalidSignature, StopIteration, ValueError):
        return True
    return False


def status_bit(status_list_jwt: str, jwks: dict, index: int) -> bool:
    _, payload = decode_verified(status_list_jwt, jwks)
    assert "BitstringStatusListCredential" in payload["type"]
    encoded = payload["credentialSubject"]["encodedList"]
    assert encoded.startswith("u")
    bits = gzip.decompress(b64decode(encoded[1:]))
    assert len(bits) >= 16 * 1024
    return bool(bits[index // 8] >> (7 - index % 8) & 1)


def check_open_badge(payload: dict) -> None:
    assert payload["@context"][:2] == [VC_CONTEXT, OB_CONTEXT]
    assert payload["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert payload["iss"] == payload["issuer"]["id"] and payload["jti"] == payload["id"]
    assert payload["credentialSubject"]["achievement"]["type"] == ["Achievement"]
    assert payload["credentialStatus"]["type"] == "BitstringStatusListEntry"


def pdf_signature_status(data: bytes, ca_file: Path):
    """pyHanko's verdict on the (single) signature of ``data``, trusting only the local CA."""
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(ca_file))], allow_fetching=False)
    signatures = PdfFileReader(BytesIO(data), strict=False).embedded_signatures
    assert len(signatures) == 1
    return signatures[0], validate_pdf_signature(signatures[0], context)


def pdf_is_valid(data: bytes, ca_file: Path) -> bool:
    try:
        _, status = pdf_signature_status(data, ca_file)
    except Exception:  # noqa: BLE001 - a damaged file is "not valid", whatever the parser says
        return False
    return bool(status.bottom_line and status.intact and status.valid and status.trusted)
