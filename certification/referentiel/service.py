"""Versions of the certifications' référentiels: which one is in force on a date, preview of a file
against it, loading a file as a draft version, activation on a date (officers; one transaction,
audited on the certification), and the initial versions shipped with the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from sqlmodel import Session, col, select

from certification.audit import Actor, record_event
from certification.clock import now, today
from certification.errors import Conflict, Forbidden, NotFound, ValidationFailed
from certification.models import Bloc, Certification, CertificationVersion, Role, VersionStatus
from certification.referentiel.schema import ReferentielFile, ReferentielInvalid, parse

ENTITY = Certification.__tablename__
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "data" / "referentiels"


# --- the shipped files ----------------------------------------------------------------------------------


def shipped_files() -> list[Path]:
    return sorted(SHIPPED_DIR.glob("*.yaml"))


@lru_cache(maxsize=32)
def _parsed(path: str, mtime_ns: int) -> ReferentielFile:
    file = Path(path)
    return parse(file.read_bytes(), file.name)


def read_file(path: Path) -> ReferentielFile:
    """Parse and validate a file (cached while it does not change)."""
    return _parsed(str(path), path.stat().st_mtime_ns)


def initial_files() -> list[ReferentielFile]:
    return [model for model in map(read_file, shipped_files()) if model.initial]


def ensure_shipped(db: Session) -> None:
    """The certifications and their initial version (active since always) with its blocs, from the
    shipped files ``initial: true`` (idempotent). A first version made by the migration from the
    former constants takes the file's content when its blocs and record are the same (a record
    code set in the database meanwhile keeps the migration's content)."""
    for model in initial_files():
        cert = db.exec(select(Certification).where(Certification.code == model.certification.code)).first()
        if cert is None:
            cert = Certification(code=model.certification.code, title=model.certification.title)
            db.add(cert)
            db.flush()
        version = db.exec(select(CertificationVersion).where(
            CertificationVersion.certification_id == _id(cert), CertificationVersion.label == model.version)).first()
        if version is None:
            version = _new_version(db, cert, model, source="installation", actor=None)
            version.status = VersionStatus.active.value
            version.activated_at = version.loaded_at
            db.add(version)
            db.flush()
        elif version.source == "migration" and version.content_hash != model.content_hash() and _same_frame(
                version, model):
            version.content, version.content_hash, version.source = model.content(), model.content_hash(), "installation"
            db.add(version)
    db.flush()


def _same_frame(version: CertificationVersion, model: ReferentielFile) -> bool:
    """The blocs (codes, titles) and the record of a version made by the migration are the file's."""
    return [(b["code"], b["title"]) for b in version.content.get("blocs", [])] == [
        (b.code, b.title) for b in model.blocs] and version.content.get("registry") == model.registry.model_dump()


# --- versions in force ------------------------------------------------------------------------------------


def versions_of(db: Session, certification_id: int) -> list[CertificationVersion]:
    return list(db.exec(select(CertificationVersion).where(
        CertificationVersion.certification_id == certification_id).order_by(col(CertificationVersion.id))))


def _start(version: CertificationVersion) -> date:
    return version.valid_from or date.min


def version_in_force(db: Session, certification_id: int, on: date | None = None) -> CertificationVersion | None:
    """The active version whose period holds ``on`` (the latest start wins); None if there is none."""
    on = on or today()
    active = [v for v in versions_of(db, certification_id) if v.status == VersionStatus.active]
    holding = [v for v in active if _start(v) <= on and (v.valid_until is None or v.valid_until >= on)]
    return max(holding, key=lambda v: (_start(v), v.id or 0)) if holding else None


def current_or_latest(db: Session, certification_id: int) -> CertificationVersion | None:
    """The version in force today, else the latest active one started (after its end: its blocs stay
    the ones its holders were assessed on)."""
    found = version_in_force(db, certification_id)
    if found is not None:
        return found
    started = [v for v in versions_of(db, certification_id)
               if v.status == VersionStatus.active and _start(v) <= today()]
    return max(started, key=lambda v: (_start(v), v.id or 0)) if started else None


def blocs_of_version(db: Session, version_id: int) -> list[Bloc]:
    return list(db.exec(select(Bloc).where(Bloc.version_id == version_id).order_by(col(Bloc.position))))


# --- equivalences -----------------------------------------------------------------------------------


def check_equivalences(db: Session, cert: Certification | None, model: ReferentielFile, name: str) -> None:
    """The table's ``from_version`` is a version of the certification and each bloc ``from`` one of
    its blocs; refused (ReferentielInvalid, naming the place) otherwise."""
    if model.from_version is None:
        return
    earlier = None if cert is None else db.exec(select(CertificationVersion).where(
        CertificationVersion.certification_id == _id(cert), CertificationVersion.label == model.from_version)).first()
    if earlier is None:
        raise ReferentielInvalid([f"{name} : from_version : version « {model.from_version} » inconnue pour le "
                                  f"{model.certification.code} (chargez-la d'abord)"])
    codes = {b.code for b in blocs_of_version(db, _id(earlier))}
    errors = [f"{name} : equivalences[{i}].from : bloc {item.from_} inconnu dans la version « {earlier.label} »"
              for i, item in enumerate(model.equivalences, start=1) if item.from_ not in codes]
    if errors:
        raise ReferentielInvalid(errors)


def equivalences_of(version: CertificationVersion) -> tuple[str | None, dict[str, list[str]]]:
    """(label of the earlier version, {its bloc: [blocs of ``version`` it counts for]}) as stored."""
    table = {item["from"]: list(item["to"]) for item in version.content.get("equivalences") or []}
    return version.content.get("from_version"), table


# --- preview --------------------------------------------------------------------------------------------


@dataclass
class Preview:
    """What loading a file would change, against the version in force today."""

    certification_code: str
    version: str
    title: str
    new_certification: bool
    compared_with: str | None  # label of the version in force (None: none)
    same_as: str | None  # label of an existing version with this very content (reloading changes nothing)
    label_taken: bool  # a version with this label exists with another content (loading is refused)
    blocs_added: list[str] = field(default_factory=list)
    blocs_removed: list[str] = field(default_factory=list)
    blocs_renamed: list[dict] = field(default_factory=list)  # {code, from, to}
    blocs_content_changed: list[str] = field(default_factory=list)  # compétences, modalités or critères
    rule_changed: dict | None = None  # {from: [...], to: [...]} blocs making the certificate
    registry_changed: dict | None = None
    title_changed: dict | None = None
    to_complete: list[str] = field(default_factory=list)
    from_version: str | None = None  # the equivalence table's earlier version
    equivalences: list[dict] = field(default_factory=list)  # {from, to: [...]}

    @property
    def can_activate(self) -> bool:
        return not self.to_complete


def preview(db: Session, actor: Actor, model: ReferentielFile, source: str = "fichier") -> Preview:
    """Compare a validated file with the version in force (no write)."""
    _officer_only(actor)
    cert = db.exec(select(Certification).where(Certification.code == model.certification.code)).first()
    check_equivalences(db, cert, model, source)
    out = Preview(certification_code=model.certification.code, version=model.version, title=model.version_title,
                  new_certification=cert is None, compared_with=None, same_as=None, label_taken=False,
                  to_complete=model.placeholders(), from_version=model.from_version,
                  equivalences=[{"from": e.from_, "to": list(e.to)} for e in model.equivalences])
    if cert is None:
        out.blocs_added = [b.code for b in model.blocs]
        return out
    versions = versions_of(db, _id(cert))
    digest = model.content_hash()
    out.same_as = next((v.label for v in versions if v.content_hash == digest), None)
    out.label_taken = out.same_as is None and any(v.label == model.version for v in versions)
    current = current_or_latest(db, _id(cert))
    if current is None:
        out.blocs_added = [b.code for b in model.blocs]
        return out
    out.compared_with = current.label
    before = current.content
    old = {b["code"]: b for b in before.get("blocs", [])}
    new = {b.code: b.model_dump(mode="json") for b in model.blocs}
    out.blocs_added = [c for c in new if c not in old]
    out.blocs_removed = [c for c in old if c not in new]
    out.blocs_renamed = [{"code": c, "from": old[c]["title"], "to": new[c]["title"]}
                         for c in new if c in old and old[c]["title"] != new[c]["title"]]
    out.blocs_content_changed = [c for c in new if c in old and any(
        old[c].get(k, []) != new[c][k] for k in ("competences", "assessment_methods", "criteria"))]
    rule = before.get("certificate_rule") or {"all_blocs": True, "required_blocs": []}
    before_required = list(old) if rule.get("all_blocs") else list(rule.get("required_blocs", []))
    if before_required != model.required_blocs:
        out.rule_changed = {"from": before_required, "to": model.required_blocs}
    registry = model.registry.model_dump(mode="json")
    if (before.get("registry") or {}) != registry:
        out.registry_changed = {"from": before.get("registry"), "to": registry}
    if current.title != model.version_title:
        out.title_changed = {"from": current.title, "to": model.version_title}
    return out


# --- loading and activation -------------------------------------------------------------------------------


def _new_version(db: Session, cert: Certification, model: ReferentielFile, *, source: str,
                 actor: Actor | None) -> CertificationVersion:
    version = CertificationVersion(
        certification_id=_id(cert), label=model.version, title=model.version_title,
        registry_kind=model.registry.kind, registry_code=model.registry.code, valid_from=model.valid_from,
        valid_until=model.valid_until, status=VersionStatus.draft.value, content=model.content(),
        content_hash=model.content_hash(), source=source[:200], loaded_by_id=actor.user_id if actor else None,
    )
    db.add(version)
    db.flush()
    for position, bloc in enumerate(model.blocs, start=1):
        db.add(Bloc(certification_id=_id(cert), version_id=version.id, code=bloc.code, title=bloc.title,
                         position=position))
    db.flush()
    return version


def load_version(db: Session, actor: Actor, model: ReferentielFile, *, source: str,
                 activate_on: date | None = None, reason: str | None = None) -> tuple[CertificationVersion, bool]:
    """Load a validated file as a new draft version (and activate it on ``activate_on`` if given).
    The same content loaded again changes nothing: ``(version, False)``."""
    _officer_only(actor)
    query = select(Certification).where(Certification.code == model.certification.code)
    cert = db.exec(query.with_for_update()).first()
    if cert is None:
        cert = Certification(code=model.certification.code, title=model.certification.title)
        db.add(cert)
        db.flush()
    check_equivalences(db, cert, model, source)
    versions = versions_of(db, _id(cert))
    digest = model.content_hash()
    same = next((v for v in versions if v.content_hash == digest), None)
    created = same is None
    if same is None:
        if any(v.label == model.version for v in versions):
            raise Conflict(
                f"La version « {model.version} » du référentiel du {cert.title} existe déjà avec un autre contenu : "
                "donnez un nouveau libellé de version.", code="version_label_taken")
        version = _new_version(db, cert, model, source=source, actor=actor)
        record_event(db, entity_type=ENTITY, entity_id=_id(cert), action="load_version", actor=actor,
                     to_state=version.label, reason=_clean(reason),
                     data={"version": version.label, "title": version.title, "source": version.source,
                           "content_hash": version.content_hash, "blocs": [b.code for b in model.blocs]})
    else:
        version = same
    if activate_on is not None and not (version.status == VersionStatus.active and version.valid_from == activate_on):
        activate_version(db, actor, cert.code, version.label, on=activate_on, reason=reason)
    return version, created


def get_version(db: Session, certification_code: str, label: str) -> CertificationVersion:
    cert = _certification(db, certification_code)
    version = db.exec(select(CertificationVersion).where(
        CertificationVersion.certification_id == _id(cert), CertificationVersion.label == label)).first()
    if version is None:
        raise NotFound(f"Version « {label[:20]} » du référentiel inconnue.", code="unknown_version")
    return version


def activate_version(db: Session, actor: Actor, certification_code: str, label: str, *,
                     on: date | None = None, reason: str | None = None) -> CertificationVersion:
    """Put a draft version in force from ``on`` (or the file's ``valid_from``), today or later: the
    version in force on that date ends the day before. In the caller's transaction, with its audit
    row: all or nothing. Activating again on the same date changes nothing."""
    _officer_only(actor)
    cert = _certification(db, certification_code, lock=True)
    version = get_version(db, certification_code, label)
    start = on or version.valid_from
    if version.status == VersionStatus.active:
        if start is None or start == version.valid_from:
            return version
        raise Conflict(f"La version « {label} » est déjà active depuis le "
                       f"{_fr(version.valid_from) if version.valid_from else 'début'}.", code="version_already_active")
    if start is None:
        raise ValidationFailed("Date d'entrée en vigueur obligatoire (aucune dans le fichier).",
                               code="activation_date_required")
    if start < today():
        raise ValidationFailed(f"La date d'entrée en vigueur ({_fr(start)}) ne peut pas être passée.",
                               code="activation_date_past")
    if version.valid_until is not None and version.valid_until < start:
        raise ValidationFailed(f"La version « {label} » prend fin le {_fr(version.valid_until)}, avant la date "
                               "d'entrée en vigueur demandée.", code="activation_after_end")
    placeholders = ReferentielFile.model_validate(version.content).placeholders()
    if placeholders:
        raise Conflict(f"La version « {label} » n'est pas activable : contenu à compléter par le certificateur "
                       f"({'; '.join(placeholders[:3])}{' ; …' if len(placeholders) > 3 else ''}).",
                       code="version_incomplete", details={"to_complete": placeholders})
    active = [v for v in versions_of(db, _id(cert)) if v.status == VersionStatus.active]
    later = [v for v in active if v.valid_from is not None and v.valid_from >= start]
    if later:
        raise Conflict(f"La version « {later[0].label} » entre déjà en vigueur le {_fr(later[0].valid_from)} : "
                       "choisissez une date postérieure.", code="activation_date_taken")
    previous = version_in_force(db, _id(cert), start)
    if previous is not None and (previous.valid_until is None or previous.valid_until >= start):
        previous.valid_until = start - timedelta(days=1)
        db.add(previous)
    version.status = VersionStatus.active.value
    version.valid_from = start
    version.activated_at = now()
    version.activated_by_id = actor.user_id
    db.add(version)
    db.flush()
    record_event(db, entity_type=ENTITY, entity_id=_id(cert), action="activate_version", actor=actor,
                 from_state=previous.label if previous else None, to_state=version.label, reason=_clean(reason),
                 data={"version": version.label, "valid_from": start.isoformat(),
                       "previous": previous.label if previous else None,
                       "previous_until": previous.valid_until.isoformat() if previous and previous.valid_until else None,
                       "content_hash": version.content_hash})
    db.flush()
    return version


def list_versions(db: Session, actor: Actor, certification_code: str) -> list[CertificationVersion]:
    _officer_only(actor)
    return versions_of(db, _id(_certification(db, certification_code)))


def state_of(db: Session, version: CertificationVersion, on: date | None = None) -> str:
    """« brouillon », « en vigueur », « programmée » or « terminée » (for lists)."""
    on = on or today()
    if version.status != VersionStatus.active:
        return "brouillon"
    if _start(version) > on:
        return "programmée"
    if version.valid_until is not None and version.valid_until < on:
        return "terminée"
    return "en vigueur"


def _certification(db: Session, code: str, *, lock: bool = False) -> Certification:
    """The certification; ``lock``: its row locked until the end of the transaction (PostgreSQL), so
    that two officers loading or activating versions of one certification do it one after the other."""
    query = select(Certification).where(Certification.code == code)
    cert = db.exec(query.with_for_update() if lock else query).first()
    if cert is None:
        raise NotFound(f"Certification inconnue : {code[:40]}.", code="unknown_certification")
    return cert


def _id(row: Certification | CertificationVersion) -> int:
    assert row.id is not None, "flushed rows have an id"
    return row.id


def _clean(reason: str | None) -> str | None:
    return (reason or "").strip() or None


def _fr(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def _officer_only(actor: Actor) -> None:
    if actor.role is not Role.officer:
        raise Forbidden("Le référentiel des certifications est réservé au certificateur.", code="role_not_allowed")


def describe(p: Preview) -> list[str]:
    """The preview in French, one line per change (the command line prints it)."""
    lines = [f"{p.certification_code}, version « {p.version} » : {p.title}"]
    if p.new_certification:
        lines.append("Nouvelle certification.")
    if p.same_as:
        lines.append(f"Contenu identique à la version « {p.same_as} » déjà chargée : rien ne changera.")
    if p.label_taken:
        lines.append(f"La version « {p.version} » existe déjà avec un autre contenu : chargement refusé.")
    if p.compared_with:
        lines.append(f"Comparée à la version « {p.compared_with} » (en vigueur) :")
    changes = [
        *(f"  bloc ajouté : {c}" for c in p.blocs_added),
        *(f"  bloc retiré : {c}" for c in p.blocs_removed),
        *(f"  bloc renommé : {r['code']} « {r['from']} » → « {r['to']} »" for r in p.blocs_renamed),
        *(f"  compétences, modalités ou critères modifiés : {c}" for c in p.blocs_content_changed),
    ]
    if p.rule_changed:
        changes.append(f"  règle de délivrance : {', '.join(p.rule_changed['from']) or '—'} → "
                       f"{', '.join(p.rule_changed['to'])}")
    if p.registry_changed:
        before, after = p.registry_changed["from"] or {}, p.registry_changed["to"]
        changes.append(f"  fiche : {before.get('kind') or '—'} {before.get('code') or '(sans numéro)'} → "
                       f"{after.get('kind') or '—'} {after.get('code') or '(sans numéro)'}")
    if p.title_changed:
        changes.append(f"  intitulé : « {p.title_changed['from']} » → « {p.title_changed['to']} »")
    if p.compared_with and not changes:
        changes.append("  aucun changement de blocs, de règle ni de fiche")
    lines.extend(changes)
    if p.equivalences:
        lines.append(f"Équivalences avec la version « {p.from_version} » (blocs détenus repris) :")
        lines.extend(f"  {e['from']} → {', '.join(e['to'])}" for e in p.equivalences)
    if p.to_complete:
        lines.append("À compléter par le certificateur avant activation :")
        lines.extend(f"  - {item}" for item in p.to_complete)
    return lines
