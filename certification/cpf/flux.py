"""The XML flux sent to the SI CPF (Caisse des Dépôts): what the data dictionary requires of a
holder, the ``passageCertification`` of a certificate, the whole flux of a certification, and its
validation against ``certification/schemas/cpf-accrochage.xsd``.

The XML follows the public data dictionary of the Caisse des Dépôts (namespace
``urn:cdc:cpf:pc5:schema:1.0.0``): ``flux / emetteur / certificateurs / certificateur /
certifications / certification (type, code) / passageCertifications / passageCertification``.
What the engine does not hold is left out where the dictionary makes it optional (the second and
third given names when absent, the birth commune's name) or nil where it is nillable
(``nomUsage``, ``dateFinValidite`` — a CQP does not expire —, ``scoring``, ``mentionValidee``, the
birth postal code). Built with :mod:`xml.etree.ElementTree`: well-formed UTF-8, every value escaped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import xmlschema

import hashlib
import re
import unicodedata
import xml.etree.ElementTree as ET
from datetime import datetime
from functools import lru_cache
from importlib.resources import files

from certification.cpf.states import PARIS, local_date
from certification.errors import ValidationFailed
from certification.candidates.models import Candidate
from certification.jury.models import Certificate, JurySession
from certification.settings import Settings

NS = "urn:cdc:cpf:pc5:schema:1.0.0"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ET.register_namespace("cpf", NS)
ET.register_namespace("xsi", XSI)


_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean_text(value: str | None, max_length: int) -> str:
    """NFC, without characters XML 1.0 forbids, whitespace folded, cut to the schema's length."""
    text = unicodedata.normalize("NFC", value or "")
    text = _XML_INVALID.sub("", text)
    text = " ".join(text.split())
    return text[:max_length].rstrip()


def _el(parent: ET.Element | None, tag: str, text: str | None = None, *, nil: bool = False) -> ET.Element:
    name = f"{{{NS}}}{tag}"
    element = ET.Element(name) if parent is None else ET.SubElement(parent, name)
    if nil:
        element.set(f"{{{XSI}}}nil", "true")
    elif text is not None:
        element.text = text
    return element


def split_given_names(first_names: str) -> list[str]:
    """``prenom1``, ``prenom2``, ``prenom3`` (the rest of the names joined in the third)."""
    names = [n for n in re.split(r"[\s,]+", clean_text(first_names, 500)) if n]
    if len(names) > 3:
        names = names[:2] + [" ".join(names[2:])]
    return [clean_text(n, 60) for n in names]


def local_name(tag: str) -> str:
    """The name of an element without its namespace (``{urn…}idFlux`` -> ``idFlux``)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def hold_reasons(certificate: Certificate) -> list[str]:
    """What the data dictionary requires and the certificate's holder lacks (empty: declarable)."""
    reasons = []
    if not clean_text(certificate.holder_last_name, 60):
        reasons.append("nom de naissance du titulaire vide ou illisible")
    if not split_given_names(certificate.holder_first_names):
        reasons.append("prénom du titulaire vide ou illisible")
    born = certificate.holder_birth_date
    if born is None or not 1900 <= born.year <= 2099:
        reasons.append("date de naissance du titulaire absente ou hors des bornes du dictionnaire (1900 à 2099)")
    if certificate.holder_sex not in ("M", "F"):
        reasons.append("sexe du titulaire non renseigné (M ou F), exigé par la Caisse des Dépôts")
    return reasons


def passage_element(certificate: Certificate, candidate: Candidate | None, jury: JurySession | None,
                    settings: Settings) -> ET.Element:
    """The ``passageCertification`` of a certificate (data dictionary order)."""
    p = _el(None, "passageCertification")
    _el(p, "idTechnique", clean_text(certificate.number, 255))
    _el(p, "obtentionCertification", "PAR_ADMISSION")
    _el(p, "donneeCertifiee", "true")
    if jury is not None:
        exam = local_date(jury.scheduled_at).isoformat()
        _el(p, "dateDebutExamen", exam)
        _el(p, "dateFinExamen", exam)
    _el(p, "dateDebutValidite", certificate.issued_on.isoformat())  # date d'obtention
    _el(p, "dateFinValidite", nil=True)  # a CQP has no end of validity
    _el(p, "presenceNiveauLangueEuro", "false")
    _el(p, "presenceNiveauNumeriqueEuro", "false")
    _el(p, "scoring", nil=True)
    _el(p, "mentionValidee", nil=True)
    modalites = _el(p, "modalitesInscription")
    if candidate is not None and candidate.pathway == "vae":  # the VAE pathway (certification/vae/)
        _el(modalites, "modaliteAcces", "VAE")
        _el(modalites, "voieAccessVAE", "VAE_CLASSIQUE")
    else:
        _el(modalites, "modaliteAcces", settings.cpf_modalite_acces)
    holder = _el(_el(p, "identificationTitulaire"), "titulaire")
    _el(holder, "nomNaissance", clean_text(certificate.holder_last_name, 60))
    _el(holder, "nomUsage", nil=True)
    for i, name in enumerate(split_given_names(certificate.holder_first_names), start=1):
        _el(holder, f"prenom{i}", name)
    born = certificate.holder_birth_date
    _el(holder, "anneeNaissance", str(born.year))
    _el(holder, "moisNaissance", str(born.month))
    _el(holder, "jourNaissance", str(born.day))
    _el(holder, "sexe", certificate.holder_sex)  # M | F (a record without it is held back)
    place = _el(holder, "codeCommuneNaissance")
    _el(_el(place, "codePostalNaissance"), "codePostal", nil=True)
    birth_place = clean_text(candidate.birth_place if candidate else "", 60)
    if birth_place:
        _el(holder, "libelleCommuneNaissance", birth_place)
    return p


def passage_digest(element: ET.Element, registry_code: str) -> str:
    """What a record would send: its passage under its certification's registry code (a rejected
    record goes again when either changed)."""
    return hashlib.sha256(registry_code.encode() + b"\n" + ET.tostring(element, encoding="utf-8")).hexdigest()


def build_flux(reference: str, created_at: datetime, registry_type: str, registry_code: str,
               passages: list[ET.Element], settings: Settings,
               more: list[tuple[str, str, list[ET.Element]]] = ()) -> bytes:
    """The whole XML flux of one certification (UTF-8, with its declaration); ``more``: the
    passages of holders of other versions of its référentiel recorded under another code, one
    ``certification`` element each ((type, code, passages))."""
    root = _el(None, "flux")
    _el(root, "idFlux", clean_text(reference, 50))
    _el(root, "horodatage", created_at.astimezone(PARIS).replace(microsecond=0).isoformat())
    emitter = _el(root, "emetteur")
    _el(emitter, "idClient", clean_text(settings.cpf_id_client, 8))
    certifier = _el(_el(emitter, "certificateurs"), "certificateur")
    _el(certifier, "idClient", clean_text(settings.cpf_id_client, 8))
    _el(certifier, "idContrat", clean_text(settings.cpf_id_contrat, 20))
    certifications = _el(certifier, "certifications")
    for kind, code, elements in [(registry_type, registry_code, passages), *more]:
        certification = _el(certifications, "certification")
        _el(certification, "type", kind)
        _el(certification, "code", code)
        _el(certification, "natureDeposant", "CERTIFICATEUR")
        container = _el(certification, "passageCertifications")
        container.extend(elements)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


# --- validation against the data dictionary's schema ----------------------------------------------

SCHEMA_FILE = "cpf-accrochage.xsd"


@lru_cache
def flux_schema() -> xmlschema.XMLSchema10:
    """``certification/schemas/cpf-accrochage.xsd`` (package data), loaded once (xmlschema is
    imported here: a third of a second that the API's start does not need)."""
    import xmlschema

    with (files("certification") / "schemas" / SCHEMA_FILE).open("rb") as f:
        return xmlschema.XMLSchema10(f)


def _local_path(element: ET.Element, parents: dict[ET.Element, ET.Element]) -> list[str]:
    names = []
    while element is not None:
        names.append(local_name(element.tag))
        element = parents.get(element)
    return names[::-1]


def flux_errors(data: bytes) -> list[dict[str, str | None]]:
    """Each way ``data`` departs from the schema: the record (``idTechnique`` of the passage, None
    outside any), the field (path of element names) and the validator's reason."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        return [{"technical_id": None, "field": None, "reason": f"XML mal formé : {exc}"}]
    parents = {child: parent for parent in root.iter() for child in parent}
    errors = []
    for error in flux_schema().iter_errors(root):
        element = error.elem
        if not isinstance(element, ET.Element) or (element is not root and element not in parents):
            element = None
        names = _local_path(element, parents) if element is not None else []
        technical_id, field_names = None, names[1:]
        if "passageCertification" in names:
            i = names.index("passageCertification")
            passage = element
            for _ in range(len(names) - 1 - i):
                passage = parents[passage]
            technical_id = passage.findtext(f"{{{NS}}}idTechnique") or "(sans idTechnique)"
            field_names = names[i + 1:]
        where = "/".join(field_names) or (names[0] if names else None)
        errors.append({"technical_id": technical_id, "field": where, "reason": error.reason or error.message})
    return errors


def validate_flux(data: bytes, reference: str = "") -> None:
    """Refuse (422) a flux that the data dictionary's schema does not accept, naming each record
    and field at fault."""
    errors = flux_errors(data)
    if not errors:
        return
    said = [(f"enregistrement {e['technical_id']}, " if e["technical_id"] else "")
            + (f"champ {e['field']} : " if e["field"] else "") + str(e["reason"]) for e in errors[:5]]
    raise ValidationFailed(
        f"Flux {reference or 'XML'} refusé par le schéma {SCHEMA_FILE} ({len(errors)} erreur(s)) : "
        + " ; ".join(said) + ("…" if len(errors) > 5 else "") + ". Aucun lot n'a été enregistré.",
        code="cpf_flux_invalid", details={"errors": errors[:50]})
