"""PAdES seal of the certifier on the PDFs it issues (pyHanko).

:func:`seal_pdf` adds an incremental-update signature (PAdES baseline B, SHA-256) with a visible
stamp « Signé électroniquement par <certifier> le <date> » on the last page. The PV de jury also
carries, in the signature's reason, the president's signature act recorded in the back-office
(who, when); the PV itself prints it too. Any change to the signed bytes breaks the signature.

Key material comes from :mod:`certification.keys` (local CA in the embedded mode, PKCS#12 file in
production); it is loaded once per process.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from io import BytesIO
from typing import Any

from certification import keys
from certification.clock import now
from certification.settings import get_settings

FIELD_NAME = "CachetCertificateur"
STAMP_BOX = (300, 18, 575, 62)  # bottom right of an A4 page, above nothing the templates print there
_lock = threading.Lock()
_signers: dict[Any, Any] = {}


def _signer():
    from pyhanko.sign import signers

    seal = keys.seal()
    with _lock:
        if seal not in _signers:
            if seal.pkcs12_file is not None:
                signer = signers.SimpleSigner.load_pkcs12(
                    str(seal.pkcs12_file), passphrase=get_settings().pkcs12_password()
                )
            else:
                signer = signers.SimpleSigner.load(
                    str(seal.key_file), str(seal.cert_file), ca_chain_files=(str(seal.ca_file),)
                )
            if signer is None:
                raise keys.KeyConfigurationError("the certifier's signing key could not be loaded")
            _signers[seal] = signer
        return _signers[seal]


def _when(moment: datetime) -> str:
    local = moment.astimezone()
    return f"{local:%d/%m/%Y} à {local:%H:%M}"


def signature_reason(kind: str, context: Mapping[str, Any]) -> str:
    """Why the certifier seals: for a PV, the president's signature act it attests."""
    if kind == "pv_jury":
        jury = context.get("jury") or {}
        signer, at = jury.get("pv_signed_by") or jury.get("president_name"), jury.get("pv_signed_at")
        if signer and at:
            return (
                f"Procès-verbal du jury {jury.get('reference', '')} signé par son président, {signer}, "
                f"le {_when(at)} dans l'espace de gestion ; scellé par le certificateur."
            )
        return f"Procès-verbal du jury {jury.get('reference', '')} scellé par le certificateur."
    certificate = context.get("certificate") or {}
    return f"Document n° {certificate.get('number', '')} délivré et scellé par le certificateur."


def _stamp_style(text: str):
    """Courier (a standard PDF font, WinAnsi: French accents print) rather than an embedded font:
    subsetting DejaVu costs ~150 ms per signature, Courier ~0."""
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.stamp import TextStampStyle

    return TextStampStyle(stamp_text=text.replace("%", "%%"), text_box_style=TextBoxStyle(font_size=7), border_width=1)


def seal_pdf(data: bytes, *, kind: str, context: Mapping[str, Any]) -> bytes:
    """The PDF ``data`` sealed by the certifier (PAdES), with its visible stamp."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    settings = get_settings()
    moment = now()
    stamp = f"Signé électroniquement par {settings.certifier_name}\nle {_when(moment)}"
    if kind == "pv_jury":
        jury = context.get("jury") or {}
        if jury.get("pv_signed_at"):
            stamp += (
                f"\nPV signé par {jury.get('pv_signed_by') or jury.get('president_name')}"
                f" le {_when(jury['pv_signed_at'])}"
            )
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=signature_reason(kind, context),
        location="France",
        name=settings.certifier_name,
    )
    writer = IncrementalPdfFileWriter(BytesIO(data), strict=False)
    pdf_signer = signers.PdfSigner(
        metadata,
        signer=_signer(),
        stamp_style=_stamp_style(stamp),
        new_field_spec=fields.SigFieldSpec(FIELD_NAME, on_page=-1, box=STAMP_BOX),
    )
    out = BytesIO()
    pdf_signer.sign_pdf(writer, output=out)
    return out.getvalue()


def should_seal(kind: str) -> bool:
    return kind in get_settings().signed_document_kinds
