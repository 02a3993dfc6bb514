"""The equivalence table of a new version: declared in its file, checked (each place named), stored
with the version; a returning candidate's blocs held from the earlier version count for the mapped
blocs, and the certificate says « acquis par équivalence » with the original jury and date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlmodel import select

from certification.clock import today
from certification.db import session_scope
from certification.candidates.models import Candidate
from certification.jury.models import Certificate, JurySession
from certification.referentiel import service
from certification.referentiel.schema import ReferentielInvalid, parse
from certification.candidates import service as cand
from certification.jury import service as jury_svc
from documents.formatting import date_fr
from documents.render import render_pdf
from flows.certificates import certificate_context
from flows.jury import jury_context
from tests.factories import deliberated_session, grant_agrement, issue_results, ready_candidates, siret
from tests.factories import structure_account
from tests.flows.conftest import pdf_text

FILE = Path(__file__).parent / "data" / "CQP_SP-test-v2-equivalences.yaml"
TEXT = FILE.read_text(encoding="utf-8")


def test_the_table_is_checked_with_each_place_named(people):
    bad_to = TEXT.replace("to: [TST-B2]", "to: [TST-B9]")
    with pytest.raises(ReferentielInvalid) as err:
        parse(bad_to.encode(), "v2.yaml")
    assert err.value.errors == ["v2.yaml, ligne 23 : equivalences[2].to[1] : bloc TST-B9 inconnu dans la version « 2 »"]
    no_from = TEXT.replace('from_version: "1"\n', "")
    with pytest.raises(ReferentielInvalid, match="equivalences : indiquez « from_version »"):
        parse(no_from.encode(), "v2.yaml")
    officer = people["officer"]["actor"]
    unknown_from = parse(TEXT.replace("{from: SP-B3", "{from: SP-B7").encode(), "v2.yaml")
    with session_scope() as db, pytest.raises(ReferentielInvalid) as err:
        service.load_version(db, officer, unknown_from, source="v2.yaml")
    assert err.value.errors == ["v2.yaml : equivalences[3].from : bloc SP-B7 inconnu dans la version « 1 »"]
    unknown_version = parse(TEXT.replace('from_version: "1"', 'from_version: "0"').encode(), "v2.yaml")
    with session_scope() as db, pytest.raises(ReferentielInvalid, match="version « 0 » inconnue"):
        service.preview(db, officer, unknown_version, "v2.yaml")
    with session_scope() as db:
        found = service.preview(db, officer, parse(TEXT.encode(), FILE.name), FILE.name)
        assert found.equivalences[0] == {"from": "SP-B1", "to": ["TST-B1"]}
        assert "  SP-B1 → TST-B1" in service.describe(found)
        version, _ = service.load_version(db, officer, parse(TEXT.encode(), FILE.name), source=FILE.name)
        assert service.equivalences_of(version) == (
            "1",
            {"SP-B1": ["TST-B1"], "SP-B2": ["TST-B2"], "SP-B3": ["TST-B3"]},
        )
    # a file without table keeps the content (and hash) it had before tables existed
    plain = parse(TEXT.split("from_version")[0].encode(), "plain.yaml")
    assert "equivalences" not in plain.content() and "from_version" not in plain.content()


def _second_session(people: dict, candidate_id: int) -> int:
    """Another session, the day after the first one's date, with the same jury members."""
    officer = people["officer"]["actor"]
    at = datetime.now(UTC) - timedelta(hours=3)
    with session_scope() as db:
        with time_machine.travel(at - timedelta(days=1), tick=True):
            jury = jury_svc.plan_session(
                db, officer, certification_code="CQP_SP", scheduled_at=at, place="Lyon, salle Gerland"
            )
        for key, college, president in (
            ("presidente", "employeur", True),
            ("employeur2", "employeur", False),
            ("salarie1", "salarie", False),
            ("salarie2", "salarie", False),
        ):
            jury_svc.add_member(
                db, officer, jury.id, user_id=people[key]["id"], college=college, is_president=president
            )
        [row] = jury_svc.add_candidates(db, officer, jury.id, [candidate_id])
        assert row.blocs == ["TST-B3"]  # assessed only on the bloc not held by equivalence
        jury_svc.convene(db, officer, jury.id)
        jury_svc.check_composition(db, officer, jury.id)
        jury_svc.record_results(db, officer, jury.id, candidate_id, {"TST-B3": "validated"})
        jury_svc.close_deliberation(db, officer, jury.id)
        jury_svc.sign_pv(db, people["presidente"]["actor"], jury.id)
        return jury.id


@pytest.mark.integration
def test_a_returning_candidate_keeps_the_blocs_held_by_equivalence(people):
    grant_agrement(people, 1)  # its scope: the blocs of version 1
    structure = structure_account(people, siret(1))
    [first] = ready_candidates(structure, 1, names=[("Retour", "Zoé")], sexes=["F"])
    first_jury = deliberated_session(
        people, [first], results={first: {"SP-B1": "validated", "SP-B2": "validated", "SP-B3": "not_validated"}}
    )
    issue_results(first_jury)
    with session_scope() as db:
        service.load_version(
            db, people["officer"]["actor"], parse(TEXT.encode(), FILE.name), source=FILE.name, activate_on=today()
        )
        first_ref = db.get(JurySession, first_jury).reference
        first_day = db.get(JurySession, first_jury).scheduled_at.date()
    # the same person registers again: version 2, in the agrément's scope through the table
    [again] = ready_candidates(structure, 1, names=[("RETOUR", "Zoe")], sexes=["F"])
    with session_scope() as db:
        candidate = db.get(Candidate, again)
        assert candidate.blocs == ["TST-B1", "TST-B2", "TST-B3"]
        held = cand.held_blocs(db, candidate)
        assert sorted(held) == ["TST-B1", "TST-B2"]
        assert held["TST-B1"].bloc_code == "SP-B1" and held["TST-B1"].session_id == first_jury
        assert cand.missing_blocs(db, candidate) == ["TST-B3"]
        # the version-1 registration is not affected by the table
        assert sorted(cand.held_blocs(db, db.get(Candidate, first))) == ["SP-B1", "SP-B2"]
    second_jury = _second_session(people, again)
    issue_results(second_jury)
    with session_scope() as db:
        certificate = db.exec(select(Certificate).where(Certificate.candidate_id == again)).one()
        assert (certificate.kind, certificate.blocs) == ("certificate", ["TST-B1", "TST-B2", "TST-B3"])
        text = pdf_text(render_pdf("jury/certificat.html", certificate_context(db, certificate)))
        pv = pdf_text(render_pdf("jury/pv_jury.html", jury_context(db, db.get(JurySession, second_jury))))
    when = date_fr(first_day)  # « 30 novembre 2026 »
    assert f"acquis par équivalence (SP-B1, jury {first_ref} du {when})" in text
    assert f"acquis par équivalence (SP-B2, jury {first_ref} du {when})" in text
    assert "Bloc d'essai trois de la version deux" in text and "acquis le" in text
    assert "RS9999" in text
    assert pv.replace("\u2010 ", "").count("acquis par équivalence") == 2  # the narrow column hyphenates
