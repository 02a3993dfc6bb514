"""The VAE pathway through its services: request, recevabilité, accompaniment, livret 2, the jury's
interview, then the jury's own deliberation on the requested blocs only, issuance, CPF and report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from certification.audit import timeline
from certification.cpf import flux as cpf_export
from certification.db import session_scope
from certification.effects import OwedEffect
from certification.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from certification.jury.models import Certificate, JuryCandidate, JurySession
from certification.candidates.models import Candidate
from certification.jury import issuance
from certification.jury import service as jury_svc
from certification.services.files import PieceIn
from certification.services.files import referenced_uploads
from certification.reporting.queries import activity_report
from certification.settings import get_settings
from certification.vae import service as svc
from certification.vae.actions import vae_actions
from certification.vae.models import VaeDossier
from tests.factories import deliberated_session
from tests.vae.helpers import register_vae

LIVRET2 = PieceIn("livret2", "livret 2 – Aïssatou.pdf", "application/pdf", 1200, "c" * 64, "uploads/cc/cc/c.pdf")


def file_and_accept(people, candidate_id: int, blocs=None) -> int:
    structure, officer = people["structure"]["actor"], people["officer"]["actor"]
    with session_scope() as db:
        dossier_id = svc.file_request(db, structure, candidate_id, requested_blocs=blocs,
                                      experience="Six ans en ressourcerie.").id
    with session_scope() as db:
        svc.decide_recevabilite(db, officer, dossier_id, decision="recevable", reason="Expérience suffisante.")
    with session_scope() as db:
        svc.record_accompaniment(db, structure, dossier_id, accompanist_name="Hélène Dubois",
                                 organisation="Centre de bilan", hours=20)
        svc.deposit_livret2(db, structure, dossier_id, LIVRET2)
    return dossier_id


def test_request_is_refused_unless_a_vae_candidate_and_for_blocs_he_lacks(world):
    structure, officer = world["structure"]["actor"], world["officer"]["actor"]
    trained = register_vae(world["structure"], pathway="formation", last_name="Martin")
    vae = register_vae(world["structure"])
    with session_scope() as db, pytest.raises(Conflict) as refused:
        svc.file_request(db, structure, trained)
    assert refused.value.code == "not_a_vae_candidate"
    with session_scope() as db, pytest.raises(ValidationFailed) as bad:
        svc.file_request(db, structure, vae, requested_blocs=["SP-B9"])
    assert bad.value.code == "bad_blocs"
    with session_scope() as db, pytest.raises(NotFound):  # another structure's candidate does not exist for it
        svc.file_request(db, world["other_structure"]["actor"], vae)
    with session_scope() as db, pytest.raises(Forbidden):
        svc.file_request(db, world["mandataire"]["actor"], vae)
    with session_scope() as db:
        dossier = svc.file_request(db, structure, vae, requested_blocs=["SP-B2", "SP-B1"])
        assert dossier.reference.startswith("VAE-") and dossier.state == "demande_deposee"
        assert dossier.requested_blocs == ["SP-B1", "SP-B2"]  # in the référentiel's order
        due = (dossier.filed_at + timedelta(days=get_settings().vae_recevabilite_days)).date()
        assert dossier.recevabilite_due_on == due
        dossier_id = dossier.id
    with session_scope() as db, pytest.raises(Conflict) as again:
        svc.file_request(db, structure, vae)
    assert again.value.code == "vae_already_requested"
    with session_scope() as db:
        (event,) = timeline(db, "vae_dossiers", dossier_id)
        owed = db.exec(select(OwedEffect).where(OwedEffect.entity_type == "vae_dossiers")).all()
        assert (event.action, event.actor_role, event.to_state) == ("file", "structure", "demande_deposee")
        assert [(o.process, o.step, o.audit_event_id) for o in owed] == [("vae", "file", event.id)]
        with pytest.raises(Forbidden):  # the structure does not decide
            svc.decide_recevabilite(db, structure, dossier_id, decision="recevable")
    with session_scope() as db, pytest.raises(ValidationFailed):  # a non-recevabilité is reasoned
        svc.decide_recevabilite(db, officer, dossier_id, decision="non_recevable", reason=" ")


def test_livret2_makes_the_candidate_ready_and_the_jury_deliberates_the_requested_blocs_only(world):
    candidate_id = register_vae(world["structure"])
    dossier_id = file_and_accept(world, candidate_id, blocs=["SP-B1", "SP-B2"])
    with session_scope() as db:
        dossier, candidate = db.get(VaeDossier, dossier_id), db.get(Candidate, candidate_id)
        assert dossier.state == "livret2_depose" and dossier.livret2_name == "livret 2 – Aïssatou.pdf"
        assert (dossier.accompanist_name, dossier.accompaniment_hours) == ("Hélène Dubois", 20)
        assert candidate.state == "ready_for_jury"
        actions = [e.action for e in timeline(db, "vae_dossiers", dossier_id)]
        assert actions == ["file", "declare_recevable", "accompaniment", "deposit_livret2"]
        assert [e.action for e in timeline(db, "candidates", candidate_id)][-1] == "present_by_vae"
        assert LIVRET2.relative_path in referenced_uploads(db)  # the collector of orphan uploads keeps it

    sid = deliberated_session(world, [candidate_id], checked_only=True)
    president, member = world["presidente"]["actor"], world["salarie1"]["actor"]
    officer = world["officer"]["actor"]
    with session_scope() as db:
        (row,) = db.exec(select(JuryCandidate).where(JuryCandidate.session_id == sid)).all()
        assert row.blocs == ["SP-B1", "SP-B2"]  # SP-B3 is not requested: not deliberated
        with pytest.raises(Conflict) as early:
            jury_svc.record_results(db, officer, sid, candidate_id, {"SP-B1": "validated", "SP-B2": "validated"})
        assert early.value.code == "vae_interview_missing"
    with session_scope() as db, pytest.raises(Forbidden):  # a member who does not preside
        svc.record_interview(db, member, dossier_id, interview_at=datetime.now(UTC) - timedelta(hours=20))
    with session_scope() as db, pytest.raises(NotFound):  # a jury member of no session of his
        svc.record_interview(db, world["outsider"]["actor"], dossier_id, interview_at=datetime.now(UTC))
    with session_scope() as db, pytest.raises(InvalidTransition):  # not before it is held
        svc.record_interview(db, president, dossier_id, interview_at=datetime.now(UTC) + timedelta(hours=1))
    with session_scope() as db:
        svc.record_interview(db, president, dossier_id, interview_at=datetime.now(UTC) - timedelta(hours=20),
                             notes="Entretien de 45 minutes.")
        jury_svc.record_results(db, president, sid, candidate_id, {"SP-B1": "validated", "SP-B2": "validated"})
        jury_svc.close_deliberation(db, president, sid)
        jury_svc.sign_pv(db, president, sid)
    with session_scope() as db:
        dossier = db.get(VaeDossier, dossier_id)
        assert dossier.state == "entretien_realise" and dossier.interview_session_id == sid
        (document,) = db.exec(select(Certificate).where(Certificate.candidate_id == candidate_id)).all()
        assert (document.kind, document.blocs) == ("attestation", ["SP-B1", "SP-B2"])  # SP-B3 still to get
        row = activity_report(db, datetime.now(UTC).year).totals[0]
        assert (row.vae_requests, row.vae_recevables, row.vae_certified, row.attestations) == (1, 1, 0, 1)


def test_every_bloc_by_vae_gives_the_certificate_declared_to_the_cpf_as_vae(world):
    candidate_id = register_vae(world["structure"])
    dossier_id = file_and_accept(world, candidate_id)
    sid = deliberated_session(world, [candidate_id], checked_only=True)
    president = world["presidente"]["actor"]
    with session_scope() as db:
        svc.record_interview(db, president, dossier_id, interview_at=datetime.now(UTC) - timedelta(hours=20))
        jury_svc.record_results(db, president, sid, candidate_id, {b: "validated" for b in ("SP-B1", "SP-B2", "SP-B3")})
        jury_svc.close_deliberation(db, president, sid)
        jury_svc.sign_pv(db, president, sid)
    with session_scope() as db:
        certificate = issuance.issue_for(db, sid, candidate_id)
        candidate = db.get(Candidate, candidate_id)
        assert certificate.kind == "certificate" and candidate.state == "certified"
        passage = cpf_export.passage_element(certificate, candidate, db.get(jury_svc.JurySession, sid), get_settings())
        ns = {"cpf": "urn:cdc:cpf:pc5:schema:1.0.0"}
        assert passage.findtext("cpf:modalitesInscription/cpf:modaliteAcces", namespaces=ns) == "VAE"
        assert passage.findtext("cpf:modalitesInscription/cpf:voieAccessVAE", namespaces=ns) == "VAE_CLASSIQUE"
        flux = cpf_export.build_flux("FLUX-VAE-1", datetime.now(UTC), "RNCP", "RNCP12345", [passage], get_settings())
        cpf_export.validate_flux(flux, "FLUX-VAE-1")  # the data dictionary's schema accepts it
        row = activity_report(db, datetime.now(UTC).year).totals[0]
        assert (row.vae_requests, row.vae_recevables, row.vae_certified, row.certificates) == (1, 1, 1, 1)


def test_abandon_and_non_recevable_close_the_dossier(world):
    structure, officer = world["structure"]["actor"], world["officer"]["actor"]
    first, second = register_vae(world["structure"]), register_vae(world["structure"], last_name="Da Silva")
    with session_scope() as db:
        refused = svc.file_request(db, structure, first).id
        abandoned = svc.file_request(db, structure, second).id
    with session_scope() as db:
        svc.decide_recevabilite(db, officer, refused, decision="non_recevable", reason="Expérience insuffisante.")
        svc.abandon(db, structure, abandoned, "Le candidat a quitté la structure.")
    with session_scope() as db:
        assert (db.get(VaeDossier, refused).state, db.get(VaeDossier, abandoned).state) == ("non_recevable", "abandonne")
        with pytest.raises(InvalidTransition):
            svc.deposit_livret2(db, structure, refused, LIVRET2)
        with pytest.raises(Conflict):
            svc.record_accompaniment(db, structure, refused, accompanist_name="Hélène Dubois")


def test_abandon_after_the_livret_2_returns_the_candidate_to_his_registration(world):
    """Ready for the jury by his livret 2, the candidate goes back to « inscrit » when the VAE is given
    up (he may no longer be put on a jury without a dossier); refused while a jury session counts him."""
    structure = world["structure"]["actor"]
    free, sitting = register_vae(world["structure"]), register_vae(world["structure"], last_name="Da Silva")
    free_dossier, sitting_dossier = file_and_accept(world, free), file_and_accept(world, sitting)
    jury_id = deliberated_session(world, [sitting], checked_only=True)
    with session_scope() as db:
        assert db.get(Candidate, free).state == db.get(Candidate, sitting).state == "ready_for_jury"
        svc.abandon(db, structure, free_dossier, "Le candidat a quitté la structure.")
    with session_scope() as db:
        assert (db.get(VaeDossier, free_dossier).state, db.get(Candidate, free).state) == ("abandonne", "registered")
        (event,) = [e for e in timeline(db, "candidates", free) if e.action == "abandon_vae"]
        assert (event.from_state, event.to_state, event.reason) == ("ready_for_jury", "registered",
                                                                    "Le candidat a quitté la structure.")
        reference = db.get(JurySession, jury_id).reference
        with pytest.raises(Conflict, match=f"inscrit à la session de jury {reference} : la démarche de VAE ne peut"):
            svc.abandon(db, structure, sitting_dossier, "Changement de projet.")
    with session_scope() as db:
        assert (db.get(VaeDossier, sitting_dossier).state, db.get(Candidate, sitting).state) == (
            "livret2_depose", "ready_for_jury")
        # what the dossier offers says the same: no abandon while the session holds him
        assert "abandon" not in vae_actions(db, structure, db.get(VaeDossier, sitting_dossier))
        assert "abandon" not in vae_actions(db, world["officer"]["actor"], db.get(VaeDossier, sitting_dossier))
