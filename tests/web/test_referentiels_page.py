"""The référentiels page of the back-office: versions listed, a file uploaded → previewed (nothing
written) → loaded as a draft → activated on a date; refused files named at their place; CSRF and
officers only."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

from certification.clock import today
from certification.db import session_scope
from certification.referentiel import service
from certification.services.referential import get_certification
from tests.web.conftest import csrf_of, page_csrf

V2 = (Path(__file__).parents[1] / "referentiels" / "data" / "CQP_SP-test-v2-equivalences.yaml").read_bytes()


def _versions() -> list[tuple[str, str]]:
    with session_scope() as db:
        return [(v.label, service.state_of(db, v))
                for v in service.versions_of(db, get_certification(db, "CQP_SP").id)]


def _hidden(html: str) -> dict[str, str]:
    return {name: unescape(value) for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                                                                 html)}


def test_upload_preview_load_and_activate(browser, people):
    officer = browser(people["officer"])
    page = officer.get("/app/referentiels")
    assert page.status_code == 200 and "CQP Salarié Polyvalent (CQP_SP)" in page.text
    assert 'href="/app/referentiels"' in page.text and "en vigueur" in page.text
    token = csrf_of(page.text)

    bad = officer.post("/app/referentiels/apercu", data={"csrf_token": token},
                       files={"file": ("v2.yaml", V2.replace(b"to: [TST-B2]", b"to: [TST-B9]"), "application/yaml")})
    assert bad.status_code == 422
    assert "v2.yaml, ligne 23 : equivalences[2].to[1] : bloc TST-B9 inconnu dans la version « 2 »" in unescape(bad.text)

    forged = officer.post("/app/referentiels/apercu", data={"csrf_token": "faux"},
                          files={"file": ("v2.yaml", V2, "application/yaml")})
    assert forged.status_code == 403

    preview = officer.post("/app/referentiels/apercu", data={"csrf_token": token},
                           files={"file": ("CQP_SP-2.yaml", V2, "application/yaml")})
    assert preview.status_code == 200, preview.text
    text = unescape(preview.text)
    assert "Comparée à la version « 1 » (en vigueur)" in text and "bloc ajouté : TST-B1" in text
    assert "SP-B1 → TST-B1" in text and "Rien n'est encore enregistré" in text
    assert _versions() == [("1", "en vigueur")]  # nothing written by the preview

    hidden = _hidden(preview.text)
    loaded = officer.post("/app/referentiels/charger", data=hidden)
    assert loaded.status_code == 303 and loaded.headers["location"] == "/app/referentiels?fait=charge"
    assert _versions() == [("1", "en vigueur"), ("2", "brouillon")]
    again = officer.post("/app/referentiels/charger", data=hidden)
    assert again.headers["location"] == "/app/referentiels?fait=deja"

    listed = officer.get("/app/referentiels?fait=charge")
    assert "Version chargée (brouillon)" in unescape(listed.text)
    assert 'action="/app/referentiels/CQP_SP/2/activer"' in listed.text
    day = today() + timedelta(days=10)
    past = officer.post("/app/referentiels/CQP_SP/2/activer",
                        data={"csrf_token": token, "on": (today() - timedelta(days=1)).isoformat()})
    assert past.status_code == 422 and "ne peut pas être passée" in unescape(past.text)
    done = officer.post("/app/referentiels/CQP_SP/2/activer",
                        data={"csrf_token": token, "on": day.isoformat(), "reason": "Rénovation"})
    assert done.status_code == 303
    assert _versions() == [("1", "en vigueur"), ("2", "programmée")]


def test_other_roles_are_refused(browser, people):
    mandataire = browser(people["mandataire"])
    assert mandataire.get("/app/referentiels").status_code == 403
    r = mandataire.post("/app/referentiels/apercu", data={"csrf_token": page_csrf(mandataire)},
                        files={"file": ("v2.yaml", V2, "application/yaml")})
    assert r.status_code == 403
