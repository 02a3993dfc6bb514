"""A flow worker killed with SIGKILL in the middle of a jury's results, then restarted.

The results step of a 30-candidate jury (and of a 130-candidate one, the size of a real session) (``flows.jury.advance_jury``) runs in a separate Python
process sharing the test database and data directory (``CQP_DATABASE_URL`` / ``CQP_DATA_DIR``).
The test polls the database and kills the process without warning (no ``finally``, no rollback
on the client side) once some certificates exist, then runs the step again to completion: no
document twice (rows or files), certificate numbers 1..N without gap nor repeat, one results
e-mail per candidate; four Open Badges per certificate (the certification and its three blocs),
each issued once, verifiable and baked in the badges the e-mail carries; every PDF sealed once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import func, select

from certification.db import session_scope
from certification.jury.models import Certificate, JurySession
from certification.models_credentials import Credential
from documents.models import GeneratedDocument
from notifications.models import OutboxMessage
from notifications.outbox import deliver_pending
from notifications.transport import DEDUPE_HEADER, FileTransport
from tests.factories import deliberated_session, ready_candidates

pytestmark = pytest.mark.integration
SIZE = 30
ROOT = Path(__file__).resolve().parents[2]
WORKER = "import sys; from flows.jury import advance_jury; print(advance_jury(int(sys.argv[1])).state)"


def counts(session_id: int) -> dict[str, int]:
    with session_scope() as db:
        return {
            "certificates": db.exec(select(func.count()).select_from(Certificate)).one(),
            "documents": db.exec(select(func.count()).select_from(GeneratedDocument)).one(),
            "mails": db.exec(select(func.count()).select_from(OutboxMessage)).one(),
            "credentials": db.exec(select(func.count()).select_from(Credential)).one(),
            "state": db.get(JurySession, session_id).state,
        }


def worker(session_id: int) -> subprocess.Popen:
    env = {**os.environ, "CQP_FLOW_DISPATCH": "none", "CQP_MAIL_TRANSPORT": "outbox", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(session_id)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_when(proc: subprocess.Popen, session_id: int, what: str, threshold: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the worker ended before being killed ({what} >= {threshold}): {out}\n{err[-3000:]}")
        seen = counts(session_id)
        if seen[what] >= threshold:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            return seen
        time.sleep(0.02)
    proc.kill()
    pytest.fail(f"{what} never reached {threshold}")


@pytest.mark.parametrize(
    ("what", "threshold", "size"),
    [("certificates", 8, SIZE), ("documents", 12, SIZE), ("certificates", 77, 130)],
    ids=["while-issuing", "while-rendering-and-mailing", "130-candidates-killed-at-77"],
)
def test_worker_killed_mid_results_then_restarted(world, settings, what, threshold, size):
    SIZE = size  # noqa: N806 - the module's default size, or the 130 of a real jury
    ids = ready_candidates(world["structure"], SIZE)
    sid = deliberated_session(world, ids)

    proc = worker(sid)
    at_kill = kill_when(proc, sid, what, threshold)
    assert proc.returncode == -signal.SIGKILL
    after_kill = counts(sid)
    print(f"\nkilled at {at_kill}; committed when killed: {after_kill}")
    assert after_kill["state"] == "pv_signed"  # killed before the end
    assert after_kill["documents"] < SIZE + 1 or after_kill["mails"] < SIZE

    restarted = worker(sid)
    out, err = restarted.communicate(timeout=300)
    assert restarted.returncode == 0, err[-3000:]
    assert out.strip() == "results_notified"

    with session_scope() as db:
        certificates = list(db.exec(select(Certificate).order_by(Certificate.id)))
        documents = list(db.exec(select(GeneratedDocument)))
        mails = list(db.exec(select(OutboxMessage)))
        assert db.get(JurySession, sid).state == "results_notified"

    # Certificates: one per candidate, numbers 1..N, contiguous, never repeated.
    assert sorted(c.candidate_id for c in certificates) == sorted(ids)
    numbers = sorted(int(c.number.rsplit("-", 1)[1]) for c in certificates)
    assert numbers == list(range(1, SIZE + 1)), numbers

    # Documents: one row per (entity, kind, version), one file per row, nothing else generated.
    keys = Counter((d.entity_type, d.entity_id, d.kind, d.version) for d in documents)
    assert len(documents) == SIZE + 1 and set(keys.values()) == {1}
    assert {d.entity_id for d in documents if d.entity_type == "certificates"} == {c.id for c in certificates}
    generated = settings.data_dir / "generated"
    pdfs = sorted(p.relative_to(settings.data_dir).as_posix() for p in generated.rglob("*.pdf"))
    assert pdfs == sorted(d.relative_path for d in documents)
    for d in documents:
        assert (settings.data_dir / d.relative_path).stat().st_size == d.size

    # One results e-mail per candidate, once (and one for their structure).
    results = [m for m in mails if ":results:c" in m.dedupe_key]
    assert len([m for m in mails if ":results:s" in m.dedupe_key]) == 1
    assert len(results) == SIZE and len({m.dedupe_key for m in mails}) == len(mails)
    per_candidate = Counter(a for m in results for a in m.to_addrs if a.startswith("candidat"))
    assert len(per_candidate) == SIZE and set(per_candidate.values()) == {1}
    for m in results:  # each carries its own certificate (sealed PDF) and its Open Badges (baked PNG)
        pdf, *badges = m.attachments
        assert pdf["relative_path"].startswith("generated/certificates/") and pdf["content_type"] == "application/pdf"
        assert len(badges) == 4 and {b["content_type"] for b in badges} == {"image/png"}

    # Credentials: a certificate and three blocs per candidate, exactly once, each verifiable.
    check_credentials_once(certificates, documents, mails, settings)

    # Delivered to the outbox directory: one .eml per message.
    report = asyncio.run(deliver_pending(session_engine(), FileTransport(settings.outbox_dir)))
    assert report.sent == len(mails) and report.failed == 0
    emls = list(settings.outbox_dir.glob("*.eml"))
    assert len(emls) == len(mails)
    from email import message_from_bytes, policy

    keys_on_disk = Counter(str(message_from_bytes(p.read_bytes(), policy=policy.default)[DEDUPE_HEADER]) for p in emls)
    assert set(keys_on_disk.values()) == {1} and set(keys_on_disk) == {m.dedupe_key for m in mails}

    # A third run does nothing.
    again = worker(sid)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err[-3000:]
    assert counts(sid) == {
        "certificates": SIZE,
        "documents": SIZE + 1,
        "mails": len(mails),
        "credentials": 4 * SIZE,
        "state": "results_notified",
    }


def check_credentials_once(certificates, documents, mails, settings) -> None:
    from certification import keys
    from certification.services import credentials as credential_svc
    from documents.badge import unbake
    from tests.credentials.independent import check_open_badge, decode_verified, pdf_is_valid, status_bit

    with session_scope() as db:
        rows = list(db.exec(select(Credential)))
        status_list = credential_svc.signed_status_list(db)
    per_certificate = Counter(r.certificate_id for r in rows)
    assert set(per_certificate) == {c.id for c in certificates} and set(per_certificate.values()) == {4}
    assert len({(r.certificate_id, r.achievement_key) for r in rows}) == len(rows)
    assert sorted(r.status_index for r in rows) == list(range(len(rows)))  # no index lost nor repeated
    jwks = keys.public_jwks()
    assert len(jwks["keys"]) == 1  # the worker and its restart signed with the same key
    for row in rows:
        check_open_badge(decode_verified(row.jwt, jwks)[1])
        assert status_bit(status_list, jwks, row.status_index) is False
    baked = {
        unbake((settings.data_dir / a["relative_path"]).read_bytes())
        for m in mails
        for a in m.attachments
        if a["content_type"] == "image/png"
    }
    assert baked == {r.jwt for r in rows}
    ca = keys.seal().ca_file
    for d in documents:  # every PDF sealed, once, and valid
        assert pdf_is_valid((settings.data_dir / d.relative_path).read_bytes(), ca), d.relative_path


def session_engine():
    from certification.db import get_engine

    return get_engine()
