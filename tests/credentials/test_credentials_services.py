"""Open Badges 3.0 credentials issued with the certificates (services, real database), checked by
an independent verifier (tests/credentials/independent.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import func, select

from certification import keys
from certification.db import session_scope
from certification.jury.models import Certificate
from certification.models_credentials import Credential
from certification.services import credentials
from certification.jury import issuance
from tests.credentials.independent import check_open_badge, decode_verified, signature_fails, status_bit
from tests.factories import (
    deliberated_session,
    grant_agrement,
    issue_results,
    make_users,
    ready_candidates,
    siret,
    structure_account,
)

PARTIAL = {"SP-B1": "validated", "SP-B2": "not_validated", "SP-B3": "validated"}


@pytest.fixture
def people():
    people = make_users()
    grant_agrement(people, 1)
    structure_account(people, siret(1))
    return people


@pytest.fixture
def issued(people):
    """A jury of three: two certified (certificate + 3 blocs each), one partial (attestation, 2 blocs)."""
    ids = ready_candidates(people["structure"], 3)
    sid = deliberated_session(people, ids, {ids[2]: PARTIAL})
    issue_results(sid)
    return people, ids, sid


def all_credentials() -> list[Credential]:
    with session_scope() as db:
        return list(db.exec(select(Credential).order_by(Credential.id)))


def signed_status_list() -> str:
    with session_scope() as db:
        return credentials.signed_status_list(db)


def verify(token: str) -> credentials.CredentialCheck:
    with session_scope() as db:
        return credentials.verify_credential(db, token)


def certificate_of(certificate_id: int) -> Certificate:
    with session_scope() as db:
        return db.get(Certificate, certificate_id)


def test_every_issued_credential_verifies_independently(issued):
    jwks = keys.public_jwks()
    rows = all_credentials()
    assert sorted((r.bloc_code or "*") for r in rows) == sorted(
        ["*", "SP-B1", "SP-B2", "SP-B3"] * 2 + ["SP-B1", "SP-B3"]
    )
    status_list = signed_status_list()
    for row in rows:
        header, payload = decode_verified(row.jwt, jwks)
        assert header["kid"] == row.kid == keys.signing_key().kid
        check_open_badge(payload)
        certificate = certificate_of(row.certificate_id)
        subject = payload["credentialSubject"]
        assert subject["licenseNumber"] == certificate.number
        achievement = subject["achievement"]
        assert achievement["achievementType"] == ("Certificate" if row.bloc_code is None else "Competency")
        assert (row.bloc_code or "CQP_SP") == achievement["humanCode"]
        assert achievement["criteria"]["narrative"]
        email_id, name_id = subject["identifier"]
        with session_scope() as db:
            from certification.candidates.models import Candidate

            email = db.get(Candidate, certificate.candidate_id).email
        # the e-mail never in clear: sha256(e-mail + salt), as OB 3.0 IdentityObject says
        assert email not in json.dumps(payload) and "@example.org" not in json.dumps(payload)
        expected = hashlib.sha256((email + email_id["salt"]).encode()).hexdigest()
        assert email_id == {
            "type": "IdentityObject",
            "identityType": "emailAddress",
            "hashed": True,
            "salt": email_id["salt"],
            "identityHash": f"sha256${expected}",
        }
        assert name_id["identityHash"] == f"{certificate.holder_first_names} {certificate.holder_last_name}"
        assert payload["credentialStatus"]["statusListIndex"] == str(row.status_index)
        assert status_bit(status_list, jwks, row.status_index) is False
        assert ("validUntil" in payload) == (certificate.kind == "attestation")
        result = verify(row.jwt)
        assert (result.status, result.label) == ("valid", "valide"), result
    assert len({r.status_index for r in rows}) == len(rows)


def test_credentials_are_issued_once_and_audited(issued):
    people, ids, sid = issued
    before = len(all_credentials())
    issue_results(sid, notify=False)  # the flow re-run after a restart
    with session_scope() as db:
        certificate = db.exec(select(Certificate).where(Certificate.candidate_id == ids[0])).one()
        issuance.issue_for(db, sid, ids[0])
        assert len(credentials.issue(db, certificate)) == 4
    assert len(all_credentials()) == before == 10
    with session_scope() as db:
        from certification.audit import timeline

        actions = [e.action for e in timeline(db, Certificate.__tablename__, certificate.id)]
    assert actions.count("credentials_issued") == 1


def test_revocation_sets_the_status_bit_in_the_same_transaction(issued):
    people, ids, sid = issued
    officer = people["officer"]["actor"]
    with session_scope() as db:
        certificate_id = db.exec(select(Certificate.id).where(Certificate.candidate_id == ids[0])).one()
        issuance.revoke(db, officer, certificate_id, "Fraude constatée lors de l'évaluation")
        # before commit, this transaction's status list already carries the bits
        inside = credentials.status_list_credential(db)["credentialSubject"]["encodedList"]
        db.rollback()
    assert inside != credentials.encode_bitstring([])
    assert all(r.revoked_at is None for r in all_credentials())  # rolled back: nothing revoked
    with session_scope() as db:
        issuance.revoke(db, officer, certificate_id, "Fraude constatée lors de l'évaluation")
    jwks, status_list = keys.public_jwks(), signed_status_list()
    for row in all_credentials():
        revoked = row.certificate_id == certificate_id
        assert status_bit(status_list, jwks, row.status_index) is revoked
        result = verify(row.jwt)
        assert result.status == ("revoked" if revoked else "valid")
        if revoked:
            assert result.label == "révoqué" and "révoqué" in result.message


def test_correction_reissues_and_revokes_the_former_version(issued):
    people, ids, sid = issued
    officer = people["officer"]["actor"]
    with session_scope() as db:
        certificate = db.exec(select(Certificate).where(Certificate.candidate_id == ids[0])).one()
        issuance.correct(db, officer, certificate.id, reason="Erreur de saisie du nom", last_name="Martin-Nguessan")
        version = db.get(Certificate, certificate.id).version
    rows = [r for r in all_credentials() if r.certificate_id == certificate.id]
    old = [r for r in rows if r.certificate_version < version]
    new = [r for r in rows if r.certificate_version == version]
    assert len(old) == len(new) == 4
    assert all(r.revoked_reason == "corrected" for r in old) and all(r.revoked_at is None for r in new)
    assert {verify(r.jwt).status for r in old} == {"revoked"}
    assert {verify(r.jwt).status for r in new} == {"valid"}
    _, payload = decode_verified(new[0].jwt, keys.public_jwks())
    assert payload["credentialSubject"]["identifier"][-1]["identityHash"].endswith("Martin-Nguessan")
    with session_scope() as db:  # a duplicate re-issues for its version; the corrected ones stay valid
        issuance.duplicate(db, officer, certificate.id, "Perte de l'original")
    rows = [r for r in all_credentials() if r.certificate_id == certificate.id]
    assert len(rows) == 12 and sum(r.revoked_at is None for r in rows) == 8


def tamper(token: str) -> str:
    head, body, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    payload["credentialSubject"]["identifier"][-1]["identityHash"] = "Quelqu'un d'autre"
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{head}.{body}.{signature}"


def forge(token: str, *, kid: str) -> str:
    """The same credential signed by a key that is not the certifier's."""
    head, body, _ = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(head + "=="))
    header["kid"] = kid
    head = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    signature = Ed25519PrivateKey.generate().sign(f"{head}.{body}".encode())
    return f"{head}.{body}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def test_tampered_and_foreign_credentials_are_refused(issued):
    token = all_credentials()[0].jwt
    jwks = keys.public_jwks()
    altered = tamper(token)
    assert signature_fails(altered, jwks)
    result = verify(altered)
    assert (result.status, result.label) == ("altered", "altéré") and "altéré" in result.message
    foreign = forge(token, kid="une-autre-cle")
    result = verify(foreign)
    assert (result.status, result.label) == ("unknown_issuer", "émetteur inconnu")
    assert "Émetteur inconnu" in result.message
    impostor = forge(token, kid=keys.signing_key().kid)  # our kid, another key
    assert signature_fails(impostor, jwks) and verify(impostor).status == "altered"
    assert verify("n'importe quoi").status == "altered"


def test_rotation_keeps_former_credentials_verifiable(issued):
    people, ids, sid = issued
    former = keys.signing_key()
    first = all_credentials()[0]
    rotated = keys.rotate_credential_key()
    assert rotated.kid != former.kid and keys.signing_key().kid == rotated.kid
    jwks = keys.public_jwks()
    assert [k["kid"] for k in jwks["keys"]] == [former.kid, rotated.kid]
    assert verify(first.jwt).status == "valid"
    decode_verified(first.jwt, jwks)
    with session_scope() as db:
        certificate = db.get(Certificate, first.certificate_id)
        issuance.duplicate(db, people["officer"]["actor"], certificate.id, "Perte")
    newest = all_credentials()[-1]
    assert newest.kid == rotated.kid and verify(newest.jwt).status == "valid"


def test_keys_are_private_files_marked_not_for_production(issued, settings):
    keys.seal()
    root = settings.keys_dir
    assert "NOT FOR PRODUCTION" in (root / keys.MARKER).read_text()
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
    private = list((root / "credentials").glob("*.pem")) + [
        root / "seal" / "certifier-key.pem",
        root / "seal" / "ca-key.pem",
    ]
    assert len(private) == 3
    for path in private:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert repr(keys.signing_key()).startswith("CredentialKey(kid=") and "PRIVATE" not in repr(keys.signing_key())


def test_production_mode_creates_nothing(monkeypatch, tmp_path):
    from certification.settings import reset_settings_cache

    monkeypatch.setenv("CQP_KEYS_MODE", "production")
    monkeypatch.setenv("CQP_CREDENTIAL_KEYS_PATH", str(tmp_path / "none"))
    reset_settings_cache()
    keys.forget_keys()
    with pytest.raises(keys.KeyConfigurationError):
        keys.credential_keys()
    with pytest.raises(keys.KeyConfigurationError):
        keys.seal()
    assert not (tmp_path / "none").exists()
    monkeypatch.delenv("CQP_KEYS_MODE")
    monkeypatch.delenv("CQP_CREDENTIAL_KEYS_PATH")
    reset_settings_cache()
    keys.forget_keys()


def test_credentials_count_matches_the_register(issued):
    with session_scope() as db:
        assert db.exec(select(func.count()).select_from(Credential)).one() == 10
