"""What every SI CPF export test starts from: an agréée structure's account and CQP SP registered
under an RNCP/RS code (the certifications without one are not declared); certified holders, and
readers of the flux, the records and the processing reports."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from sqlmodel import select

from certification.audit import timeline
from certification.db import session_scope
from certification.models import Certification
from certification.jury.models import Certificate
from certification.cpf import flux
from certification.cpf.models import CpfRecord
from tests.factories import (
    deliberated_session,
    grant_agrement,
    issue_results,
    plan_past_session,
    ready_candidates,
    siret,
    structure_account,
)


def registered_structure(people: dict[str, Any], code: str) -> dict[str, Any]:
    """The account of an agréée structure, once CQP SP is registered under ``code``."""
    grant_agrement(people, 1)
    structure = structure_account(people, siret(1))
    with session_scope() as db:
        cert = db.exec(select(Certification).where(Certification.code == "CQP_SP")).one()
        cert.registry_code = code
        db.add(cert)
    return structure


NS = {"cpf": flux.NS}
XSI_NIL = f"{{{flux.XSI}}}nil"
NAMES = [
    ("O'Brien <Zoé> & Cie", "Aïssatou Marie-Hélène"),
    ("N'Guessan-Lefèvre", "Jean-François Éloi Maël Noé"),
    ("Le Goff", "Gaëlle"),
]


def certify(people, structure, names, *, first=1, partial=(), sexes=None):
    """Register, deliberate and issue: certificates for every candidate, attestations for ``partial``
    (indexes). Returns {last name: certificate id} of the certificates."""
    ids = ready_candidates(
        structure, len(names), first=first, names=names, sexes=sexes if sexes is not None else ["F"] * len(names)
    )
    results = {ids[i]: {"SP-B1": "validated", "SP-B2": "not_validated", "SP-B3": "validated"} for i in partial}
    issue_results(deliberate(people, ids, results))
    with session_scope() as db:
        rows = db.exec(select(Certificate).where(Certificate.candidate_id.in_(ids))).all()
        return {c.holder_last_name: c.id for c in rows if c.kind == "certificate"}


def deliberate(people, ids, results) -> int:
    """A signed session of ``ids``; the jury members of the first session sit again in later ones."""
    if "presidente" not in people:
        return deliberated_session(people, ids, results)

    from certification.jury import service as jury_svc

    officer_actor = people["officer"]["actor"]
    members = [
        ("presidente", "employeur", True),
        ("employeur2", "employeur", False),
        ("salarie1", "salarie", False),
        ("salarie2", "salarie", False),
    ]
    with session_scope() as db:
        jury = plan_past_session(db, officer_actor, place="Rennes")
        for key, college, president in members:
            jury_svc.add_member(
                db, officer_actor, jury.id, user_id=people[key]["id"], college=college, is_president=president
            )
        rows = jury_svc.add_candidates(db, officer_actor, jury.id, ids)
        jury_svc.convene(db, officer_actor, jury.id)
        jury_svc.check_composition(db, officer_actor, jury.id)
        for row in rows:
            jury_svc.record_results(
                db,
                officer_actor,
                jury.id,
                row.candidate_id,
                (results or {}).get(row.candidate_id) or {b: "validated" for b in row.blocs},
            )
        jury_svc.close_deliberation(db, officer_actor, jury.id)
        jury_svc.sign_pv(db, people["presidente"]["actor"], jury.id)
        return jury.id


def read_flux(settings, summary) -> tuple[bytes, ET.Element]:
    data = (settings.data_dir / summary["relative_path"]).read_bytes()
    return data, ET.fromstring(data)


def passages(root) -> dict[str, ET.Element]:
    return {p.findtext("cpf:idTechnique", namespaces=NS): p for p in root.iterfind(".//cpf:passageCertification", NS)}


def states() -> dict[str, str]:
    with session_scope() as db:
        return {r.technical_id: r.state for r in db.exec(select(CpfRecord))}


def numbers() -> dict[str, str]:
    with session_scope() as db:
        return {
            c.holder_last_name: c.number for c in db.exec(select(Certificate).where(Certificate.kind == "certificate"))
        }


def xml_report(reference: str, lines) -> bytes:
    """A processing report in XML: per passage its idTechnique, statut and message."""
    root = ET.Element(f"{{{flux.NS}}}compteRendu")
    ET.SubElement(root, f"{{{flux.NS}}}idFlux").text = reference
    for tid, status, message in lines:
        p = ET.SubElement(ET.SubElement(root, f"{{{flux.NS}}}passages"), f"{{{flux.NS}}}passage")
        ET.SubElement(p, f"{{{flux.NS}}}idTechnique").text = tid
        ET.SubElement(p, f"{{{flux.NS}}}statut").text = status
        if message:
            ET.SubElement(p, f"{{{flux.NS}}}libelleErreur").text = message
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def csv_report(lines) -> bytes:
    body = "Identifiant technique;Statut;Libellé de l'erreur\r\n" + "".join(
        f"{tid};{status};{message}\r\n" for tid, status, message in lines
    )
    return body.encode("utf-8-sig")


def officer(people):
    return people["officer"]["actor"]


def events(entity: str, entity_id: int) -> list[tuple[str, str | None]]:
    with session_scope() as db:
        return [(e.action, e.reason) for e in timeline(db, entity, entity_id)]


def record_of(technical_id: str) -> CpfRecord:
    with session_scope() as db:
        return db.exec(select(CpfRecord).where(CpfRecord.technical_id == technical_id)).one()
