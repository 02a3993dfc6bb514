"""Jury benchmark: from a deliberated, signed session to every document and e-mail, against the bare
loop of rendering the same PDFs and sending the same e-mails, in the same run.

    .venv/bin/python -m bench.jury                 # 130 and 1,000 candidates, file outbox
    .venv/bin/python -m bench.jury --sizes 130 --smtp    # through a local SMTP server (aiosmtpd)
    .venv/bin/python -m bench.jury --sizes 130 --profile /tmp/jury.prof  # + CPU profile (pstats)
    .venv/bin/python -m bench.jury --sizes 1000 --repeat 3   # three juries: median and spread of the ratio

Engine = the president's signature (``jury.service.sign_pv``: results applied and certificate
numbers drawn in its transaction) + ``flows.jury.advance_jury`` (what the session's steps owe:
convocations, « PV à signer », the PV, every certificate rendered on every core by
``documents.pool`` then stored with its audit row, one results e-mail per candidate and one per
structure) with ``notifications.outbox.deliver_while`` sending, in passes, the e-mails already
enqueued while the documents are still rendered (as ``flows.jury.jury_session_flow`` does), then
``deliver_pending`` once more for the rest (claim, build, send, record). Baseline =
``documents.render.render_pdf`` of the same templates and contexts, one after the other in one
process, written to disk (the QR code of each certificate drawn again, as it is part of the
document), then ``build_email`` + ``transport.send`` of the same outbox messages. Both sign the same outputs:
the PAdES seal of the certificates, attestations and PV, and each Open Badges credential signed and
baked into its badge image (``signing`` in the results: the per-certificate cost). Ratio target on
this 2-core machine: ≤ 0.65× (the engine uses both cores; the bare loop one).
Both are timed warm: the fonts and stylesheet loaded, and the engine's render pool started (a
long-running process keeps it from one jury to the next). Results: ``bench/results/jury.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import json
import os
import pstats
import resource
import sys
import threading
import time
from pathlib import Path

from bench import _env

TARGET_RATIO = 0.65
_TICK = os.sysconf("SC_CLK_TCK")


def _self_cpu() -> float:
    """Core-seconds used so far by this process (every thread), user + system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _workers_cpu() -> float:
    """Core-seconds used so far by the render pool's live workers (``/proc/<pid>/stat``)."""
    from documents import pool

    total = 0.0
    for pid in list(getattr(pool._pool, "_processes", None) or {}):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
    return total


class _ThreadProfiles:
    """``--profile``: one cProfile per thread that runs while enabled (the flow runs in a worker
    thread, the deliveries in others), merged into one ``pstats`` file."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []

    def _start(self, *_: object) -> None:
        profile = cProfile.Profile(time.thread_time)  # CPU time of its thread, not wall time
        self.profiles.append(profile)
        profile.enable()

    def __enter__(self) -> _ThreadProfiles:
        threading.setprofile(self._start)
        self._start()
        return self

    def __exit__(self, *_: object) -> None:
        threading.setprofile(None)  # type: ignore[arg-type]
        self.profiles[0].disable()

    def dump(self, path: Path) -> None:
        stats = None
        for profile in self.profiles:
            profile.snapshot_stats()
            stats = pstats.Stats(_Snapshot(profile.stats)) if stats is None else stats.add(_Snapshot(profile.stats))
        assert stats is not None
        stats.dump_stats(str(path))
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(40)


class _Snapshot:
    def __init__(self, stats: dict) -> None:
        self.stats = stats

    def create_stats(self) -> None:
        pass


def build_session(size: int) -> tuple[int, float, dict]:
    """A closed jury of ``size`` candidates (one in ten with a partial result), to be signed;
    returns (id, seconds, people)."""
    from tests.factories import closed_jury

    started = time.perf_counter()
    people, sid = closed_jury(size, partial_every=10)
    return sid, time.perf_counter() - started, people


def transport_for(settings, smtp):
    from notifications.transport import FileTransport, SmtpTransport

    if smtp is not None:
        return SmtpTransport(host="127.0.0.1", port=smtp.port)
    return FileTransport(settings.outbox_dir)


def run_size(size: int, use_smtp: bool, profile: Path | None = None) -> dict:
    data_dir = _env.prepare(f"jury{size}")
    from certification.db import session_scope
    from certification.jury.models import JurySession
    from documents.render import render_pdf
    from flows.jury import jury_context

    smtp = None
    if use_smtp:
        from tests.smtp import SmtpServer

        smtp = SmtpServer()
        smtp.start()
    try:
        sid, setup_s, people = build_session(size)
        print(f"[{size}] session ready in {setup_s:.1f} s", flush=True)
        with session_scope() as db:  # warm-up (fonts, stylesheet), outside both timings
            render_pdf("jury/pv_jury.html", jury_context(db, db.get(JurySession, sid)))
        # the render pool's workers, started once per process and kept (documents.pool), as in a
        # worker or an API that has already issued a jury: started outside the timing too
        from documents import pool

        pool.warm()
        if profile is None:
            engine = _engine_run(sid, people, smtp)
        else:
            with _ThreadProfiles() as profiles:
                engine = _engine_run(sid, people, smtp)
            profiles.dump(profile)
        bare = _bare_run(sid, data_dir, smtp)
    finally:
        if smtp:
            smtp.stop()
    return _result(size, use_smtp, setup_s, engine, bare)


def _engine_run(sid: int, people: dict, smtp) -> dict:
    """The engine: the president's signature, then the jury's advance with the outbox delivered in
    passes meanwhile, then once more; the moments (perf_counter) of each end."""
    from certification.db import get_engine, session_scope
    from certification.jury import service as jury_svc
    from certification.settings import get_settings
    from flows.jury import advance_jury
    from notifications.outbox import deliver_pending, deliver_while

    engine = get_engine()
    transport = transport_for(get_settings(), smtp)

    async def advance_and_deliver() -> tuple:
        """As ``flows.jury.jury_session_flow`` does: the outbox delivered in passes while the
        session's documents are rendered and stored, then once more when they all are."""
        advancing = asyncio.ensure_future(asyncio.to_thread(advance_jury, sid))
        early = await deliver_while(advancing, engine, transport, limit=200)
        outcome = await advancing
        advanced, early_sent = time.perf_counter(), early.sent
        return outcome, advanced, early_sent, early.add(await deliver_pending(engine, transport, limit=10**6))

    cpu0, workers0 = _self_cpu(), _workers_cpu()
    t0 = time.perf_counter()
    with session_scope() as db:
        jury_svc.sign_pv(db, people["presidente"]["actor"], sid)
    t_signed = time.perf_counter()
    cpu_signed = _self_cpu()
    outcome, t1, early_sent, report = asyncio.run(advance_and_deliver())
    t2 = time.perf_counter()
    cpu2, workers2 = _self_cpu(), _workers_cpu()
    assert outcome.state == "results_notified", outcome.state
    assert report.sent == len(outcome.mails) and report.failed == report.retried == 0, report
    return {
        "t0": t0,
        "signed": t_signed,
        "advanced": t1,
        "delivered": t2,
        "early_sent": early_sent,
        "cpu": {
            "sign_s": cpu_signed - cpu0,
            "flow_and_delivery_s": cpu2 - cpu_signed,
            "render_workers_s": workers2 - workers0,
        },
    }


def _bare_work(sid: int) -> tuple[list, list, list]:
    """What the engine produced, to produce again: (kind, context) of each document, the
    outbox messages, and each credential's payload with its badge's texts."""
    from sqlmodel import select

    from certification.db import session_scope
    from certification.jury.models import Certificate, JurySession
    from certification.models_credentials import Credential
    from documents import badge
    from documents.models import GeneratedDocument
    from flows.certificates import CERTIFICATE_TEMPLATES, certificate_context
    from flows.jury import jury_context
    from notifications.models import OutboxMessage

    with session_scope() as db:
        jury = db.get(JurySession, sid)
        work = []
        for doc in db.exec(select(GeneratedDocument).order_by(GeneratedDocument.id)):
            if doc.entity_type == JurySession.__tablename__:
                work.append((doc.kind, jury_context(db, jury)))
            else:
                certificate = db.get(Certificate, doc.entity_id)
                work.append((CERTIFICATE_TEMPLATES[certificate.kind], certificate_context(db, certificate)))
        messages = list(db.exec(select(OutboxMessage).order_by(OutboxMessage.id)))
        # the Open Badges: each credential signed again and baked into its badge image
        badges = [
            (json.loads(base64.urlsafe_b64decode(c.jwt.split(".")[1] + "==")), badge.badge_parts(db, c))
            for c in db.exec(select(Credential).order_by(Credential.id))
        ]
    return work, messages, badges


def _bare_run(sid: int, data_dir: Path, smtp) -> dict:
    """The bare loop: the same PDFs rendered, sealed and written one after the other, the same
    badges signed and baked, the same e-mails built and sent; its moments and signing costs."""
    from certification.services import credentials as credential_svc
    from certification.settings import get_settings
    from documents import badge, signing
    from documents.qr import qr_svg
    from documents.render import render_pdf
    from notifications.outbox import build_email
    from notifications.transport import FileTransport, SmtpTransport

    settings = get_settings()
    work, messages, badges = _bare_work(sid)
    bare_dir = data_dir / "bare"
    bare_dir.mkdir()
    seal_s = 0.0
    t3 = time.perf_counter()
    for i, (kind, ctx) in enumerate(work):
        if "certificate" in ctx:  # the QR code is part of the PDF: the bare loop draws it too
            ctx = {
                **ctx,
                "certificate": {**ctx["certificate"], "qr_svg": qr_svg(ctx["certificate"]["verification_url"])},
            }
        data = render_pdf(f"jury/{kind}.html", ctx)
        started = time.perf_counter()  # the PAdES seal, as documents.service does before storing
        if signing.should_seal(kind):
            data = signing.seal_pdf(data, kind=kind, context=ctx)
        seal_s += time.perf_counter() - started
        (bare_dir / f"{i}.pdf").write_bytes(data)
    started = time.perf_counter()
    for i, (payload, (heading, title)) in enumerate(badges):
        token = credential_svc._sign(payload)[0]
        image = badge.bake(badge.draw(heading, title, settings.certifier_name), token)
        (bare_dir / f"badge-{i}.png").write_bytes(image)
    badges_s = time.perf_counter() - started
    t4 = time.perf_counter()
    bare_transport = SmtpTransport(host="127.0.0.1", port=smtp.port) if smtp else FileTransport(bare_dir / "outbox")

    async def send_all() -> None:
        for m in messages:
            await bare_transport.send(build_email(m, data_dir))

    asyncio.run(send_all())
    t5 = time.perf_counter()
    if smtp:
        assert len(smtp.handler.envelopes) == 2 * len(messages)
    else:
        assert len(list(settings.outbox_dir.glob("*.eml"))) == len(messages)
    return {
        "t3": t3,
        "rendered": t4,
        "sent": t5,
        "seal_s": seal_s,
        "badges_s": badges_s,
        "documents": len(work),
        "emails": len(messages),
        "credentials": len(badges),
    }


def _result(size: int, use_smtp: bool, setup_s: float, engine: dict, bare: dict) -> dict:
    t0, t_signed, t1, t2 = engine["t0"], engine["signed"], engine["advanced"], engine["delivered"]
    t3, t4, t5 = bare["t3"], bare["rendered"], bare["sent"]
    seal_s, badges_s, documents = bare["seal_s"], bare["badges_s"], bare["documents"]
    engine_s, bare_s = t2 - t0, t5 - t3
    result = {
        "candidates": size,
        "documents": documents,
        "emails": bare["emails"],
        "transport": "smtp (aiosmtpd on 127.0.0.1)" if use_smtp else "file outbox (.eml)",
        "setup_s": round(setup_s, 2),
        "engine": {
            "total_s": round(engine_s, 2),
            "sign_s": round(t_signed - t0, 2),
            "sign_and_advance_jury_s": round(t1 - t0, 2),
            "deliver_after_s": round(t2 - t1, 2),
            "early_emails": engine["early_sent"],
            "per_candidate_ms": round(1000 * engine_s / size, 1),
        },
        "bare": {
            "total_s": round(bare_s, 2),
            "render_s": round(t4 - t3, 2),
            "send_s": round(t5 - t4, 2),
            "per_candidate_ms": round(1000 * bare_s / size, 1),
        },
        "signing": {
            "pades_s": round(seal_s, 2),
            "credentials_and_badges_s": round(badges_s, 2),
            "credentials": bare["credentials"],
            "per_certificate_ms": round(1000 * (seal_s + badges_s) / max(1, documents - 1), 1),
            "pades_per_pdf_ms": round(1000 * seal_s / max(1, documents), 1),
        },
        "engine_cpu": {  # core-seconds, meaningful on a loaded machine where wall times are not
            **{k: round(v, 2) for k, v in engine["cpu"].items()},
            "main_process_per_candidate_ms": round(
                1000 * (engine["cpu"]["sign_s"] + engine["cpu"]["flow_and_delivery_s"]) / size, 1
            ),
        },
        "ratio": round(engine_s / bare_s, 3),
        "ratio_documents": round((t1 - t0) / (t4 - t3), 3),  # sign + advance (with early e-mails) / bare render
        "target": TARGET_RATIO,
    }
    result["within_target"] = result["ratio"] <= TARGET_RATIO
    print(
        f"[{size}] engine {engine_s:.1f} s (sign {t_signed - t0:.1f}, advance {t1 - t_signed:.1f} with "
        f"{engine['early_sent']} e-mails sent meanwhile, then deliver {t2 - t1:.1f}) vs bare "
        f"{bare_s:.1f} s (render {t4 - t3:.1f} + send {t5 - t4:.1f}): ratio {result['ratio']:.2f}x "
        f"(target ≤ {TARGET_RATIO}x) — {documents} documents, {bare['emails']} e-mails",
        flush=True,
    )
    cpu = engine["cpu"]
    print(
        f"[{size}] engine CPU: signature {cpu['sign_s']:.2f} s, flow + delivery {cpu['flow_and_delivery_s']:.2f} s "
        f"({result['engine_cpu']['main_process_per_candidate_ms']} ms per candidate in the main process), "
        f"render workers {cpu['render_workers_s']:.2f} s",
        flush=True,
    )
    return result


def spread(size: int, ratios: list[float]) -> dict:
    """The ratios of the runs of one size: their median and range, and how many met the target."""
    ordered = sorted(ratios)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return {
        "candidates": size,
        "runs": len(ordered),
        "median": round(median, 3),
        "min": ordered[0],
        "max": ordered[-1],
        "within_target": sum(r <= TARGET_RATIO for r in ordered),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[130, 1000])
    parser.add_argument("--smtp", action="store_true", help="deliver through a local aiosmtpd instead of .eml files")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each size N times (a fresh jury each time) and state the ratios' median and spread",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="PATH",
        help="cProfile the engine's own process (every thread) into PATH (pstats; one size only)",
    )
    args = parser.parse_args(argv)
    if args.profile and (len(args.sizes) > 1 or args.repeat > 1):
        parser.error("--profile takes one size, once")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    try:
        results = [run_size(size, args.smtp, args.profile) for size in args.sizes for _ in range(args.repeat)]
    finally:
        _env.cleanup()
    summary = [spread(size, [r["ratio"] for r in results if r["candidates"] == size]) for size in args.sizes]
    for line in summary:
        print(
            f"[{line['candidates']}] ratio over {line['runs']} run(s): median {line['median']}x, "
            f"{line['min']}–{line['max']}x; within ≤ {TARGET_RATIO}x in {line['within_target']}",
            flush=True,
        )
    path = _env.write("jury" + ("-smtp" if args.smtp else ""), {"runs": results, "summary": summary})
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
