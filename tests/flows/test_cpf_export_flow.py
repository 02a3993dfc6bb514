"""The SI CPF export flow with a real Prefect server: one file per batch, nothing when nothing is new."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlmodel import select

from certification.db import session_scope
from certification.models import Certification
from certification.models_reporting import CpfExportBatch, CpfRecord
from certification.services.cpf_export import NS
from flows.cpf_export import cpf_export_all_flow, cpf_export_flow
from tests.factories import (
    deliberated_session,
    grant_agrement,
    issue_results,
    make_users,
    ready_candidates,
    siret,
    structure_account,
)

pytestmark = pytest.mark.integration


async def test_export_flow_writes_each_batch_once(prefect_server, settings):
    people = make_users()
    grant_agrement(people, 1)
    structure = structure_account(people, siret(1))
    with session_scope() as s:
        cert = s.exec(select(Certification).where(Certification.code == "CQP_SP")).one()
        cert.registry_code = "RS5286"
        s.add(cert)
    ids = ready_candidates(structure, 3, names=[("Éluard", "Paul"), ("D'Arc", "Jeanne"), ("Brassens", "Georges")])
    issue_results(deliberated_session(people, ids))

    result = await cpf_export_flow("CQP_SP")
    batch = result["batch"]
    assert batch["record_count"] == 3 and batch["registry_type"] == "RS"
    path = settings.data_dir / batch["relative_path"]
    root = ET.parse(path).getroot()
    assert root.findtext("{%s}idFlux" % NS) == batch["reference"]
    assert len(root.findall(".//{%s}passageCertification" % NS)) == 3
    written = path.stat().st_mtime_ns

    again = await cpf_export_flow("CQP_SP")
    assert again["batch"] is None
    assert await cpf_export_all_flow() == {"CQP_SP": None}  # EPSP has no registry code: not exported
    assert path.stat().st_mtime_ns == written
    assert [p.name for p in (settings.data_dir / "exports").rglob("*.xml")] == [path.name]
    with session_scope() as s:
        assert len(s.exec(select(CpfExportBatch)).all()) == 1
        assert {r.state for r in s.exec(select(CpfRecord))} == {"sent"}
