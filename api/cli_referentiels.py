"""``cqp referentiels``: check a référentiel file, load it as a draft version, activate a version on a
date, list the versions (added to the ``cqp`` command by :mod:`api.cli`)."""

from __future__ import annotations

import typer


def prepare_database() -> None:
    """Alembic migrations, then the certifications of the branch and their blocs (idempotent)."""
    from certification.db import session_scope
    from certification.migrate import upgrade
    from certification.services.referential import ensure_referential

    upgrade()
    with session_scope() as db:
        ensure_referential(db)


referentiels = typer.Typer(
    help="Référentiels des certifications : vérifier un fichier, le charger (brouillon), l'activer à une date, "
    "lister les versions.",
    no_args_is_help=True,
)


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def _officer(db, email: str):
    from sqlmodel import select

    from certification.audit import Actor
    from certification.models import Role, User

    user = db.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None or user.role != Role.officer or not user.active:
        _fail(f"« {email} » n'est pas un compte actif de chargé·e de certification.")
    return Actor.of(user)


def _day(value: str | None, option: str):
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(f"{option} : date attendue au format AAAA-MM-JJ (reçu « {value} »).")


def _read(path: str):
    from pathlib import Path

    from certification.referentiel.schema import parse

    file = Path(path)
    if not file.is_file():
        _fail(f"Fichier introuvable : {path}")
    return parse(file.read_bytes(), file.name)


@referentiels.command(
    "check",
    help="Vérifie un ou plusieurs fichiers de référentiel (sans base de données) ; "
    "code de sortie 1 à la moindre erreur, chacune avec sa ligne et son champ.",
)
def referentiels_check(files: list[str] = typer.Argument(..., help="Fichiers YAML (ou JSON)")) -> None:
    from certification.referentiel.schema import ReferentielInvalid

    failed = False
    for path in files:
        try:
            model = _read(path)
        except ReferentielInvalid as exc:
            failed = True
            for line in exc.errors:
                typer.echo(line, err=True)
            continue
        typer.echo(
            f"{path} : conforme ({model.certification.code}, version « {model.version} », {len(model.blocs)} bloc(s))"
        )
        for item in model.placeholders():
            typer.echo(f"  à compléter : {item}")
    if failed:
        raise typer.Exit(1)


@referentiels.command(
    "load",
    help="Charge un fichier comme nouvelle version (brouillon) d'une certification, "
    "l'active à une date si demandé ; recharger le même contenu ne change rien.",
)
def referentiels_load(
    file: str = typer.Argument(..., help="Fichier YAML (ou JSON) de la version"),
    officer: str = typer.Option(..., "--officer", help="Adresse du compte de chargé·e de certification (journal)"),
    activate_on: str | None = typer.Option(None, "--activate-on", help="Date d'entrée en vigueur (AAAA-MM-JJ)"),
    reason: str | None = typer.Option(None, "--reason", help="Motif, inscrit au journal"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Afficher les changements sans rien enregistrer"),
) -> None:
    from certification.db import session_scope
    from certification.errors import DomainError
    from pathlib import Path

    from certification.referentiel import service

    model = _read_or_fail(file)
    on = _day(activate_on, "--activate-on")
    prepare_database()
    try:
        with session_scope() as db:
            actor = _officer(db, officer)
            for line in service.describe(service.preview(db, actor, model, Path(file).name)):
                typer.echo(line)
            if dry_run:
                db.rollback()
                typer.echo("Simulation : rien n'a été enregistré.")
                return
            version, created = service.load_version(
                db, actor, model, source=Path(file).name, activate_on=on, reason=reason
            )
            state = service.state_of(db, version)
            label, since = version.label, version.valid_from
    except DomainError as exc:
        _fail(exc.message)
    typer.echo(
        f"Version « {label} » {'chargée' if created else 'déjà chargée'} : {state}"
        + (f" à compter du {since:%d/%m/%Y}" if since else "")
        + "."
    )


def _read_or_fail(path: str):
    from certification.referentiel.schema import ReferentielInvalid

    try:
        return _read(path)
    except ReferentielInvalid as exc:
        _fail("\n".join(exc.errors))


@referentiels.command("activate", help="Active une version chargée à une date (aujourd'hui ou plus tard).")
def referentiels_activate(
    certification: str = typer.Argument(..., help="Code de la certification (ex. CQP_SP)"),
    version: str = typer.Argument(..., help="Libellé de la version"),
    on: str | None = typer.Option(
        None, "--on", help="Date d'entrée en vigueur (AAAA-MM-JJ ; défaut : valid_from du fichier)"
    ),
    officer: str = typer.Option(..., "--officer", help="Adresse du compte de chargé·e de certification (journal)"),
    reason: str | None = typer.Option(None, "--reason", help="Motif, inscrit au journal"),
) -> None:
    from certification.db import session_scope
    from certification.errors import DomainError
    from certification.referentiel import service

    day = _day(on, "--on")
    prepare_database()
    try:
        with session_scope() as db:
            row = service.activate_version(db, _officer(db, officer), certification, version, on=day, reason=reason)
            since = row.valid_from
    except DomainError as exc:
        _fail(exc.message)
    typer.echo(f"Version « {version} » de {certification} active à compter du {since:%d/%m/%Y}.")


@referentiels.command("list", help="Liste les versions des référentiels (toutes les certifications ou une seule).")
def referentiels_list(certification: str | None = typer.Argument(None, help="Code de la certification")) -> None:
    from sqlmodel import select

    from certification.db import session_scope
    from certification.models import Certification
    from certification.referentiel import service

    prepare_database()
    with session_scope() as db:
        query = select(Certification).order_by(Certification.code)
        if certification:
            query = query.where(Certification.code == certification)
        certs = list(db.exec(query))
        if not certs:
            _fail(f"Certification inconnue : {certification}.")
        for cert in certs:
            typer.echo(f"{cert.code} — {cert.title}")
            for v in service.versions_of(db, cert.id):
                period = (f"du {v.valid_from:%d/%m/%Y}" if v.valid_from else "depuis l'origine") + (
                    f" au {v.valid_until:%d/%m/%Y}" if v.valid_until else ""
                )
                registry = f"{v.registry_kind or '—'} {v.registry_code or '(sans numéro)'}"
                typer.echo(
                    f"  version « {v.label} » : {service.state_of(db, v)}"
                    + (f", {period}" if v.status == "active" else "")
                    + f" ; {v.title} ; {registry} ; {v.source}"
                )
