"""The référentiels page in a real headless Chromium: the officer chooses a version's YAML in the
file input, reads the changes (nothing recorded yet), loads the draft and programs its activation
on a date. The versions' table stays inside the page; no script, console or HTTP error. Screenshots
go to ``test-artifacts/web/referentiels/`` (browser and server: tests/web/test_browser.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from certification.clock import today
from certification.db import session_scope
from certification.referentiel import service
from certification.services.referential import get_certification
from documents.formatting import date_fr
from tests.factories import make_users
from tests.web.test_browser import chromium, server, shooter, sign_in  # noqa: F401  (fixtures)

V2 = (Path(__file__).parent / "data" / "CQP_SP-test-v2-equivalences.yaml").read_bytes()


def _versions() -> list[tuple[str, str]]:
    with session_scope() as db:
        return [(v.label, service.state_of(db, v)) for v in service.versions_of(db, get_certification(db, "CQP_SP").id)]


def _fits(page, selector: str) -> bool:
    """The element is no wider than its container (no table running off the page)."""
    return page.evaluate(f"""() => {{ const e = document.querySelector({selector!r});
        return e.getBoundingClientRect().right <= e.parentElement.getBoundingClientRect().right + 1; }}""")


def test_officer_loads_and_programs_a_version_in_a_real_browser(server, chromium):  # noqa: F811
    people = make_users()
    page = chromium()
    shot = shooter(page, "referentiels")
    sign_in(page, server, people["officer"], shot)
    page.click("nav a[href='/app/referentiels']")
    page.wait_for_url(f"{server}/app/referentiels")
    assert page.inner_text("h1") == "Référentiels des certifications"
    assert "CQP Salarié Polyvalent (CQP_SP)" in page.inner_text("#cert-CQP_SP")
    assert _fits(page, "table.versions")
    shot("02-versions")

    # A wrong file: refused, its error named at its place in French, nothing recorded.
    page.set_input_files(
        "#upload input[type=file]",
        files=[
            {"name": "v2.yaml", "mimeType": "application/yaml", "buffer": V2.replace(b"to: [TST-B2]", b"to: [TST-B9]")}
        ],
    )
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#upload-errors")
    assert "v2.yaml, ligne 23 : equivalences[2].to[1] : bloc TST-B9 inconnu dans la version « 2 »" in page.inner_text(
        "#upload-errors"
    )
    page.problems.clear()  # the 422 of the refused file is the expected answer
    shot("03-fichier-refuse")

    # The right file: the changes, nothing recorded yet; then confirmed, the draft is listed.
    page.set_input_files(
        "#upload input[type=file]", files=[{"name": "CQP_SP-2.yaml", "mimeType": "application/yaml", "buffer": V2}]
    )
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#confirm")
    text = page.inner_text("main")
    assert "Rien n'est encore enregistré" in text and "bloc ajouté : TST-B1" in text and "SP-B1 → TST-B1" in text
    assert _versions() == [("1", "en vigueur")]
    shot("04-apercu")
    page.click("#confirm")
    page.wait_for_url(f"{server}/app/referentiels?fait=charge")
    assert "Version chargée (brouillon)" in page.inner_text(".flash")
    assert _versions() == [("1", "en vigueur"), ("2", "brouillon")]
    assert _fits(page, "table.versions")  # with the activation form in its last column
    shot("05-brouillon")

    # Its activation programmed ten days ahead, with a reason.
    day = today() + timedelta(days=10)
    form = "#activate-CQP_SP-2"
    page.fill(f"{form} input[name=on]", day.isoformat())
    page.fill(f"{form} input[name=reason]", "Rénovation du référentiel")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector(".flash")
    assert _versions() == [("1", "en vigueur"), ("2", "programmée")]
    row = page.locator("#cert-CQP_SP + table tr.version-row", has_text="programmée")
    assert date_fr(day) in row.inner_text()
    shot("06-programmee")
    assert not page.problems, page.problems
