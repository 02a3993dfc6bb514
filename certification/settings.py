"""Application settings, read from the environment (prefix ``CQP_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CQP_", env_file=".env", extra="ignore")

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
    visit_duration_minutes: int = 180

    # Candidates, juries, certificates
    bloc_validity_years: int = 5
    appeal_delay_months: int = 2
    verification_secret: SecretStr = SecretStr("dev-only-verification-secret-change-me")

    # Flows
    flow_dispatch: Literal["inline", "background", "deployment", "none"] = "background"
    sweep_interval_seconds: int = 300
    # Export of certified holders to the Caisse des Dépôts (flow cpf-export-all) with the officers' alerts:
    # its period in ``cqp run`` (0: never), and its cron schedule in ``cqp serve-flows``.
    cpf_export_interval_seconds: int = 86400
    cpf_export_cron: str = "0 7 * * *"

    # API
    token_ttl_hours: int = 12
    login_max_failures: int = 5  # per e-mail address in the window, then 429 until it slides
    login_max_failures_per_client: int = 50  # per client address in the window
    login_window_minutes: int = 15
    # Base of every link in e-mails, documents and QR codes. ``cqp run`` sets it to the address
    # it listens on (``--host``/``--port``) unless it is configured (CQP_PUBLIC_BASE_URL).
    public_base_url: str = "http://127.0.0.1:8000"

    # The certifier's identity, printed on every letter, certificate and e-mail
    certifier_name: str = Field(
        default="Organisme certificateur CQP de la branche des ACI",
        description="Legal name, without its article (documents print « l'Organisme… », « de l'Organisme… »).")
    certifier_article: str | None = Field(
        default=None, description="Definite article of the name: « le », « la », « l' », « les »; "
        "default: « l' » before a vowel sound, « le » otherwise.")
    certifier_address: str = "12 rue de la Certification\n75011 Paris"
    signatory_name: str = Field(default="Claire Martin", description="Who signs letters and certificates.")
    signatory_title: str = "responsable de la certification"
    signatory_sex: Literal["M", "F"] | None = "F"
    certifier_logo: str | None = Field(
        default=None, description="Logo file name under documents/templates (PNG or SVG); none: text letterhead.")

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


@lru_cache
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()
