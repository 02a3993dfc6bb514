"""The retention step of the daily sweep: personal data past its period is deleted (see
``certification.services.retention`` and ``notifications.retention``), in one transaction with
its audit rows; the files no row refers to any more are unlinked after the commit."""

from __future__ import annotations

import anyio
from prefect import task

from certification.db import session_scope
from certification.services.retention import apply_retention, unlink_unreferenced
from notifications.retention import purge_webhook_deliveries, scrub_sent_emails


def apply_retention_rules() -> dict[str, int]:
    with session_scope() as db:
        result = apply_retention(db)
        emails, eml_files = scrub_sent_emails(db)
        deliveries = purge_webhook_deliveries(db)
    unlink_unreferenced(result.unlinked)
    for path in eml_files:
        path.unlink(missing_ok=True)
    counts = {"sent_emails": emails, "webhook_deliveries": deliveries}
    return {**result.counts, **{rule: count for rule, count in counts.items() if count}}


@task(name="apply-retention")
async def apply_retention_task() -> dict[str, int]:
    return await anyio.to_thread.run_sync(apply_retention_rules)
