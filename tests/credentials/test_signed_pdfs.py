"""PAdES seal of certificates, attestations and PV (pyHanko), validated by pyHanko's validator
with the local CA as the only trust root; a one-byte change fails."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from certification import keys
from certification.db import new_session, session_scope
from documents.models import GeneratedDocument
from documents.samples import sample_certificate_context, sample_jury_context
from documents.service import ensure_document
from flows.jury import advance_jury
from tests.credentials.independent import pdf_is_valid, pdf_signature_status
from tests.factories import PARTIAL, deliberated_session, grant_agrement, make_users, ready_candidates
from tests.factories import siret, structure_account

pytestmark = pytest.mark.integration


def _ensure(s, settings, document: tuple[str, str, str], context: dict):
    """Document 1 of (entity type, kind, template), version 1, stored through the documents' service."""
    entity_type, kind, template = document
    return ensure_document(
        s,
        entity_type=entity_type,
        entity_id=1,
        kind=kind,
        version=1,
        template=template,
        context=context,
        filename=f"{kind}.pdf",
        root=settings.data_dir,
    )


def stored(settings, doc: GeneratedDocument) -> bytes:
    return (settings.data_dir / doc.relative_path).read_bytes()


def one_byte_changed(data: bytes, at: int) -> bytes:
    changed = bytearray(data)
    changed[at] = (changed[at] + 1) % 256
    return bytes(changed)


def test_a_stored_certificate_is_sealed_and_a_byte_changed_breaks_it(engine, settings):
    context = sample_certificate_context()
    with new_session(engine) as s:
        doc = _ensure(s, settings, ("certificates", "certificat", "jury/certificat.html"), context)
        s.commit()
    data = stored(settings, doc)
    ca = keys.seal().ca_file
    signature, status = pdf_signature_status(data, ca)
    assert status.bottom_line and status.intact and status.valid and status.trusted
    assert "délivré et scellé par le certificateur" in str(signature.sig_object["/Reason"])
    stamp = signature.sig_field["/AP"]["/N"].data  # the visible stamp's appearance stream
    assert rb"(Sign\351 \351lectroniquement par Organisme certificateur" in stamp  # WinAnsi « é »
    assert pdf_is_valid(data, ca)
    for at in (len(data) // 3, len(data) // 2, len(data) - 200):  # content, middle, signature dictionary
        assert not pdf_is_valid(one_byte_changed(data, at), ca)


def test_the_pv_carries_the_presidents_signature_act(engine, settings):
    context = sample_jury_context(3)
    context["jury"]["pv_signed_at"] = datetime(2026, 6, 12, 14, 10, tzinfo=UTC)
    with new_session(engine) as s:
        doc = _ensure(s, settings, ("jury_sessions", "pv_jury", "jury/pv_jury.html"), context)
        s.commit()
    signature, status = pdf_signature_status(stored(settings, doc), keys.seal().ca_file)
    assert status.bottom_line
    reason = str(signature.sig_object["/Reason"])
    assert f"signé par son président, {context['jury']['pv_signed_by']}" in reason and "12/06/2026" in reason


def test_other_letters_are_not_sealed(engine, settings):
    from documents.samples import sample_context

    with new_session(engine) as s:
        doc = _ensure(
            s, settings, ("agrement_requests", "accuse_reception", "agrement/accuse_reception.html"), sample_context()
        )
        s.commit()
    assert b"/ByteRange" not in stored(settings, doc)


def test_a_jury_seals_its_documents_and_mails_the_badges(settings):
    people = make_users()
    grant_agrement(people, 1)
    structure_account(people, siret(1))
    ids = ready_candidates(people["structure"], 3)
    sid = deliberated_session(people, ids, {ids[2]: PARTIAL})
    assert advance_jury(sid).state == "results_notified"
    with session_scope() as db:
        documents = list(db.exec(select(GeneratedDocument)))
    assert sorted(d.kind for d in documents) == ["attestation_blocs", "certificat", "certificat", "pv_jury"]
    for doc in documents:
        assert pdf_is_valid(stored(settings, doc), keys.seal().ca_file), doc.kind
    # each results e-mail carries the sealed PDF and the badges of the candidate's credentials
    from certification.models_credentials import Credential
    from documents.badge import unbake
    from notifications.models import OutboxMessage

    with session_scope() as db:
        mails = [m for m in db.exec(select(OutboxMessage)) if ":results:c" in m.dedupe_key]
        (to_structure,) = [m for m in db.exec(select(OutboxMessage)) if ":results:s" in m.dedupe_key]
        credentials = {c.jwt for c in db.exec(select(Credential))}
    assert [a["content_type"] for a in to_structure.attachments] == ["application/pdf"] * 3
    baked = [
        unbake((settings.data_dir / a["relative_path"]).read_bytes())
        for m in mails
        for a in m.attachments
        if a["content_type"] == "image/png"
    ]
    assert sorted(len(m.attachments) for m in mails) == [3, 5, 5] and set(baked) == credentials and len(baked) == 10
    assert (
        sum(
            "Les badges numériques (Open Badges) du document et de chaque bloc acquis sont joints" in m.body_text
            for m in mails
        )
        == 3
    )
    assert all("/credentials/verify" in m.body_text and "/credentials/verify" in m.body_html for m in mails)


def test_production_seal_from_a_pkcs12_file(monkeypatch, tmp_path, settings):
    """Production: the certifier's PKCS#12 (password in a file) seals; nothing is created."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    from certification.settings import reset_settings_cache
    from documents import render, signing

    embedded = keys.seal()  # stands for the certificate a provider would deliver
    key = serialization.load_pem_private_key(embedded.key_file.read_bytes(), password=None)
    cert = x509.load_pem_x509_certificate(embedded.cert_file.read_bytes())
    ca = x509.load_pem_x509_certificate(embedded.ca_file.read_bytes())
    p12 = tmp_path / "cachet.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"cachet", key, cert, [ca], serialization.BestAvailableEncryption(b"mot de passe")
        )
    )
    (tmp_path / "password").write_text("mot de passe\n")
    monkeypatch.setenv("CQP_KEYS_MODE", "production")
    monkeypatch.setenv("CQP_SIGNING_PKCS12_PATH", str(p12))
    monkeypatch.setenv("CQP_SIGNING_PKCS12_PASSWORD_PATH", str(tmp_path / "password"))
    reset_settings_cache()
    try:
        sealed = keys.seal()
        assert not sealed.embedded and sealed.pkcs12_file == p12
        context = sample_certificate_context()
        data = signing.seal_pdf(render.render_pdf("jury/certificat.html", context), kind="certificat", context=context)
        assert pdf_is_valid(data, embedded.ca_file)
    finally:
        monkeypatch.undo()
        reset_settings_cache()
        keys.forget_keys()
