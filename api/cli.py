"""Command line: ``cqp run`` (the main job), ``cqp demo``, ``cqp migrate``, ``cqp sweep``, ``cqp serve-flows``."""

from __future__ import annotations

import asyncio
import logging
import os

import typer

app = typer.Typer(help="Moteur de processus de certification CQP (SP, EPSP).", no_args_is_help=True)


def _banner(lines: list[str]) -> None:
    width = max(len(line) for line in lines) + 4
    typer.echo("=" * width)
    for line in lines:
        typer.echo(f"  {line}")
    typer.echo("=" * width)


def _upgrade() -> None:
    """Alembic migrations, then the certifications of the branch and their blocs (idempotent)."""
    from certification.db import session_scope
    from certification.migrate import upgrade
    from certification.services.referential import ensure_referential

    upgrade()
    with session_scope() as session:
        ensure_referential(session)


@app.command(help="Crée ou met à jour le schéma de la base (Alembic) et le référentiel (certifications, blocs).")
def migrate() -> None:
    """Create or upgrade the database schema (Alembic) and the referential (certifications, blocs)."""
    from certification.settings import get_settings

    _upgrade()
    typer.echo(f"Base de données à jour : {get_settings().sqlalchemy_url}")


def _demo() -> None:
    from api.app import create_app
    from api.demo import DEMO_JURY, DEMO_PASSWORD, DEMO_STRUCTURE_ACCOUNT, DEMO_USERS, demo_paths, run_demo
    from certification.models import ROLE_LABELS_FR, Role
    from certification.settings import get_settings, reset_settings_cache

    os.environ["CQP_FLOW_DISPATCH"] = "inline"
    reset_settings_cache()
    result = run_demo(create_app())
    generated, outbox = demo_paths()
    from certification.processes.agrement import AGREMENT_REQUEST
    from certification.processes.certification import JURY

    settings = get_settings()
    state = AGREMENT_REQUEST.states.get(result.state, result.state)
    jury_state = JURY.states.get(result.jury_state, result.jury_state)
    lines = [
        f"Démonstration : demande {result.reference} -> état « {state} »"
        + (f", agrément {result.agrement_number}" if result.agrement_number else "")
        + (" (déjà faite)" if result.skipped else ""),
        *([f"Jury {result.jury_reference} -> « {jury_state} », certificats et attestations : {', '.join(result.certificates)}",
           f"Vérification publique : {result.verification_url}",
           f"Contrôle {result.controle_reference} confié au contrôleur ; formation EPSP {result.training_reference}"]
          if result.jury_reference else []),
        f"PDF générés      : {generated.resolve()}",
        f"E-mails envoyés  : {outbox.resolve() if settings.mail_transport == 'outbox' else settings.smtp_host}",
        f"Comptes de démo (mot de passe « {DEMO_PASSWORD} ») :",
        *[f"  {ROLE_LABELS_FR[role]:<26} {email}" for email, _name, role in DEMO_USERS],
        f"  {ROLE_LABELS_FR[Role.structure]:<26} {DEMO_STRUCTURE_ACCOUNT[0]}",
        f"  {'présidente du jury':<26} {DEMO_JURY[0][0]}",
        f"Back-office : {settings.public_base_url}/app/",
    ]
    _banner(lines)


@app.command(help="Données de démonstration : chaque processus mené par l'API réelle, une étape en attente "
                  "dans chaque boîte de réception.")
def demo() -> None:
    """Sample data and one agrément request driven to a granted agrément."""
    _upgrade()
    _demo()


@app.command(help="Le service principal : migrations, démonstration au premier lancement, puis l'API, le "
                  "back-office, les flux et le balayage périodique des échéances.")
def run(
    host: str = typer.Option("127.0.0.1", help="Adresse d'écoute de l'API"),
    port: int = typer.Option(8000, help="Port de l'API"),
    demo: bool = typer.Option(True, help="Données de démonstration au premier lancement"),
    exit_after_demo: bool = typer.Option(False, "--exit-after-demo", help="S'arrêter après la démonstration"),
) -> None:
    """The main job: migrate, demo on first run, then the API with its flows and periodic sweep.

    With ``CQP_FLOW_DISPATCH=deployment`` (scale-out) the flows, and the sweep, run on the workers
    (``cqp serve-flows``): this process only serves the API.
    """
    import uvicorn

    from certification.settings import get_settings, reset_settings_cache

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("weasyprint", "fontTools", "httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    dispatch_mode = os.environ.get("CQP_FLOW_DISPATCH", "background")
    # Links in e-mails and documents point at the address this server listens on, unless configured.
    link_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    os.environ.setdefault("CQP_PUBLIC_BASE_URL", f"http://{link_host}:{port}")
    reset_settings_cache()
    _upgrade()
    if demo:
        _demo()
    if exit_after_demo:
        return
    os.environ["CQP_FLOW_DISPATCH"] = dispatch_mode  # the demo ran its flows inline
    reset_settings_cache()
    from api.app import create_app

    settings = get_settings()
    sweeper = settings.flow_dispatch != "deployment"
    _banner([
        f"API : http://{host}:{port}  (documentation : http://{host}:{port}/docs)",
        f"Base : {settings.sqlalchemy_url}",
        f"Balayage des échéances toutes les {settings.sweep_interval_seconds} s ; Ctrl-C pour arrêter."
        if sweeper else "Flux et balayage exécutés par les workers (cqp serve-flows) ; Ctrl-C pour arrêter.",
        (f"Export des certifiés vers la Caisse des Dépôts toutes les {settings.cpf_export_interval_seconds} s "
         f"(flux dans {(settings.data_dir / 'exports' / 'cpf').resolve()})"
         if settings.cpf_export_interval_seconds > 0 else "Export vers la Caisse des Dépôts : désactivé")
        if sweeper else "Export vers la Caisse des Dépôts : planifié sur les workers (cqp serve-flows)",
    ])
    uvicorn.run(create_app(sweeper=sweeper), host=host, port=port, log_level="info")


@app.command(help="Exécute une fois le balayage des échéances et des relances (cron ou planification Prefect).")
def sweep() -> None:
    """Run the deadline and reminder sweep once (for cron or a Prefect schedule)."""
    from flows.sweep import daily_sweep_flow

    typer.echo(asyncio.run(daily_sweep_flow()))


def scheduled_deployments(sweep_cron: str, cpf_export_cron: str) -> list:
    """The deployments ``serve-flows`` serves: one per process, the daily sweep and the export of
    certified holders to the Caisse des Dépôts on their cron schedules. Entrypoints are module
    paths (``flows.agrement.…``), so a worker does not depend on its working directory."""
    from prefect.types.entrypoint import EntrypointType

    from flows.cpf_export import cpf_export_all_flow
    from flows.dispatch import PROCESSES, load_flow
    from flows.sweep import daily_sweep_flow

    module = EntrypointType.MODULE_PATH
    deployments = [
        load_flow(process).to_deployment(name=process.deployment.split("/")[1], entrypoint_type=module)
        for process in PROCESSES.values()
    ]
    return [
        *deployments,
        daily_sweep_flow.to_deployment(name="daily-sweep", cron=sweep_cron, entrypoint_type=module),
        cpf_export_all_flow.to_deployment(name="cpf-export-all", cron=cpf_export_cron, entrypoint_type=module),
    ]


@app.command("serve-flows", help="Worker de montée en charge : sert les flux comme déploiements d'un serveur "
                                  "Prefect (PREFECT_API_URL), avec le balayage et l'export vers la Caisse des Dépôts.")
def serve_flows(
    sweep_cron: str = typer.Option("0 6 * * *", help="Planification cron du balayage quotidien"),
    cpf_export_cron: str | None = typer.Option(
        None, help="Planification cron de l'export des certifiés vers la Caisse des Dépôts "
                   "(défaut : CQP_CPF_EXPORT_CRON, « 0 7 * * * »)"),
) -> None:
    """Scale-out worker: serve the flows as deployments of a Prefect server (PREFECT_API_URL).

    Start as many as needed, on as many machines: they register the same deployments, and each
    run is taken by one of them; stopping one does not pause the deployments that the others
    still serve.
    """
    from prefect import serve

    from certification.settings import get_settings

    serve(*scheduled_deployments(sweep_cron, cpf_export_cron or get_settings().cpf_export_cron),
          pause_on_shutdown=False)


@app.command("create-user", help="Crée un compte.")
def create_user_cmd(
    email: str = typer.Option(...),
    name: str = typer.Option(..., help="Nom complet"),
    role: str = typer.Option(..., help="Rôle : officer (chargé·e de certification), mandataire, controleur, "
                                       "formateur, jury_member (membre de jury), structure"),
    sex: str | None = typer.Option(None, help="Sexe (M ou F), facultatif : formules « Madame »/« Monsieur » et accords"),
    password: str = typer.Option(..., prompt="Mot de passe", hide_input=True, confirmation_prompt=True,
                                 help="Mot de passe (demandé s'il n'est pas donné)"),
) -> None:
    """Create an account."""
    from certification.db import session_scope
    from certification.services.users import create_user

    with session_scope() as session:
        user = create_user(session, email=email, full_name=name, role=role, password=password,
                           sex=sex.upper() if sex else None)
        typer.echo(f"Compte créé : {user.email} ({user.role}), id {user.id}")


if __name__ == "__main__":
    app()
