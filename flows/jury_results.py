"""The results of a signed jury session: the PV, each candidate's certificate or attestation with
its badges, one results e-mail per candidate and one per structure (:func:`results`, run by the
jury's flow, :mod:`flows.jury`).

The documents are rendered on every core of the worker (``documents.pool``). In the scale-out
mode (``CQP_FLOW_DISPATCH=deployment``), a jury with more than ``render_part_size``
certificates to render hands the rest, in parts of that size, to runs of the
``jury-results-part`` deployment, which any worker takes (:func:`store_certificates`); the
jury's run renders its own first part meanwhile, waits for the others' documents, then sends
every e-mail, rendering itself whatever a part left undone (a part no worker took, a worker
that died). Every document and e-mail is keyed: exactly once, whoever renders it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import anyio
from prefect import flow, get_run_logger
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from certification.appeals.models import Appeal
from certification.appeals.states import AppealState
from certification.candidates.models import Candidate
from certification.db import session_scope
from certification.jury.models import Certificate, JurySession
from certification.models import Certification
from certification.settings import get_settings
from documents import badge
from documents.storage import DocumentStore
from flows.certificates import CERT_ENTITY, CERTIFICATE_TEMPLATES, certificate_context, letter_template, version_events
from flows.effects import Effects

log = logging.getLogger(__name__)
ENTITY = JurySession.__tablename__
PROCESS = "jury"
RESULTS_ATTACHMENTS_MAX = 20  # a structure's results e-mail attaches its documents up to this many


@dataclass
class JuryOutcome:
    session_id: int
    state: str = ""
    transitions: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    mails: list[str] = field(default_factory=list)
    certificates: list[str] = field(default_factory=list)


def _notified_candidates(db: Session, jury: JurySession, pv_version: int) -> set[int] | None:
    """Who gets a results e-mail for this PV version: everyone at v1, appellants afterwards."""
    if pv_version == 1:
        return None
    return set(
        db.exec(
            select(Appeal.candidate_id).where(Appeal.session_id == jury.id, Appeal.state == AppealState.upheld.value)
        )
    )


def _certificate_document(
    db: Session,
    jury: JurySession,
    candidate_id: int,
    rendered: tuple[dict, bytes, list[tuple[str, bytes]]] | None = None,
) -> tuple[Any, dict | None, list[str], list[dict]]:
    """The candidate's certificate or attestation of this session, stored once, with its Open
    Badges (baked PNG attachments); (None, None, [], []) when the session issued none.
    ``rendered``: (context, PDF, [(badge path, image)]) made by a renderer process (``documents.pool``)."""
    certificate = db.exec(
        select(Certificate).where(
            Certificate.candidate_id == candidate_id, Certificate.session_id == jury.id, Certificate.state == "valid"
        )
    ).first()
    if certificate is None:
        return None, None, [], []
    data_dir = get_settings().data_dir
    if rendered is not None:
        cctx, pdf, images = rendered
        store = DocumentStore(data_dir)
        for relative, image in images:
            if store.digest(relative) is None:
                store.write(relative, image)
    else:
        cctx, pdf = certificate_context(db, certificate), None
    cfx = Effects(db, CERT_ENTITY, certificate.id, certificate.number)
    kind = CERTIFICATE_TEMPLATES[certificate.kind]
    document = cfx.letter(cctx, kind, certificate.version, pdf=pdf, template=f"{letter_template(kind)}.html")
    badges = badge.badge_attachments(db, certificate, data_dir)
    certificate_ctx = {
        **{k: v for k, v in cctx["certificate"].items() if k != "qr_svg"},
        "badges": len(badges),
        "credentials_verify_url": f"{get_settings().public_base_url}/credentials/verify",
    }
    return document, certificate_ctx, cfx.documents, badges


def _unstored_certificates(db: Session, session_id: int, candidate_ids: list[int]) -> list[Certificate]:
    """The session's valid certificates of these candidates whose current version has no stored
    document yet."""
    from documents.models import GeneratedDocument

    certificates = list(
        db.exec(
            select(Certificate).where(
                Certificate.session_id == session_id,
                Certificate.state == "valid",
                Certificate.candidate_id.in_(candidate_ids),
            )
        )
    )
    stored = {
        tuple(row)
        for row in db.exec(
            select(GeneratedDocument.entity_id, GeneratedDocument.kind, GeneratedDocument.version).where(
                GeneratedDocument.entity_type == CERT_ENTITY,
                GeneratedDocument.entity_id.in_([c.id for c in certificates]),
            )
        )
    }
    return [c for c in certificates if (c.id, CERTIFICATE_TEMPLATES[c.kind], c.version) not in stored]


def _pending_certificates(db: Session, jury: JurySession, candidate_ids: list[int]) -> dict[int, tuple]:
    """candidate id → (template, context without the QR drawing, badge jobs) of the certificates
    whose document is not stored yet, in the order of ``candidate_ids``."""
    data_dir = get_settings().data_dir
    certificates = _unstored_certificates(db, jury.id, candidate_ids)
    # held while the contexts are built (session.get then finds them in the identity map)
    held: list[Any] = list(db.exec(select(Candidate).where(Candidate.id.in_(candidate_ids))))
    held += list(db.exec(select(Certification).where(Certification.id.in_({c.certification_id for c in certificates}))))
    events = version_events(db, [c.id for c in certificates])
    pending = {}
    for certificate in certificates:
        kind = CERTIFICATE_TEMPLATES[certificate.kind]
        context = certificate_context(db, certificate, qr=False, events=events[certificate.id])
        pending[certificate.candidate_id] = (
            letter_template(kind),
            context,
            badge.badge_jobs(db, certificate, data_dir),
        )
    return {cid: pending[cid] for cid in candidate_ids if cid in pending}


def _made(item: tuple, rendered: Iterator[tuple[bytes, list[bytes]]]) -> tuple[dict, bytes, list[tuple[str, bytes]]]:
    """The next of ``rendered`` for the pending ``item`` (template, context, badge jobs): (context,
    PDF, [(badge path, image)]), as ``_certificate_document`` stores them."""
    _, context, jobs = item
    pdf, images = next(rendered)
    return context, pdf, [(job[0], image) for job, image in zip(jobs, images, strict=True)]


def results(
    engine: Engine | None,
    jury_id: int,
    pv_version: int,
    out: JuryOutcome,
    context_of: Callable[[Session, JurySession], dict[str, Any]],
) -> None:
    """The PV of this version, every certificate's document, one results e-mail per structure
    (its candidates, documents attached) and one per candidate who has an address.

    The PV, the certificates and their badges are rendered on every core (a process pool,
    ``documents.pool``) while this process stores each one as it arrives and mails its
    candidate, one candidate per transaction: a restart resumes where it stopped. In the
    scale-out mode, a big jury's certificates beyond a first part are rendered and stored by
    other workers (``jury-results-part`` runs) meanwhile; this run then mails those candidates,
    rendering itself whatever a part left undone.
    """
    from documents.pool import render_iter
    from documents.service import get_document

    with session_scope(engine) as db:
        jury = db.get(JurySession, jury_id)
        ctx = context_of(db, jury)
        pv_missing = get_document(db, entity_type=ENTITY, entity_id=jury.id, kind="pv_jury", version=pv_version) is None
        recipients = _notified_candidates(db, jury, pv_version)
        entries = [c for c in ctx["jury"]["candidates"] if recipients is None or c["id"] in recipients]
        pending = _pending_certificates(db, jury, [e["id"] for e in entries])
        reference = jury.reference
    parts = _parts(list(pending))
    runs = hand_off_parts(jury_id, parts[1:]) if len(parts) > 1 else []
    handed = {cid for part in parts[1:] for cid in part} if runs else set()
    mine = {cid: item for cid, item in pending.items() if cid not in handed}
    work = ([(letter_template("pv_jury"), ctx, [])] if pv_missing else []) + list(mine.values())
    rendered = iter(render_iter(work))
    if pv_missing:
        pv_pdf, _ = next(rendered)
        with session_scope(engine) as db:
            fx = Effects(db, ENTITY, jury_id, reference)
            fx.letter(ctx, "pv_jury", pv_version, pdf=pv_pdf, template=f"{letter_template('pv_jury')}.html")
            out.documents += fx.documents
    listed: dict[int, dict] = {}
    own = [e for e in entries if e["id"] not in handed]
    _candidates_results(engine, jury_id, pv_version, ctx, own, mine, rendered, out, listed)
    if handed:
        _await_parts(engine, jury_id, sorted(handed), runs)
        with session_scope(engine) as db:  # what the parts left undone (none, unless one failed)
            rest = _pending_certificates(db, db.get(JurySession, jury_id), sorted(handed))
        others = [e for e in entries if e["id"] in handed]
        _candidates_results(
            engine, jury_id, pv_version, ctx, others, rest, iter(render_iter(list(rest.values()))), out, listed
        )
    by_structure: dict[int, list[dict]] = {}
    for entry in entries:  # in the PV's order, wherever each document was rendered
        by_structure.setdefault(entry["structure_id"], []).append(listed[entry["id"]])
    for structure_id, candidates in by_structure.items():
        with session_scope(engine) as db:
            jury = db.get(JurySession, jury_id)
            fx = Effects(db, ENTITY, jury.id, jury.reference)
            documents = [c["document"] for c in candidates if c["document"] is not None]
            attach = documents if len(documents) <= RESULTS_ATTACHMENTS_MAX else []
            fx.mail(
                ctx,
                f"results:s{structure_id}:v{pv_version}",
                "jury/resultats_jury_structure",
                [candidates[0]["structure_email"]],
                attach=attach,
                extra={
                    "structure_name": candidates[0]["structure_name"],
                    "listed": [{k: v for k, v in c.items() if k != "document"} for c in candidates],
                    "documents_attached": bool(attach),
                },
            )
            out.mails += fx.mails


def _candidates_results(
    engine: Engine | None,
    jury_id: int,
    pv_version: int,
    ctx: dict[str, Any],
    entries: list[dict],
    pending: dict[int, tuple],
    rendered: Any,
    out: JuryOutcome,
    listed: dict[int, dict],
) -> None:
    """For each entry, in order: its certificate stored (from ``rendered``, the PDFs of ``pending``
    in the same order; else already stored) and its results e-mail; what its structure's e-mail
    lists of it goes into ``listed``."""
    for entry in entries:  # one transaction per candidate: a restart resumes where it stopped
        made = _made(pending[entry["id"]], rendered) if entry["id"] in pending else None
        with session_scope(engine) as db:
            jury = db.get(JurySession, jury_id)
            document, certificate_ctx, documents, badges = _certificate_document(db, jury, entry["id"], made)
            out.documents += documents
            if certificate_ctx and certificate_ctx["number"] not in out.certificates:
                out.certificates.append(certificate_ctx["number"])
            fx = Effects(db, ENTITY, jury.id, jury.reference)
            if entry["email"]:
                fx.mail(
                    ctx,
                    f"results:c{entry['id']}:v{pv_version}",
                    "jury/resultats_jury",
                    [entry["email"]],
                    attach=[document, *badges] if document else [],
                    extra={
                        "candidate": entry,
                        "certificate": certificate_ctx,
                        "recipient_name": "",
                        "action_url": certificate_ctx["verification_url"] if certificate_ctx else "",
                    },
                )
            out.mails += fx.mails
        listed[entry["id"]] = {**entry, "certificate": certificate_ctx, "document": document}


# --- a big jury's certificates spread over the workers (scale-out) --------------------------------

PART_DEPLOYMENT = "jury-results-part/jury-results-part"
PART_POLL_S = 1.0


def _parts(candidate_ids: list[int]) -> list[list[int]]:
    """The candidates whose certificate is to be rendered, in parts: one (all of them) unless the
    flows are served by workers (scale-out) and there are more than ``render_part_size``."""
    settings = get_settings()
    size = settings.render_part_size
    if size <= 0 or len(candidate_ids) <= size or not _served_by_workers():
        return [candidate_ids]
    return [candidate_ids[i : i + size] for i in range(0, len(candidate_ids), size)]


def _served_by_workers() -> bool:
    """Whether this run is a deployment's, taken by a worker (``cqp serve-flows``), or the flows
    are dispatched to deployments: workers serve the ``jury-results-part`` deployment too."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    run = context.flow_run if context is not None else None
    return get_settings().flow_dispatch == "deployment" or (run is not None and run.deployment_id is not None)


def hand_off_parts(session_id: int, parts: list[list[int]]) -> list[str]:
    """A run of the ``jury-results-part`` deployment per part, for the workers to take; the ids of
    the runs started. None started (the server refused): this run renders everything itself."""
    from prefect.deployments import run_deployment

    from flows.dispatch import run_tag

    runs = []
    try:
        for part in parts:
            run = run_deployment(  # type: ignore[call-arg]  # _sync: this thread has no event loop
                PART_DEPLOYMENT,
                parameters={"session_id": session_id, "candidate_ids": part},
                timeout=0,
                as_subflow=False,
                # the same part asked again (a restarted run) is the same run, not a second one
                idempotency_key=f"jury-results-part:{session_id}:" + ",".join(map(str, part)),
                _sync=True,
                tags=[run_tag(PROCESS, session_id), "jury-results-part"],
            )
            runs.append(str(run.id))
    except Exception:  # noqa: BLE001 - rendered here instead
        log.exception("jury %s: could not hand its certificates over to other workers", session_id)
        return []
    return runs


def _runs_over(runs: list[str]) -> bool:
    """Whether every run in ``runs`` has ended (completed, failed, crashed or cancelled)."""
    from uuid import UUID

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        states = [client.read_flow_run(UUID(run)).state for run in runs]
    return all(state is not None and state.is_final() for state in states)


def _unstored(engine: Engine | None, session_id: int, candidate_ids: list[int]) -> int:
    """How many of these candidates' certificates of the session have no stored document yet."""
    with session_scope(engine) as db:
        return len(_unstored_certificates(db, session_id, candidate_ids))


def _await_parts(engine: Engine | None, session_id: int, candidate_ids: list[int], runs: list[str]) -> None:
    """Wait until the parts have stored these candidates' certificates, their runs have all ended,
    or no document has come for ``render_part_wait_seconds``; the caller renders what is missing."""
    import time

    patience = get_settings().render_part_wait_seconds
    missing, since = _unstored(engine, session_id, candidate_ids), time.monotonic()
    while missing and time.monotonic() - since < patience:
        try:
            if _runs_over(runs):
                return
        except Exception:  # noqa: BLE001 - the server is unreachable: wait for the documents only
            log.warning("jury %s: could not read the state of its parts' runs", session_id)
        time.sleep(PART_POLL_S)
        now_missing = _unstored(engine, session_id, candidate_ids)
        if now_missing < missing:
            since = time.monotonic()
        missing = now_missing


def store_certificates(session_id: int, candidate_ids: list[int], engine: Engine | None = None) -> JuryOutcome:
    """A part of a signed jury's certificates (these candidates'): rendered on this worker's cores
    and stored with their badges, once; the jury's own run sends the e-mails."""
    from documents.pool import render_iter

    out = JuryOutcome(session_id)
    with session_scope(engine) as db:
        pending = _pending_certificates(db, db.get(JurySession, session_id), candidate_ids)
    rendered = iter(render_iter(list(pending.values())))
    for candidate_id, item in pending.items():
        made = _made(item, rendered)
        with session_scope(engine) as db:
            _, certificate_ctx, documents, _ = _certificate_document(
                db, db.get(JurySession, session_id), candidate_id, made
            )
            out.documents += documents
            if certificate_ctx:
                out.certificates.append(certificate_ctx["number"])
    return out


@flow(name="jury-results-part", log_prints=True)
async def jury_results_part_flow(session_id: int, candidate_ids: list[int]) -> dict:
    """Render and store a part of a big jury's certificates on this worker (scale-out)."""
    outcome = await anyio.to_thread.run_sync(store_certificates, session_id, candidate_ids)
    get_run_logger().info(
        "jury %s: part of %d candidates, %d documents stored", session_id, len(candidate_ids), len(outcome.documents)
    )
    return asdict(outcome)
