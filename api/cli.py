"""Command line: ``cqp run`` (the main job), ``cqp demo``, ``cqp migrate``, ``cqp sweep``, ``cqp serve-flows``,
``cqp check``, ``cqp backup``, ``cqp restore``, ``cqp referentiels``."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import typer

app = typer.Typer(help="Moteur de processus de certification CQP (SP, EPSP).", no_args_is_help=True)


def _banner(lines: list[str]) -> None:
    width = max(len(line) for line in lines) + 4
    typer.echo("=" * width)
    for line in lines:
        typer.echo(f"  {line}")
    typer.echo("=" * width)


@app.command(help="Crée ou met à jour le schéma de la base (Alembic) et le référentiel (certifications, blocs).")
def migrate() -> None:
    """Create or upgrade the database schema (Alembic) and the referential (certifications, blocs)."""
    from certification.settings import get_settings

    prepare_database()
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
    from certification.agrement.states import AGREMENT_REQUEST
    from certification.jury.states import JURY

    settings = get_settings()
    state = AGREMENT_REQUEST.states.get(result.state, result.state)
    jury_state = JURY.states.get(result.jury_state, result.jury_state)
    lines = [
        f"Démonstration : demande {result.reference} -> état « {state} »"
        + (f", agrément {result.agrement_number}" if result.agrement_number else "")
        + (" (déjà faite)" if result.skipped else ""),
        *(
            [
                f"Jury {result.jury_reference} -> « {jury_state} », certificats et attestations : {', '.join(result.certificates)}",
                f"Vérification publique : {result.verification_url}",
                f"Contrôle {result.controle_reference} confié au contrôleur ; formation EPSP {result.training_reference}",
            ]
            if result.jury_reference
            else []
        ),
        f"PDF générés      : {generated.resolve()}",
        f"E-mails envoyés  : {outbox.resolve() if settings.mail_transport == 'outbox' else settings.smtp_host}",
        f"Comptes de démo (mot de passe « {DEMO_PASSWORD} ») :",
        *[f"  {ROLE_LABELS_FR[role]:<26} {email}" for email, _name, role in DEMO_USERS],
        f"  {ROLE_LABELS_FR[Role.structure]:<26} {DEMO_STRUCTURE_ACCOUNT[0]}",
        f"  {'présidente du jury':<26} {DEMO_JURY[0][0]}",
        f"Back-office : {settings.public_base_url}/app/",
    ]
    _banner(lines)


@app.command(
    help="Données de démonstration : chaque processus mené par l'API réelle, une étape en attente "
    "dans chaque boîte de réception."
)
def demo() -> None:
    """Sample data and one agrément request driven to a granted agrément."""
    prepare_database()
    _demo()


def _quiet_logging(verbose: bool) -> None:
    """Our INFO lines; Prefect's per-run and per-task lines only with ``--verbose``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("weasyprint", "fontTools", "httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # read when prefect is first imported
        for name in ("prefect", "prefect.flow_runs", "prefect.task_runs"):
            logging.getLogger(name).setLevel(logging.WARNING)


def _demo_pending() -> bool:
    """True until the demo request exists (the demo then runs flows: it needs Prefect)."""
    from sqlmodel import select

    from api.demo import DEMO_SIRET
    from certification.db import session_scope
    from certification.models import Structure
    from certification.agrement.models import AgrementRequest

    with session_scope() as db:
        structure = db.exec(select(Structure).where(Structure.siret == DEMO_SIRET)).first()
        return not (
            structure and db.exec(select(AgrementRequest).where(AgrementRequest.structure_id == structure.id)).first()
        )


def _announce_when_ready(url: str, lines: list[str], then=None) -> None:
    """Print the banner, with « prêt », once the API answers ``/health`` (from a thread); then
    call ``then`` (start the local Prefect server)."""
    import time
    import urllib.request

    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            time.sleep(0.05)
    _banner([f"Moteur de certification prêt : {url}/app/", *lines])
    if then is not None:
        then()


@app.command(
    help="Le service principal : migrations, démonstration au premier lancement, puis l'API, le "
    "back-office, les flux et le balayage périodique des échéances."
)
def run(
    host: str = typer.Option("127.0.0.1", help="Adresse d'écoute de l'API"),
    port: int = typer.Option(8000, help="Port de l'API"),
    demo: bool = typer.Option(True, help="Données de démonstration au premier lancement"),
    exit_after_demo: bool = typer.Option(False, "--exit-after-demo", help="S'arrêter après la démonstration"),
    verbose: bool = typer.Option(False, "--verbose", help="Journal détaillé de Prefect (chaque flux, chaque tâche)"),
    prefect_port: int = typer.Option(4200, help="Port du serveur Prefect local et de son interface"),
) -> None:
    """The main job: migrate, start the API at once and a local Prefect server (with its UI) in the
    background; the demo on first run; the flows and the periodic sweep once Prefect is ready.

    Actions taken before Prefect is ready are recorded and caught up by the first sweep, run as soon
    as it is. With ``CQP_FLOW_DISPATCH=deployment`` (scale-out) or ``PREFECT_API_URL`` set, no local
    server is started; in scale-out the flows, and the sweep, run on the workers (``cqp serve-flows``).
    """
    from certification.settings import get_settings

    _quiet_logging(verbose)
    # Links in e-mails and documents point at the address this server listens on, unless configured.
    link_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    os.environ.setdefault("CQP_PUBLIC_BASE_URL", f"http://{link_host}:{port}")
    from certification.settings import reset_settings_cache

    reset_settings_cache()
    dispatch_mode = get_settings().flow_dispatch
    prepare_database()
    from notifications.outbox import reclaim_orphaned

    reclaim_orphaned()  # messages left 'sending' by a previous process that died
    settings = get_settings()
    server = None
    if dispatch_mode != "deployment" and not settings.prefect_api_url:
        from api.prefect_server import LocalPrefectServer

        server = LocalPrefectServer(settings.data_dir, port=prefect_port)
        server.configure()  # started once the API answers (both would share the CPU meanwhile)
    try:
        if demo and _demo_pending():
            typer.echo("Premier lancement : démonstration (le serveur Prefect démarre)…")
            if server is not None:
                server.start()
            if server is not None and not server.wait():
                typer.echo(f"Le serveur Prefect n'a pas démarré (voir {server.home / 'server.log'}).", err=True)
                raise typer.Exit(1)
            _demo()
        if exit_after_demo:
            return
        _serve(host, port, dispatch_mode, server, verbose)
    finally:
        if server is not None:
            server.stop()


def _serve(host: str, port: int, dispatch_mode: str, server, verbose: bool) -> None:
    import threading

    import anyio
    import uvicorn

    from certification.settings import get_settings, reset_settings_cache

    sweeper = dispatch_mode != "deployment"
    # Until Prefect answers, actions are only recorded (the sweep catches them up once it does).
    pending = server is not None and (server.process is None or not server.healthy())
    os.environ["CQP_FLOW_DISPATCH"] = "none" if pending and dispatch_mode == "background" else dispatch_mode
    reset_settings_cache()
    from api.app import create_app

    async def prefect_ready() -> None:
        if pending:
            await anyio.to_thread.run_sync(server.wait)
        os.environ["CQP_FLOW_DISPATCH"] = dispatch_mode
        reset_settings_cache()

    settings = get_settings()
    lines = [
        f"API : http://{host}:{port}  (documentation : http://{host}:{port}/docs)",
        f"Interface Prefect : {server.ui_url} (démarrage en arrière-plan)"
        if server is not None
        else f"Serveur Prefect : {settings.prefect_api_url or 'éphémère'}",
        f"Base : {settings.sqlalchemy_url}",
        f"Balayage des échéances toutes les {settings.sweep_interval_seconds} s ; Ctrl-C pour arrêter."
        if sweeper
        else "Flux et balayage exécutés par les workers (cqp serve-flows) ; Ctrl-C pour arrêter.",
        (
            f"Export des certifiés vers la Caisse des Dépôts toutes les {settings.cpf_export_interval_seconds} s "
            f"(flux dans {(settings.data_dir / 'exports' / 'cpf').resolve()})"
            if settings.cpf_export_interval_seconds > 0
            else "Export vers la Caisse des Dépôts : désactivé"
        )
        if sweeper
        else "Export vers la Caisse des Dépôts : planifié sur les workers (cqp serve-flows)",
    ]
    threading.Thread(
        target=_announce_when_ready,
        args=(f"http://{host}:{port}", lines),
        kwargs={"then": server.start if server is not None else None},
        daemon=True,
    ).start()
    # X-Forwarded-For is read by api.security.client_address from the configured proxies only.
    web = uvicorn.Server(
        uvicorn.Config(
            create_app(sweeper=sweeper, ready=prefect_ready),
            host=host,
            port=port,
            log_level="info" if verbose else "warning",
            proxy_headers=False,
        )
    )
    _serve_until_signalled(web)


def _serve_until_signalled(web) -> None:
    """Serve from a thread; SIGINT and SIGTERM stay with this (main) thread and ask for a graceful
    stop. The flows run in the server's event loop: from a thread other than the main one, Prefect's
    engine installs no signal handler of its own, so a stop during a flow run is the same graceful
    stop (requests finished, the run completed or left owed for the next start's sweep). A second
    signal forces the exit. ``run`` then stops the local Prefect server (its ``finally``)."""
    import threading

    def stop(_signum: int, _frame: object) -> None:
        if web.should_exit:
            web.force_exit = True
        web.should_exit = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    thread = threading.Thread(target=web.run, name="cqp-api", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.2)  # wakes up for the signal handlers, which run in this thread
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not web.started and not web.should_exit:
        raise typer.Exit(1)  # could not start (port taken…): uvicorn said why


def openapi_document() -> str:
    """The API's OpenAPI document, as committed in ``openapi.json`` (sorted keys, stable)."""
    import json

    from api.app import create_app

    return json.dumps(create_app().openapi(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


@app.command()
def openapi() -> None:
    """Écrire le document OpenAPI de l'API (ex. `cqp openapi > openapi.json`)."""
    typer.echo(openapi_document(), nl=False)


@app.command(help="Exécute une fois le balayage des échéances et des relances (cron ou planification Prefect).")
def sweep() -> None:
    """Run the deadline and reminder sweep once (for cron or a Prefect schedule)."""
    from flows.sweep import daily_sweep_flow

    typer.echo(asyncio.run(daily_sweep_flow()))


def scheduled_deployments(sweep_cron: str, cpf_export_cron: str) -> list:
    """The deployments ``serve-flows`` serves: one per process, the parts of a big jury's results,
    the daily sweep and the export of certified holders to the Caisse des Dépôts on their cron schedules. Entrypoints are module
    paths (``flows.agrement.…``), so a worker does not depend on its working directory."""
    from prefect.types.entrypoint import EntrypointType

    from flows.cpf import cpf_export_all_flow
    from flows.dispatch import PROCESSES, load_flow
    from flows.jury_results import PART_DEPLOYMENT, jury_results_part_flow
    from flows.sweep import daily_sweep_flow

    module = EntrypointType.MODULE_PATH
    deployments = [
        load_flow(process).to_deployment(name=process.deployment.split("/")[1], entrypoint_type=module)
        for process in PROCESSES.values()
    ]
    return [
        *deployments,
        # a part of a big jury's certificates, handed over by the jury's run to any worker
        jury_results_part_flow.to_deployment(name=PART_DEPLOYMENT.split("/")[1], entrypoint_type=module),
        daily_sweep_flow.to_deployment(name="daily-sweep", cron=sweep_cron, entrypoint_type=module),
        cpf_export_all_flow.to_deployment(name="cpf-export-all", cron=cpf_export_cron, entrypoint_type=module),
    ]


@app.command(
    "serve-flows",
    help="Worker de montée en charge : sert les flux comme déploiements d'un serveur "
    "Prefect (PREFECT_API_URL), avec le balayage et l'export vers la Caisse des Dépôts.",
)
def serve_flows(
    sweep_cron: str = typer.Option("0 6 * * *", help="Planification cron du balayage quotidien"),
    cpf_export_cron: str | None = typer.Option(
        None,
        help="Planification cron de l'export des certifiés vers la Caisse des Dépôts "
        "(défaut : CQP_CPF_EXPORT_CRON, « 0 7 * * * »)",
    ),
) -> None:
    """Scale-out worker: serve the flows as deployments of a Prefect server (PREFECT_API_URL).

    Start as many as needed, on as many machines: they register the same deployments, and each
    run is taken by one of them; stopping one does not pause the deployments that the others
    still serve.
    """
    from prefect import serve

    from certification.settings import get_settings
    from flows.monitoring import recover

    asyncio.run(recover())  # messages and runs left by a process of this host that died
    serve(
        *scheduled_deployments(sweep_cron, cpf_export_cron or get_settings().cpf_export_cron), pause_on_shutdown=False
    )


@app.command(
    help="Vérifie l'installation : fichiers et leur empreinte SHA-256, registre des numéros de "
    "certificat, chaîne du journal d'audit. Code de sortie 1 à la moindre anomalie."
)
def check() -> None:
    """Verify the installation: files and their SHA-256, the register of certificate numbers, the
    audit chain. Exit code 1 on any problem."""
    from api.maintenance import check_installation
    from certification.settings import get_settings

    report = check_installation()
    typer.echo(f"Vérification de l'installation ({get_settings().data_dir.resolve()}) :")
    typer.echo(f"  fichiers : {'conformes' if not report.files else f'{len(report.files)} anomalie(s)'}")
    typer.echo(
        f"  registre des numéros : {'complet' if not report.register else f'{len(report.register)} anomalie(s)'}"
    )
    typer.echo(
        f"  journal d'audit : {report.chain.checked} ligne(s), "
        + ("chaîne intacte" if report.chain.intact else "chaîne rompue")
    )
    for problem in report.problems:
        typer.echo(f"  - {problem}")
    if not report.ok:
        typer.echo("Anomalies détectées.", err=True)
        raise typer.Exit(1)
    typer.echo("Aucune anomalie.")


@app.command(
    "backup",
    help="Écrit une archive datée (base, fichiers, configuration, manifeste) pendant que le moteur fonctionne.",
)
def backup_cmd(
    to: str | None = typer.Option(None, "--to", help="Dossier des archives (défaut : CQP_BACKUP_DIR)"),
    with_secrets: bool = typer.Option(False, "--with-secrets", help="Inclure les secrets, chiffrés"),
    passphrase: str | None = typer.Option(
        None, help="Phrase de passe du chiffrement des secrets (défaut : CQP_BACKUP_PASSPHRASE)"
    ),
) -> None:
    """Write one dated archive (database, files, configuration, manifest) while the engine runs."""
    from pathlib import Path

    from api.backup import BackupError, backup

    try:
        archive = backup(Path(to) if to else None, with_secrets=with_secrets or None, passphrase=passphrase)
    except BackupError as exc:
        typer.echo(f"Sauvegarde impossible : {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Sauvegarde écrite : {archive}")


@app.command("restore", help="Reconstruit une installation vide à partir d'une archive, puis : cqp check.")
def restore_cmd(
    archive: str = typer.Argument(..., help="Archive cqp-backup-….tar.gz"),
    passphrase: str | None = typer.Option(None, help="Phrase de passe des secrets (si sauvegardés)"),
) -> None:
    """Rebuild an empty installation (CQP_DATA_DIR, CQP_DATABASE_URL) from an archive; then run
    ``cqp migrate`` (newer schema) and ``cqp check``."""
    from pathlib import Path

    from api.backup import BackupError, restore

    try:
        result = restore(Path(archive), passphrase=passphrase)
    except BackupError as exc:
        typer.echo(f"Restauration impossible : {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Restauration terminée : base {result.database}, {result.files} fichier(s).")
    if result.secrets_file:
        typer.echo(f"Secrets restaurés dans {result.secrets_file} (à charger dans l'environnement, droits 600).")
    typer.echo("Vérifiez l'installation restaurée : cqp check")


@app.command("create-user", help="Crée un compte.")
def create_user_cmd(
    email: str = typer.Option(...),
    name: str = typer.Option(..., help="Nom complet"),
    role: str = typer.Option(
        ...,
        help="Rôle : officer (chargé·e de certification), mandataire, controleur, "
        "formateur, jury_member (membre de jury), structure",
    ),
    sex: str | None = typer.Option(
        None, help="Sexe (M ou F), facultatif : formules « Madame »/« Monsieur » et accords"
    ),
    password: str = typer.Option(
        ...,
        prompt="Mot de passe",
        hide_input=True,
        confirmation_prompt=True,
        help="Mot de passe (demandé s'il n'est pas donné)",
    ),
) -> None:
    """Create an account."""
    from certification.db import session_scope
    from certification.services.users import create_user

    with session_scope() as db:
        user = create_user(
            db, email=email, full_name=name, role=role, password=password, sex=sex.upper() if sex else None
        )
        typer.echo(f"Compte créé : {user.email} ({user.role}), id {user.id}")


from api.cli_referentiels import prepare_database, referentiels  # noqa: E402  (the sub-command, after the app)

app.add_typer(referentiels, name="referentiels")

if __name__ == "__main__":
    app()
