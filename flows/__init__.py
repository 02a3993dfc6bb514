"""Prefect flows driving each process instance from the database state."""

from certification.settings import set_prefect_env_defaults

# Embedded defaults, set before Prefect is imported (explicit environment values win).
set_prefect_env_defaults()
