"""Checks shared by the e-mail tests (tests/controle/test_controle_mails.py and
tests/agrement/test_agrement_mails.py; tests/jury/test_jury_mails.py and
tests/appeals/test_appeals_mails.py)."""

from __future__ import annotations

from documents.samples import SAMPLE_STRUCTURE_NAME

ESCAPED_NAME = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Fils"


def check_common(subject: str, text: str, html: str, url: str, *, staff: bool) -> None:
    """What every e-mail of the contrôles and of the agrément's life shows: one-line subject, the
    structure's name as typed (text) and escaped (HTML), the certification, the link, the greeting."""
    assert "\n" not in subject
    assert SAMPLE_STRUCTURE_NAME in text  # plain text: as typed
    assert "<script>" not in html  # HTML: escaped
    assert ESCAPED_NAME in html
    assert "CQP Salarié Polyvalent" in text and "CQP Salarié Polyvalent" in html
    assert f'href="{url}"' in html
    greeting = "Bonjour," if staff else "Madame, Monsieur,"
    assert greeting in text and greeting in html
    assert "{{" not in text + html and "{%" not in text + html


def check_referenced_mail(subject: str, text: str, html: str, reference: str) -> None:
    """What every e-mail of a jury session or an appeal shows: one-line subject, the dossier's
    reference (to be recalled in any correspondence), the certification, no raw markup, French HTML."""
    assert "\n" not in subject
    assert reference in text and reference in html
    assert f"Merci de rappeler la référence {reference} dans toute correspondance" in text
    assert "CQP Salarié Polyvalent" in text and "CQP Salarié Polyvalent" in html
    assert "<script>" not in html and "<b>" not in html
    assert "{{" not in text + html and "{%" not in text + html
    assert '<html lang="fr">' in html
