"""Scale-out for real: a Prefect server, two workers and the API as separate OS processes.

The API dispatches each action as a run of the dossier's deployment (``CQP_FLOW_DISPATCH=
deployment``); a worker (``cqp serve-flows``) runs it against the shared case database, data
directory and SMTP server. The test drives an agrément request through the API and checks, from
the outside: the Prefect server's flow run (deployment, tag, state, which worker ran it), the
accusé de réception PDF (once, read back with pypdf), the e-mails (once, at the SMTP server).
Then the worker that ran it is killed with SIGKILL and the next action is served by the other;
finally the survivor is stopped gracefully and the deployments are still not paused.
"""

from __future__ import annotations

import json
import signal

import httpx
import pytest
from sqlmodel import select

from certification.db import session_scope
from documents.models import GeneratedDocument
from flows.dispatch import PROCESSES, run_tag
from notifications.transport import DEDUPE_HEADER
from tests.factories import auth, siret
from tests.flows.conftest import pdf_text
from tests.scaleout.conftest import START_TIMEOUT, wait_until

pytestmark = pytest.mark.integration
RUN_TIMEOUT = 180  # from the API call to the end of the run on a worker (a run spawns a Python process)
ACCOUNTS = [
    ("mandataire", "helene.dubois@mandataires.example.org", "Hélène Dubois", "mandataire"),
    ("officer", "camille.martin@cqp-aci.example.org", "Camille Martin", "officer"),
]


def prefect(cluster, method: str, path: str, **kw):
    r = httpx.request(method, f"{cluster.prefect_api}{path}", timeout=30, **kw)
    r.raise_for_status()
    return r.json()


def finished_runs(cluster, tag: str, count: int):
    """The flow runs tagged ``tag`` once ``count`` of them are in a final state, else None."""
    runs = prefect(cluster, "POST", "/flow_runs/filter", json={"flow_runs": {"tags": {"all_": [tag]}}})
    return (
        runs
        if len(runs) >= count and all(r["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED") for r in runs)
        else None
    )


def ran_on(run_id: str, *workers) -> list[str]:
    """The workers whose output shows the flow run executing (a served run logs to its worker's
    stdout; a worker that lost the race for it only logs that the server aborted its submission)."""
    return [w.name for w in workers if f"/runs/flow-run/{run_id}" in w.output()]


def account(cluster, email: str, name: str, role: str) -> dict:
    """An account made with `cqp create-user`, and its API token."""
    password = "mot-de-passe-scale-out"
    assert email in cluster.create_user(email, name, role, password)
    r = httpx.post(f"{cluster.api_url}/auth/token", json={"email": email, "password": password}, timeout=30)
    assert r.status_code == 200, r.text
    return {"email": email, "token": r.json()["access_token"]}


def mails(smtp, key: str) -> list:
    return [m for m in smtp.messages if m[DEDUPE_HEADER] == key]


def check_the_acknowledgement(smtp, settings, mandataire_email: str, rid: int, reference: str):
    """The accusé de réception of request ``rid``: one row, one file, one e-mail with the PDF;
    returns the request's folder of generated documents."""
    with session_scope() as db:
        (ack,) = db.exec(
            select(GeneratedDocument).where(
                GeneratedDocument.entity_id == rid, GeneratedDocument.kind == "accuse_reception"
            )
        ).all()
    folder = settings.data_dir / "generated" / "agrement_requests" / str(rid)
    assert [p.name for p in folder.glob("accuse_reception*.pdf")] == [ack.relative_path.rsplit("/", 1)[1]]
    text = pdf_text((settings.data_dir / ack.relative_path).read_bytes())
    assert reference in text and "accusé de réception" in text.lower()
    (ack_mail,) = mails(smtp, f"agrement_requests:{rid}:ack:r1")
    assert set(smtp.recipients(0)) == {"aci7@example.org", mandataire_email}
    (attachment,) = [p for p in ack_mail.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert reference in pdf_text(attachment.get_content())
    return folder


def runs_stored_by_prefect(cluster, tag: str) -> int:
    """How many flow runs tagged ``tag`` the Prefect server keeps in its PostgreSQL database."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(cluster.prefect_database_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
        return conn.execute(
            "SELECT count(*) FROM flow_run WHERE %s = ANY(SELECT jsonb_array_elements_text(tags))", (tag,)
        ).fetchone()[0]


def test_two_workers_serve_the_api_actions_and_one_survives_a_kill(cluster, smtp, settings, pdf_bytes):
    assert "Base de données à jour" in cluster.migrate()  # `cqp migrate`: schema and referential

    server = cluster.prefect_server()
    workers = [cluster.worker("worker-a"), cluster.worker("worker-b")]
    for w in workers:
        wait_until(
            f"{w.name} serving", lambda w=w: "deployments are being served" in w.output(), START_TIMEOUT, w, server
        )
    deployment = prefect(cluster, "GET", "/deployments/name/agrement-request/agrement-request")
    assert deployment["entrypoint"] == "flows.agrement.agrement_request_flow"  # no working directory involved
    api = cluster.api()
    people = {key: account(cluster, email, name, role) for key, email, name, role in ACCOUNTS}

    # 1. The mandataire files a request through the API: a worker runs the deployment.
    meta = {
        "structure": {
            "siret": siret(7),
            "name": "L'Atelier d'Insertion",
            "region": "Bretagne",
            "email": "aci7@example.org",
        },
        "certification_code": "CQP_SP",
    }
    files = [
        ("dossier", ("dossier.pdf", pdf_bytes, "application/pdf")),
        ("attestation_epsp", ("attestation.pdf", pdf_bytes + b"\n%2", "application/pdf")),
    ]
    r = httpx.post(
        f"{cluster.api_url}/agrement-requests",
        headers=auth(people["mandataire"]),
        data={"metadata": json.dumps(meta)},
        files=files,
        timeout=60,
    )
    assert r.status_code == 201, r.text
    rid, reference = r.json()["id"], r.json()["reference"]
    tag = run_tag("agrement_request", rid)

    (run,) = wait_until("the first run", lambda: finished_runs(cluster, tag, 1), RUN_TIMEOUT, server, api, *workers)
    assert run["state"]["type"] == "COMPLETED", run["state"]
    assert run["deployment_id"] == deployment["id"] and run["parameters"] == {"request_id": rid}
    assert tag in run["tags"]
    first = ran_on(run["id"], *workers)
    assert len(first) == 1, f"run {run['id']} seen on {first}"

    # The accusé de réception exists once, as a row and a file, and was e-mailed once.
    folder = check_the_acknowledgement(smtp, settings, people["mandataire"]["email"], rid, reference)

    # 2. The worker that ran it is killed without warning; the other serves the next action.
    killed = next(w for w in workers if w.name == first[0])
    survivor = next(w for w in workers if w is not killed)
    killed.kill()
    assert killed.popen.returncode == -signal.SIGKILL
    r = httpx.post(
        f"{cluster.api_url}/agrement-requests/{rid}/admissible", headers=auth(people["officer"]), json={}, timeout=60
    )
    assert r.status_code == 200, r.text
    runs = wait_until("the second run", lambda: finished_runs(cluster, tag, 2), RUN_TIMEOUT, server, api, survivor)
    second = next(x for x in runs if x["id"] != run["id"])
    assert second["state"]["type"] == "COMPLETED" and second["deployment_id"] == deployment["id"]
    assert ran_on(second["id"], survivor, killed) == [survivor.name]

    # The request went on (admissible, then under review: the mandataire is asked for his avis);
    # nothing was produced twice.
    (avis_mail,) = mails(smtp, f"agrement_requests:{rid}:avis-request")
    assert avis_mail["To"] == people["mandataire"]["email"]
    assert len(mails(smtp, f"agrement_requests:{rid}:ack:r1")) == 1 and len(smtp.messages) == 2
    with session_scope() as db:
        kinds = [d.kind for d in db.exec(select(GeneratedDocument).where(GeneratedDocument.entity_id == rid))]
    assert kinds == ["accuse_reception"]
    assert len(list(folder.glob("*.pdf"))) == 1
    r = httpx.get(f"{cluster.api_url}/agrement-requests/{rid}", headers=auth(people["officer"]), timeout=30)
    assert r.json()["state"] == "under_review"

    if cluster.prefect_database_url:  # the Prefect server keeps its runs in its PostgreSQL database
        assert runs_stored_by_prefect(cluster, tag) == 2

    # The API ran no flow itself (nor the sweep): every run on the server is a deployment's, on a worker.
    everything = prefect(cluster, "POST", "/flow_runs/filter", json={})
    assert len(everything) == 2 and all(x["deployment_id"] == deployment["id"] for x in everything)

    # 3. A worker stopped the normal way leaves the shared deployments running for the others.
    assert survivor.stop(timeout=60) == 0, survivor.output()[-3000:]
    for process in PROCESSES.values():
        flow_name, name = process.deployment.split("/")
        assert prefect(cluster, "GET", f"/deployments/name/{flow_name}/{name}")["paused"] is False


def test_a_big_jurys_certificates_are_spread_over_the_workers(cluster, smtp, settings):
    """Parts of 3: a jury of 7 certificates keeps 3 for its own run and hands 3 and 1 over to runs
    of the ``jury-results-part`` deployment, which the workers take; every document and results
    e-mail exists once."""
    from certification.jury import service as jury_svc
    from flows.certificates import CERT_ENTITY
    from flows.jury_results import PART_DEPLOYMENT
    from tests.factories import closed_jury
    from tests.flows.conftest import generated_documents

    cluster.migrate()
    server = cluster.prefect_server()
    workers = [cluster.worker(name, CQP_RENDER_PART_SIZE="3") for name in ("worker-a", "worker-b")]
    for w in workers:
        wait_until(
            f"{w.name} serving", lambda w=w: "deployments are being served" in w.output(), START_TIMEOUT, w, server
        )
    people, sid = closed_jury(7)  # in the case database the workers share
    with session_scope() as db:
        jury_svc.sign_pv(db, people["presidente"]["actor"], sid)
    tag = run_tag("jury", sid)
    jury = prefect(cluster, "GET", f"/deployments/name/{PROCESSES['jury'].deployment}")
    part = prefect(cluster, "GET", f"/deployments/name/{PART_DEPLOYMENT}")
    prefect(
        cluster,
        "POST",
        f"/deployments/{jury['id']}/create_flow_run",
        json={"parameters": {"session_id": sid}, "tags": [tag]},
    )

    runs = wait_until(
        "the jury's run and its two parts", lambda: finished_runs(cluster, tag, 3), RUN_TIMEOUT, server, *workers
    )
    assert [r["state"]["type"] for r in runs] == ["COMPLETED"] * 3, [r["state"] for r in runs]
    parts = [r for r in runs if r["deployment_id"] == part["id"]]
    assert sorted(len(p["parameters"]["candidate_ids"]) for p in parts) == [1, 3]
    assert all(p["parameters"]["session_id"] == sid for p in parts)
    for run in runs:  # each taken by one worker
        assert len(ran_on(run["id"], *workers)) == 1, run["id"]

    certificates = generated_documents(CERT_ENTITY)
    assert len(certificates) == 7 == len({d.entity_id for d in certificates})
    assert len(generated_documents("jury_sessions")) == 1  # the PV
    results = [m[DEDUPE_HEADER] for m in smtp.messages if ":results:" in (m[DEDUPE_HEADER] or "")]
    assert len(results) == len(set(results)) == 8  # each candidate's, and the structure's
