"""The certifications of the branch and their registry code (officers).

A certification registered with France Compétences (RNCP or Répertoire spécifique) has its
holders declared to the Caisse des Dépôts (``/exports/cpf``): the officer records its code here
(``RNCP34567``, ``RS5286``), each change audited with its former value.

The versions of each certification's référentiel (certification/referentiel/): listed, a file
previewed against the version in force (nothing written), loaded as a draft version, activated on
a date (one transaction, audited on the certification).
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from pydantic import BaseModel, Field

from api.certification_schemas import CertificationCode
from api.pagination import Page, Pager
from api.deps import Principal, idempotency_key, require
from api.errors import PayloadTooLarge
from api.idempotency import fingerprint, run_idempotent
from api.schemas import EventOut, Strict, timeline_page
from certification.db import session_scope
from certification.models import Certification, CertificationVersion, Role
from certification.referentiel import service as versions
from certification.referentiel.schema import MAX_BYTES, ReferentielFile, parse
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
    version: str | None = Field(default=None, description="Version du référentiel en vigueur (ses blocs ci-dessous)")
    blocs: list[BlocRefOut]


class RegistryCodeIn(Strict):
    registry_code: str = Field(min_length=1, max_length=40, examples=["RNCP34567", "RS5286"],
                               description="« RNCP » ou « RS » suivi du numéro (espaces et minuscules admis)")
    reason: str | None = Field(default=None, max_length=2000, examples=["Enregistrement au RS du 12/03/2026"])


def certification_out(db, cert: Certification) -> CertificationOut:
    parsed = svc.parse_registry_code(cert.registry_code)
    return CertificationOut(
        code=cert.code, title=cert.title, registry_code=parsed[1] if parsed else (cert.registry_code or None),
        registry_type=parsed[0] if parsed else None, cpf_declared=parsed is not None,
        version=current.label if (current := versions.current_or_latest(db, cert.id)) else None,
        blocs=[BlocRefOut(code=b.code, title=b.title) for b in svc.blocs_of(db, cert.id)],
    )


@router.get("", response_model=Page[CertificationOut],
            summary="Lister les certifications et leur code RNCP/RS (chargé·e ; paginé)")
def list_certifications(pager: Pager = Depends(), principal: Principal = Depends(OFFICER)):
    with session_scope() as db:
        return pager.page(svc.list_certifications(db, principal.actor), lambda c: certification_out(db, c),
                          key=lambda c: (c.code,), text=lambda c: (c.code, c.title, c.registry_code))


@router.put("/{certification_code}/registry-code", response_model=CertificationOut,
            summary="Renseigner le code RNCP ou RS de la certification (chargé·e ; tracé avec l'ancienne valeur)")
def set_registry_code(certification_code: CertificationCode, body: RegistryCodeIn,
                      principal: Principal = Depends(OFFICER)):
    with session_scope() as db:
        cert = svc.set_registry_code(db, principal.actor, certification_code, body.registry_code, body.reason)
        return certification_out(db, cert)


@router.get("/{certification_code}/timeline", response_model=Page[EventOut],
            summary="Historique des changements du code RNCP/RS (chargé·e ; paginé, plus anciens d'abord)")
def read_timeline(certification_code: CertificationCode, pager: Pager = Depends(),
                  principal: Principal = Depends(OFFICER)):
    with session_scope() as db:
        return timeline_page(pager, svc.certification_timeline(db, principal.actor, certification_code))


# --- versions of the référentiel ------------------------------------------------------------------------


class VersionOut(BaseModel):
    certification_code: str
    label: str = Field(description="Libellé de la version (unique par certification)")
    title: str
    registry_kind: str | None = Field(description="RNCP ou RS")
    registry_code: str | None = Field(description="Numéro de la fiche ; vide tant qu'il est à compléter")
    status: str = Field(description="draft (brouillon) ou active")
    state_label: str = Field(description="brouillon, programmée, en vigueur ou terminée (aujourd'hui)")
    valid_from: date | None = Field(description="Entrée en vigueur ; vide pour une version en vigueur depuis l'origine")
    valid_until: date | None
    content_hash: str = Field(description="SHA-256 du contenu validé (recharger le même contenu ne change rien)")
    source: str
    blocs: list[BlocRefOut]
    required_blocs: list[str] = Field(description="Blocs dont la validation donne la certification")
    to_complete: list[str] = Field(description="Contenus à compléter par le certificateur (activation refusée)")
    loaded_at: datetime
    activated_at: datetime | None


class PreviewOut(BaseModel):
    certification_code: str
    version: str
    title: str
    new_certification: bool
    compared_with: str | None = Field(description="Version en vigueur à laquelle le fichier est comparé")
    same_as: str | None = Field(description="Version déjà chargée avec ce même contenu")
    label_taken: bool = Field(description="Libellé déjà pris par un autre contenu (chargement refusé)")
    blocs_added: list[str]
    blocs_removed: list[str]
    blocs_renamed: list[dict]
    blocs_content_changed: list[str]
    rule_changed: dict | None
    registry_changed: dict | None
    title_changed: dict | None
    to_complete: list[str]
    from_version: str | None = Field(description="Version dont les blocs détenus sont repris par équivalence")
    equivalences: list[dict] = Field(description="Table d'équivalence : [{from, to: [...]}]")
    can_activate: bool
    summary: list[str] = Field(description="Les changements en clair")


class LoadOut(BaseModel):
    created: bool = Field(description="Faux si ce contenu était déjà chargé (rechargement sans effet)")
    version: VersionOut


class ActivateIn(Strict):
    on: date | None = Field(default=None, description="Date d'entrée en vigueur (défaut : valid_from du fichier)")
    reason: str | None = Field(default=None, max_length=2000)


def version_out(db, version: CertificationVersion) -> VersionOut:
    cert = db.get(Certification, version.certification_id)
    model = ReferentielFile.model_validate(version.content)
    return VersionOut(
        certification_code=cert.code, label=version.label, title=version.title, registry_kind=version.registry_kind,
        registry_code=version.registry_code or None, status=version.status,
        state_label=versions.state_of(db, version), valid_from=version.valid_from,
        valid_until=version.valid_until, content_hash=version.content_hash, source=version.source,
        blocs=[BlocRefOut(code=b.code, title=b.title) for b in versions.blocs_of_version(db, version.id)],
        required_blocs=model.required_blocs, to_complete=model.placeholders(), loaded_at=version.loaded_at,
        activated_at=version.activated_at,
    )


async def _file(file: UploadFile) -> tuple[bytes, str]:
    data = await file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge(f"Fichier de référentiel trop volumineux (au plus {MAX_BYTES // 1024} Kio).")
    name = (file.filename or "referentiel.yaml").replace("\\", "/").rsplit("/", 1)[-1][:200]
    return data, name


FILE = File(description="Fichier YAML (ou JSON) d'une version du référentiel")


@router.get("/{certification_code}/versions", response_model=Page[VersionOut],
            summary="Lister les versions du référentiel d'une certification (chargé·e ; paginé)")
def list_versions(certification_code: CertificationCode, pager: Pager = Depends(),
                  principal: Principal = Depends(OFFICER)):
    with session_scope() as db:
        rows = versions.list_versions(db, principal.actor, certification_code)
        return pager.page(rows, lambda v: version_out(db, v), key=lambda v: (v.id,),
                          text=lambda v: (v.label, v.title, v.registry_code))


@router.post("/versions/preview", response_model=PreviewOut,
             summary="Vérifier un fichier de référentiel et voir ses changements, sans rien enregistrer (chargé·e)")
async def preview_version(file: UploadFile = FILE, principal: Principal = Depends(OFFICER)):
    data, name = await _file(file)
    model = parse(data, name)
    with session_scope() as db:
        found = versions.preview(db, principal.actor, model, name)
        return PreviewOut(**{k: getattr(found, k) for k in found.__dataclass_fields__},
                          can_activate=found.can_activate, summary=versions.describe(found))


@router.post("/versions", response_model=LoadOut, status_code=201,
             summary="Charger un fichier comme nouvelle version (brouillon), l'activer à une date si demandé "
                     "(chargé·e ; même contenu : sans effet ; Idempotency-Key recommandé)")
async def load_version(http: Request, file: UploadFile = FILE,
                       activate_on: date | None = Form(default=None, description="Date d'entrée en vigueur"),
                       reason: str | None = Form(default=None, max_length=2000),
                       principal: Principal = Depends(OFFICER), key: str | None = Depends(idempotency_key)):
    data, name = await _file(file)
    model = parse(data, name)

    def work(db):
        version, created = versions.load_version(db, principal.actor, model, source=name,
                                                 activate_on=activate_on, reason=reason)
        return (201 if created else 200), LoadOut(created=created, version=version_out(db, version))

    return run_idempotent(user_id=principal.actor.user_id, key=key, method=http.method, path=http.url.path,
                          digest=fingerprint(hashlib.sha256(data).hexdigest(), activate_on, reason), work=work)


@router.post("/{certification_code}/versions/{label}/activate", response_model=VersionOut,
             summary="Activer une version chargée à une date, aujourd'hui ou plus tard (chargé·e ; tracé ; "
                     "Idempotency-Key recommandé)")
def activate_version(http: Request, certification_code: CertificationCode, body: ActivateIn,
                     label: str = Path(min_length=1, max_length=20, description="Libellé de la version"),
                     principal: Principal = Depends(OFFICER), key: str | None = Depends(idempotency_key)):
    def work(db):
        version = versions.activate_version(db, principal.actor, certification_code, label, on=body.on,
                                            reason=body.reason)
        return 200, version_out(db, version)

    return run_idempotent(user_id=principal.actor.user_id, key=key, method=http.method, path=http.url.path,
                          digest=fingerprint(certification_code, label, body.model_dump(mode="json")), work=work)
