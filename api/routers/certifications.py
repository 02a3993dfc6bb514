"""The certifications of the branch and their registry code (officers).

A certification registered with France Compétences (RNCP or Répertoire spécifique) has its
holders declared to the Caisse des Dépôts (``/exports/cpf``): the officer records its code here
(``RNCP34567``, ``RS5286``), each change audited with its former value.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.certification_schemas import CertificationCode
from api.pagination import Page, Pager
from api.deps import Principal, require
from api.schemas import EventOut, Strict, timeline_page
from certification.db import session_scope
from certification.models import Certification, Role
from certification.services import referential as svc

router = APIRouter(prefix="/certifications", tags=["certifications (référentiel)"])
OFFICER = require(Role.officer)


class BlocRefOut(BaseModel):
    code: str
    title: str


class CertificationOut(BaseModel):
    code: str
    title: str
    registry_code: str | None = Field(description="Code de la fiche France Compétences (RNCP… ou RS…)")
    registry_type: str | None = Field(description="RNCP ou RS ; vide tant que le code n'est pas renseigné")
    cpf_declared: bool = Field(description="Les certifiés sont déclarés à la Caisse des Dépôts (SI CPF)")
    blocs: list[BlocRefOut]


class RegistryCodeIn(Strict):
    registry_code: str = Field(min_length=1, max_length=40, examples=["RNCP34567", "RS5286"],
                               description="« RNCP » ou « RS » suivi du numéro (espaces et minuscules admis)")
    reason: str | None = Field(default=None, max_length=2000, examples=["Enregistrement au RS du 12/03/2026"])


def certification_out(session, cert: Certification) -> CertificationOut:
    parsed = svc.parse_registry_code(cert.registry_code)
    return CertificationOut(
        code=cert.code, title=cert.title, registry_code=parsed[1] if parsed else (cert.registry_code or None),
        registry_type=parsed[0] if parsed else None, cpf_declared=parsed is not None,
        blocs=[BlocRefOut(code=b.code, title=b.title) for b in svc.blocs_of(session, cert.id)],
    )


@router.get("", response_model=Page[CertificationOut],
            summary="Lister les certifications et leur code RNCP/RS (chargé·e ; paginé)")
def list_certifications(pager: Pager = Depends(), principal: Principal = Depends(OFFICER)):
    with session_scope() as session:
        return pager.page(svc.list_certifications(session, principal.actor), lambda c: certification_out(session, c),
                          key=lambda c: (c.code,), text=lambda c: (c.code, c.title, c.registry_code))


@router.put("/{certification_code}/registry-code", response_model=CertificationOut,
            summary="Renseigner le code RNCP ou RS de la certification (chargé·e ; tracé avec l'ancienne valeur)")
def set_registry_code(certification_code: CertificationCode, body: RegistryCodeIn,
                      principal: Principal = Depends(OFFICER)):
    with session_scope() as session:
        cert = svc.set_registry_code(session, principal.actor, certification_code, body.registry_code, body.reason)
        return certification_out(session, cert)


@router.get("/{certification_code}/timeline", response_model=Page[EventOut],
            summary="Historique des changements du code RNCP/RS (chargé·e ; paginé, plus anciens d'abord)")
def read_timeline(certification_code: CertificationCode, pager: Pager = Depends(),
                  principal: Principal = Depends(OFFICER)):
    with session_scope() as session:
        return timeline_page(pager, svc.certification_timeline(session, principal.actor, certification_code))
