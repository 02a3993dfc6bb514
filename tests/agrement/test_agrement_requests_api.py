"""The agrément API: submission with uploads, bad input, idempotency, roles, instruction steps."""

from __future__ import annotations

import hashlib

from sqlmodel import select

from certification.db import session_scope
from certification.agrement.models import AgrementRequest, Piece
from tests.factories import auth, create_account


def count_requests() -> int:
    with session_scope() as db:
        return len(db.exec(select(AgrementRequest)).all())


def test_authentication(client, people):
    assert client.get("/agrement-requests").status_code == 401
    r = client.get("/agrement-requests", headers={"Authorization": "Bearer faux"})
    assert r.status_code == 401 and r.json()["detail"] == "Jeton invalide ou expiré."
    r = client.post("/auth/token", json={"email": people["officer"]["email"], "password": "mauvais"})
    assert r.status_code == 401 and r.json()["code"] == "bad_credentials"
    r = client.post("/auth/token", json={"email": people["officer"]["email"].upper(), "password": "mot-de-passe-sûr"})
    assert r.status_code == 200 and r.json()["role"] == "officer"
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert me.json()["full_name"] == "Camille Martin"


def test_submission_stores_pieces_and_answers_the_dossier(submit, people, pdf_bytes, settings):
    r = submit(name="Jardins d'Insertion de l'Étang & Cie")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["state"] == "submitted" and body["reference"].startswith("DA-")
    assert body["structure_name"] == "Jardins d'Insertion de l'Étang & Cie"
    assert body["waiting_for"].startswith("chargé·e de certification")
    assert body["allowed_actions"] == ["withdraw"]
    pieces = {p["kind"]: p for p in body["pieces"]}
    assert pieces["dossier"]["sha256"] == hashlib.sha256(pdf_bytes).hexdigest()
    assert pieces["attestation_epsp"]["original_name"] == "Attestation EPSP – Zoé.pdf"
    with session_scope() as db:
        piece = db.exec(select(Piece).where(Piece.kind == "dossier")).one()
    assert (settings.data_dir / piece.relative_path).read_bytes() == pdf_bytes


def test_download_piece_is_the_uploaded_file(client, submit, people, pdf_bytes):
    body = submit().json()
    piece = next(p for p in body["pieces"] if p["kind"] == "dossier")
    url = f"/agrement-requests/{body['id']}/pieces/{piece['id']}"
    r = client.get(url, headers=auth(people["mandataire"]))
    assert r.status_code == 200 and r.content == pdf_bytes
    assert client.get(url, headers=auth(people["other_mandataire"])).status_code == 404


def test_wrong_file_type_is_refused_and_nothing_is_kept(submit):
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    r = submit(files=[("dossier", ("dossier.pdf", png, "application/pdf"))])
    assert r.status_code == 415, r.text
    assert "PDF" in r.json()["detail"]
    assert count_requests() == 0


def test_oversized_upload_is_refused(submit, monkeypatch, pdf_bytes):
    monkeypatch.setenv("CQP_UPLOAD_MAX_BYTES", str(len(pdf_bytes) - 1))
    from certification.settings import reset_settings_cache

    reset_settings_cache()
    r = submit(files=[("dossier", ("dossier.pdf", pdf_bytes, "application/pdf"))])
    assert r.status_code == 413, r.text
    assert count_requests() == 0


def test_path_traversal_name_is_refused(submit, pdf_bytes):
    r = submit(files=[("dossier", ("../../etc/passwd.pdf", pdf_bytes, "application/pdf"))])
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_filename"
    assert "contient un chemin" in r.json()["detail"]
    assert count_requests() == 0


def test_invalid_siret(client, people, submission):
    parts = submission()
    parts["data"]["metadata"] = parts["data"]["metadata"].replace('"siret": "', '"siret": "9')
    r = client.post("/agrement-requests", headers=auth(people["mandataire"]), **parts)
    assert r.status_code == 422 and r.json()["code"] == "invalid_siret"
    assert count_requests() == 0


def test_malformed_json_and_unknown_fields(client, people, submission):
    parts = submission()
    parts["data"]["metadata"] = '{"structure": {'
    r = client.post("/agrement-requests", headers=auth(people["mandataire"]), **parts)
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"

    parts = submission(unexpected="x")
    r = client.post("/agrement-requests", headers=auth(people["mandataire"]), **parts)
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/metadata/unexpected"

    r = client.post(
        "/agrement-requests/1/avis",
        headers={**auth(people["mandataire"]), "Content-Type": "application/json"},
        content=b"{avis: favorable",
    )
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"


def test_not_multipart_and_unknown_file_field(client, people, submit, pdf_bytes):
    r = client.post("/agrement-requests", headers=auth(people["mandataire"]), json={"structure": {}})
    assert r.status_code == 415
    r = submit(files=[("cv", ("cv.pdf", pdf_bytes, "application/pdf"))])
    assert r.status_code == 422 and r.json()["code"] == "unknown_piece_kind"


def test_idempotent_submission(submit):
    first = submit(headers={"Idempotency-Key": "envoi-42"})
    again = submit(headers={"Idempotency-Key": "envoi-42"})
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["id"] == first.json()["id"] and count_requests() == 1

    changed = submit(headers={"Idempotency-Key": "envoi-42"}, motivation="autre")
    assert changed.status_code == 422 and changed.json()["code"] == "idempotency_key_reused"

    duplicate = submit()  # no key: the open request is found
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "request_already_open"
    assert count_requests() == 1


def test_roles_are_enforced(client, people, submit):
    rid = submit().json()["id"]
    other = auth(people["other_mandataire"])
    assert client.get(f"/agrement-requests/{rid}", headers=other).status_code == 404
    assert client.get(f"/agrement-requests/{rid}/timeline", headers=other).status_code == 404
    assert client.get("/agrement-requests", headers=other).json()["items"] == []
    r = client.post(f"/agrement-requests/{rid}/withdraw", headers=other, json={"reason": "non"})
    assert r.status_code == 404
    r = client.post(f"/agrement-requests/{rid}/admissible", headers=auth(people["mandataire"]), json={})
    assert r.status_code == 403 and r.json()["code"] == "role_not_allowed"
    r = client.post("/agrement-requests", headers=auth(people["officer"]), files={"dossier": ("a.pdf", b"%PDF-")})
    assert r.status_code == 403
    assert client.get("/agrement-requests", headers=auth(people["controleur"])).status_code == 403
    assert client.get(f"/agrement-requests/{rid}", headers=auth(people["officer"])).status_code == 200
    assert (
        client.post(
            "/users", headers=auth(people["mandataire"]), json={"email": "x@y.fr", "full_name": "X", "role": "officer"}
        ).status_code
        == 403
    )


def test_instruction_to_decision_through_the_api(client, people, submit):
    officer, mandataire = auth(people["officer"]), auth(people["mandataire"])
    rid = submit().json()["id"]
    r = client.post(f"/agrement-requests/{rid}/admissible", headers=officer, json={"comment": "Complet"})
    assert r.status_code == 200 and r.json()["state"] == "under_review"  # the review opens at once
    r = client.post(f"/agrement-requests/{rid}/decision", headers=officer, json={"decision": "grant"})
    assert r.status_code == 409 and "avis" in r.json()["detail"]
    r = client.post(
        f"/agrement-requests/{rid}/avis",
        headers=mandataire,
        json={"avis": "favorable", "comment": "Équipe d'encadrement formée"},
    )
    assert r.status_code == 200 and r.json()["avis"] == "favorable"
    assert client.get(f"/agrement-requests/{rid}", headers=officer).json()["allowed_actions"] == ["decision"]
    r = client.post(
        f"/agrement-requests/{rid}/decision", headers=officer, json={"decision": "grant", "start_date": "2027-01-01"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "granted" and body["agrement"]["number"].startswith("AGR-SP-")
    assert body["agrement"]["end_date"] == "2029-12-31"
    timeline = client.get(f"/agrement-requests/{rid}/timeline", headers=mandataire).json()["items"]
    assert [(e["action"], e["actor_role"]) for e in timeline] == [
        ("submit", "mandataire"),
        ("declare_admissible", "officer"),
        ("start_review", "system"),
        ("give_avis", "mandataire"),
        ("grant", "officer"),
        ("create", "officer"),
    ]
    agrements = client.get("/agrements", headers=mandataire).json()["items"]
    assert [a["number"] for a in agrements] == [body["agrement"]["number"]]
    assert client.get("/agrements", headers=auth(people["other_mandataire"])).json()["items"] == []


def test_complements_through_the_api(client, people, submit, pdf_bytes):
    officer, mandataire = auth(people["officer"]), auth(people["mandataire"])
    rid = submit().json()["id"]
    r = client.post(
        f"/agrement-requests/{rid}/request-complements",
        headers=officer,
        json={"message": "Joindre les statuts de l'association.", "deadline_days": 15},
    )
    assert r.status_code == 200 and r.json()["state"] == "incomplete"
    r = client.post(
        f"/agrement-requests/{rid}/complements",
        headers=mandataire,
        data={"metadata": '{"comment": "Statuts joints"}'},
        files=[("statuts", ("statuts.pdf", pdf_bytes, "application/pdf"))],
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "submitted" and r.json()["round"] == 2
    r = client.post(
        f"/agrement-requests/{rid}/complements", headers=mandataire, data={"metadata": '{"comment": "encore"}'}
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"


def test_files_of_a_refused_action_are_collected_after_the_grace_period(
    client, people, submit, pdf_bytes, settings, monkeypatch
):
    """An upload checked and stored, then refused by the domain (409), leaves a file no dossier
    refers to: the sweep's collector deletes it once past the grace period, never a referenced one."""
    from flows.common import collect_orphan_uploads

    rid = submit().json()["id"]
    stray = pdf_bytes + b"\n% piece of a refused action"
    r = client.post(
        f"/agrement-requests/{rid}/complements",
        headers=auth(people["mandataire"]),
        data={"metadata": '{"comment": "hors délai"}'},
        files=[("statuts", ("statuts.pdf", stray, "application/pdf"))],
    )
    assert r.status_code == 409, r.text
    uploads = settings.uploads_dir
    files = {p.relative_to(uploads).as_posix(): p for p in uploads.rglob("*.pdf")}
    digest = hashlib.sha256(stray).hexdigest()
    assert any(digest in name for name in files)  # stored before the domain refused the action
    with session_scope() as db:
        pieces = db.exec(select(Piece).where(Piece.request_id == rid)).all()
    assert len(pieces) == 2 and all(digest not in p.relative_path for p in pieces)

    assert collect_orphan_uploads() == {"removed": 0}  # within the grace period: untouched
    monkeypatch.setattr(settings, "upload_orphan_grace_hours", 0.0)
    assert collect_orphan_uploads() == {"removed": 1}
    remaining = {p.relative_to(settings.data_dir).as_posix() for p in uploads.rglob("*.pdf")}
    assert remaining == {p.relative_path for p in pieces}
    for piece in pieces:  # the dossier's pieces are still served
        r = client.get(f"/agrement-requests/{rid}/pieces/{piece.id}", headers=auth(people["mandataire"]))
        assert r.status_code == 200 and r.content.startswith(b"%PDF")


def test_officer_creates_accounts(client, people):
    r = create_account(client, people["officer"], "nouveau.mandataire@example.org", "Loïc L'Hénoret", "un-mot-de-passe")
    assert r.status_code == 201 and r.json()["full_name"] == "Loïc L'Hénoret"
    again = client.post(
        "/users",
        headers=auth(people["officer"]),
        json={"email": "nouveau.mandataire@example.org", "full_name": "X", "role": "mandataire"},
    )
    assert again.status_code == 409


def test_a_structure_account_reads_its_own_dossiers_only(client, people, submit):
    mine = submit(1).json()
    submit(2)  # another structure's request
    officer = auth(people["officer"])
    r = client.post(
        "/users",
        headers=officer,
        json={
            "email": "direction@jardins.example.org",
            "full_name": "Direction des Jardins",
            "role": "structure",
            "password": "structure-2026",
            "structure_siret": mine["structure_siret"],
        },
    )
    assert r.status_code == 201, r.text
    token = client.post(
        "/auth/token", json={"email": "direction@jardins.example.org", "password": "structure-2026"}
    ).json()["access_token"]
    structure = {"Authorization": f"Bearer {token}"}
    assert [d["id"] for d in client.get("/agrement-requests", headers=structure).json()["items"]] == [mine["id"]]
    detail = client.get(f"/agrement-requests/{mine['id']}", headers=structure).json()
    assert detail["allowed_actions"] == []
    assert client.get(f"/agrement-requests/{mine['id'] + 1}", headers=structure).status_code == 404
    r = client.post(f"/agrement-requests/{mine['id']}/withdraw", headers=structure, json={"reason": "x"})
    assert r.status_code == 403
