"""Application settings, read from the environment (prefix ``CQP_``) or a ``.env`` file."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CQP_", env_file=".env", extra="ignore")

    # Secrets may also be files of this folder, one per setting, named like its variable in lower case
    # (e.g. ``cqp_verification_secret``, ``cqp_smtp_password``): Docker or Kubernetes secrets. The
    # environment wins over a file.
    secrets_path: Path | None = None

    # Storage
    data_dir: Path = Field(default=Path("var"), description="Root of every file the engine writes.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Default: SQLite file <data_dir>/cqp.db. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )

    # Uploads
    upload_max_bytes: int = 10 * 1024 * 1024
    upload_max_files: int = 20
    # Uploaded files that no dossier refers to (refused or failed actions, crashes) are deleted
    # by the daily sweep once they are this old.
    upload_orphan_grace_hours: float = 24.0

    # Mail
    mail_transport: Literal["outbox", "smtp"] = "outbox"
    mail_from: str = "Certification CQP <certification@cqp-aci.example.org>"
    officers_mailbox: str = "chargee-certification@cqp-aci.example.org"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_use_tls: bool = False
    smtp_timeout_seconds: float = 10.0
    mail_max_attempts: int = 8
    mail_backoff_seconds: float = 30.0
    # A message claimed by a process of another host that died is taken again after this lease
    # (a dead claimer on this host is detected at once).
    mail_claim_lease_seconds: float = 600.0

    # Webhooks (deliveries to integrators' URLs)
    webhook_max_attempts: int = 8
    webhook_backoff_seconds: float = 30.0
    webhook_timeout_seconds: float = 10.0

    # Process deadlines (agrément requests)
    complements_deadline_days: int = 30
    complements_reminder_days_before: list[int] = [15, 5]
    avis_deadline_days: int = 21
    avis_reminder_days_before: int = 5
    agrement_validity_years: int = 3

    # Agrément lifecycle and contrôles
    expiry_reminder_days_before: list[int] = [90, 30, 7]
    controle_periodic_after_days: int = 540  # a periodic contrôle is planned this long into an agrément
    action_plan_reminder_days_before: list[int] = [14, 3]
    action_plan_grace_days: int = 7  # after the deadline, an unanswered plan is escalated to the officer
    vae_recevabilite_days: int = 60  # the officer decides on a VAE request within this delay
    vae_recevabilite_reminder_days_before: list[int] = [14, 3]  # officers reminded before that deadline
    vae_livret2_reminder_after_days: int = 90  # no livret 2 this long after recevabilité: structure reminded
    visit_duration_minutes: int = 180

    # Candidates, juries, certificates
    bloc_validity_years: int = 5
    appeal_delay_months: int = 2
    verification_secret: SecretStr = SecretStr("dev-only-verification-secret-change-me")

    # Flows
    # Prefect's own variables, read here too (no prefix): the server the flows report to, and its UI
    # that the back-office links to (``cqp run`` sets both to the local server it starts).
    prefect_api_url: str | None = Field(default=None, validation_alias="PREFECT_API_URL")
    prefect_ui_url: str | None = Field(default=None, validation_alias="PREFECT_UI_URL")
    flow_dispatch: Literal["inline", "background", "deployment", "none"] = "background"
    # Background dispatch: runs of different dossiers at once (a dossier has at most one queued and
    # one running run); 0: 2 on SQLite (one writer at a time), 8 on PostgreSQL.
    flow_concurrency: int = 0
    # Processes rendering a big batch of documents (a jury's certificates); 0: one per core.
    render_processes: int = 0
    # Deployment dispatch (scale-out): a jury with more certificates to render than this hands
    # them, in parts of this size beyond its own first one, to runs of the ``jury-results-part``
    # deployment that other workers take; 0: never (every certificate rendered where the jury runs).
    render_part_size: int = 250
    # How long a jury's run waits without a document stored by its parts before rendering the rest
    # itself (a part that no worker took, or whose worker died).
    render_part_wait_seconds: int = 120
    sweep_interval_seconds: int = 300
    # Alerts to the officers' mailbox (one e-mail per incident, on top of the inbox until resolved):
    # a dossier's flow failed this many times in a row; a message still not sent after this many attempts.
    alert_flow_failures: int = 3
    alert_mail_attempts: int = 5
    # A run « Running » on the Prefect server that no process of this host vouches for is marked
    # Crashed (and its dossier's flow run again) once the server has heard nothing of it this long.
    flow_run_stale_after_seconds: float = 3600.0
    # Export of certified holders to the Caisse des Dépôts (flow cpf-export-all) with the officers' alerts:
    # its period in ``cqp run`` (0: never), and its cron schedule in ``cqp serve-flows``.
    cpf_export_interval_seconds: int = 86400
    cpf_export_cron: str = "0 7 * * *"
    # Identifiers given by the Caisse des Dépôts at the certifier's enrolment, and the export's alerts
    cpf_id_client: str = "00000000"  # 8 characters, « idClient » of the emitter and of the certifier
    cpf_id_contrat: str = "MCFCER000000"  # « idContrat » (at most 20 characters)
    cpf_modalite_acces: str = "FORMATION_CONTINUE_HORS_CONTRAT_DE_PROFESSIONNALISATION"
    cpf_alert_days_before: int = 30  # officers are alerted of records still owed this close to their due date
    cpf_report_reminder_days: int = Field(default=15, ge=0)  # a batch without report: reminders after N, 2N days

    # Retention of personal data (days), applied by the daily sweep (certification/services/retention.py).
    # Certificates, the register, bloc results, the audit trail and the CPF export data are kept.
    retention_days: dict[str, int] = {
        "ended_request_pieces": 730,  # pieces of a refused, withdrawn or closed agrément request, after it ended
        "evaluation_evidence": 365,  # evidence files of a certified or withdrawn candidate, after that
        "sent_emails": 365,  # e-mails of the outbox, after they were sent
        "login_records": 90,  # API and back-office sessions (tokens), after they expired or were revoked
        "webhook_deliveries": 90,  # delivered or abandoned webhook deliveries and their attempts, after the event
    }

    # Backups (cqp backup; scheduled in cqp run unless the interval is 0)
    backup_dir: Path | None = Field(default=None, description="Default: <data_dir>/../backups")
    backup_interval_seconds: int = 86400
    backup_keep: int = 14  # the most recent archives kept by the scheduled backup
    backup_sealed_settings: bool = False  # include the secret settings (encrypted with the passphrase below)
    backup_passphrase: SecretStr | None = None
    pg_bin_dir: Path = Path("/usr/lib/postgresql/15/bin")  # pg_dump / pg_restore (else found on PATH)

    # API
    token_ttl_hours: int = 12
    login_max_failures: int = 5  # per e-mail address in the window, then 429 until it slides
    login_max_failures_per_client: int = 50  # per client address in the window
    login_window_minutes: int = 15
    # Addresses (or networks, CIDR) of the reverse proxies whose X-Forwarded-For is believed; empty:
    # the header is ignored and the peer address is the client (login throttling, audit).
    trusted_proxies: list[str] = []
    password_min_length: int = 12
    db_retry_after_seconds: int = 5  # Retry-After of the 503 answered while the database is unreachable
    # Base of every link in e-mails, documents and QR codes. ``cqp run`` sets it to the address
    # it listens on (``--host``/``--port``) unless it is configured (CQP_PUBLIC_BASE_URL).
    public_base_url: str = "http://127.0.0.1:8000"

    # The certifier's identity, printed on every letter, certificate and e-mail
    certifier_name: str = Field(
        default="Organisme certificateur CQP de la branche des ACI",
        description="Legal name, without its article (documents print « l'Organisme… », « de l'Organisme… »).",
    )
    certifier_article: str | None = Field(
        default=None,
        description="Definite article of the name: « le », « la », « l' », « les »; "
        "default: « l' » before a vowel sound, « le » otherwise.",
    )
    certifier_address: str = "12 rue de la Certification\n75011 Paris"
    signatory_name: str = Field(default="Claire Martin", description="Who signs letters and certificates.")
    signatory_title: str = "responsable de la certification"
    signatory_sex: Literal["M", "F"] | None = "F"
    certifier_logo: str | None = Field(
        default=None, description="Logo file name under documents/templates (PNG or SVG); none: text letterhead."
    )

    # Signing keys (certification/keys.py). "embedded": keys and a local CA created on first use
    # under <data_dir>/keys/ (NOT FOR PRODUCTION); "production": the keys below must exist.
    keys_mode: Literal["embedded", "production"] = "embedded"
    # Ed25519 keys of the Open Badges credentials (PKCS#8 PEM files, one per key; the newest signs,
    # the others stay published so that older credentials remain verifiable). Default <data_dir>/keys/credentials.
    credential_keys_path: Path | None = None
    # PAdES seal of the PDFs in production: a PKCS#12 file (certifier's key + certificate + chain) and its
    # password, given directly (CQP_SIGNING_PKCS12_PASSWORD) or in a file readable by the engine only.
    signing_pkcs12_path: Path | None = None
    signing_pkcs12_password: SecretStr | None = None
    signing_pkcs12_password_path: Path | None = None
    # Documents sealed (PAdES) when they are stored.
    signed_document_kinds: list[str] = ["certificat", "attestation_blocs", "pv_jury"]

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'cqp.db').resolve()}"

    @property
    def generated_dir(self) -> Path:
        """Generated PDFs live under ``<data_dir>/generated/<entity>/<id>/``."""
        return self.data_dir / "generated"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def backups_dir(self) -> Path:
        return self.backup_dir or (self.data_dir.resolve().parent / "backups")

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    def pkcs12_password(self) -> bytes | None:
        if self.signing_pkcs12_password is not None:
            return self.signing_pkcs12_password.get_secret_value().encode()
        if self.signing_pkcs12_password_path is not None:
            return self.signing_pkcs12_password_path.read_text().strip().encode()
        return None


@lru_cache
def get_settings() -> Settings:
    settings = Settings()
    if settings.secrets_path is not None:
        settings = Settings(_secrets_dir=settings.secrets_path)
    return settings


def reset_settings_cache() -> None:
    get_settings.cache_clear()


def set_prefect_env_defaults() -> None:
    """Embedded defaults of Prefect's own settings, set before Prefect is first imported (by
    ``flows``); explicit environment values win."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_HOME", os.path.abspath(os.path.join("var", "prefect")))
    os.environ.setdefault("DO_NOT_TRACK", "1")
