"""ensure_document: render once, store once, record once (database from tests/conftest.py)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from certification.db import new_session
from documents import render
from documents.models import GeneratedDocument
from documents.service import ensure_document, list_documents
from documents.storage import file_digest

KEY = dict(entity_type="agrement_requests", entity_id=7, kind="accuse_reception", version=1)


@pytest.fixture
def render_calls(monkeypatch) -> list[str]:
    """Counts real renders (the PDF is still produced by WeasyPrint)."""
    calls: list[str] = []
    real = render.render_pdf

    def counting(template, context):
        calls.append(template)
        return real(template, context)

    monkeypatch.setattr(render, "render_pdf", counting)
    return calls


def ensure(db, root, context, **overrides):
    args = dict(
        KEY, template="agrement/accuse_reception.html", context=context, filename="AGR-2026-00001-ar.pdf", root=root
    )
    return ensure_document(db, **{**args, **overrides})


def test_twice_gives_one_row_and_one_render(db, tmp_path, context, render_calls) -> None:
    first = ensure(db, tmp_path, context)
    db.commit()
    second = ensure(db, tmp_path, context)

    assert render_calls == ["agrement/accuse_reception.html"]
    assert second.id == first.id
    assert len(db.exec(select(GeneratedDocument)).all()) == 1
    assert first.relative_path == "generated/agrement_requests/7/accuse_reception-v1.pdf"
    assert file_digest(tmp_path / first.relative_path) == (first.sha256, first.size)
    assert (tmp_path / first.relative_path).read_bytes().startswith(b"%PDF-")


def test_a_missing_file_is_rendered_again(db, tmp_path, context, render_calls) -> None:
    doc = ensure(db, tmp_path, context)
    db.commit()
    (tmp_path / doc.relative_path).unlink()

    again = ensure(db, tmp_path, context)

    assert len(render_calls) == 2
    assert again.id == doc.id
    assert file_digest(tmp_path / again.relative_path) == (again.sha256, again.size)


def test_versions_and_kinds_are_distinct_documents(db, tmp_path, context) -> None:
    ensure(db, tmp_path, context)
    ensure(db, tmp_path, context, version=2)
    ensure(db, tmp_path, context, kind="demande_complements", template="agrement/demande_complements.html")
    ensure(db, tmp_path, context, entity_id=8)

    docs = list_documents(db, "agrement_requests", 7)
    assert [(d.kind, d.version) for d in docs] == [
        ("accuse_reception", 1),
        ("accuse_reception", 2),
        ("demande_complements", 1),
    ]


def test_the_caller_owns_the_transaction(engine, db, tmp_path, context) -> None:
    ensure(db, tmp_path, context)
    db.rollback()

    with new_session(engine) as other:
        assert other.exec(select(GeneratedDocument)).all() == []


def test_a_concurrent_insert_of_the_same_key_is_absorbed(engine, db, tmp_path, context, monkeypatch) -> None:
    """Another worker records the document while this one is rendering it."""
    real = render.render_pdf
    winner: list[GeneratedDocument] = []

    def render_while_another_worker_commits(template, ctx):
        monkeypatch.setattr(render, "render_pdf", real)  # the other worker renders normally
        with new_session(engine) as other:
            winner.append(ensure(other, tmp_path, context))
            other.commit()
        return real(template, ctx)

    monkeypatch.setattr(render, "render_pdf", render_while_another_worker_commits)
    loser = ensure(db, tmp_path, context)
    db.commit()

    assert loser.id == winner[0].id
    rows = db.exec(select(GeneratedDocument)).all()
    assert len(rows) == 1
    # The row describes the file actually left on disk.
    assert file_digest(tmp_path / rows[0].relative_path) == (rows[0].sha256, rows[0].size)
