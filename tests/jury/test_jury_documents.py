"""Jury documents rendered to real PDFs and read back: PV de jury, parchemins; QR codes;
the public verification page (the décision sur recours in tests/appeals)."""

from __future__ import annotations

import html as html_lib
import io
import time
import xml.etree.ElementTree as ET
from datetime import datetime, UTC
from pathlib import Path

import jinja2
import pytest
from pypdf import PdfReader

from documents import render
from documents.qr import QR_DARK, qr_svg
from documents.render import make_environment
from documents.samples import (
    SAMPLE_HOLDER_FIRST_NAMES,
    SAMPLE_HOLDER_LAST_NAME,
    SAMPLE_STRUCTURE_NAME,
    sample_attestation,
    sample_certificate_context,
    sample_jury_context,
    sample_recours_context,
    sample_verification_context,
)
from tests.texts import assert_contains

pytestmark = pytest.mark.integration

API_TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "templates"
URL = "https://cqp.example.org/verification/SP-2026-000123"
ESCAPED_STRUCTURE = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Fils"
ESCAPED_HOLDER = "O&#39;Brien-Lefèvre &lt;script&gt;"


def _line_ops(data: bytes) -> int:
    """Number of path segments ("l" operators) drawn on the first page: the QR code is vector."""
    page = PdfReader(io.BytesIO(data)).pages[0]
    return page.get_contents().get_data().count(b" l\n")


def _image_count(data: bytes) -> int:
    page = PdfReader(io.BytesIO(data)).pages[0]
    xobjects = page["/Resources"].get("/XObject") or {}
    return sum(1 for ref in xobjects.values() if ref.get_object().get("/Subtype") == "/Image")


# --- QR code -------------------------------------------------------------------------


def test_qr_svg_is_inline_well_formed_sized_and_coloured() -> None:
    markup = qr_svg(URL)

    assert markup.startswith("<svg ") and "<?xml" not in markup
    root = ET.fromstring(markup)  # well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("width") == "30mm" and root.get("height") == "30mm"
    assert root.get("viewBox", "").startswith("0 0 ")
    paths = root.findall("{http://www.w3.org/2000/svg}path")
    assert len(paths) == 1 and paths[0].get("stroke") == QR_DARK and len(paths[0].get("d")) > 200


def test_qr_svg_is_deterministic_and_depends_on_the_url() -> None:
    assert qr_svg(URL) == qr_svg(URL)
    assert qr_svg(URL) != qr_svg(URL.replace("000123", "000124"))
    assert 'width="25mm"' in qr_svg(URL, size_mm=25)


@pytest.mark.parametrize("url", ["", "https://x.org/\nverification"])
def test_qr_svg_refuses_empty_or_control_characters(url) -> None:
    with pytest.raises(ValueError):
        qr_svg(url)


# --- Procès-verbal -------------------------------------------------------------------


def test_pv_gives_session_composition_quorum_results_and_signature(pdf_text, pdf_pages) -> None:
    context = sample_jury_context(4)
    data = render.render_pdf("jury/pv_jury.html", context)
    text = pdf_text(data)
    html = render.render_html("jury/pv_jury.html", context)

    assert data.startswith(b"%PDF-")
    assert "PV modificatif" not in text
    assert_contains(
        text,
        [
            "Procès-verbal de jury",
            "JURY-2026-0001 CQP Salarié Polyvalent (CQP_SP) 12 juin 2026 à 9 h 30 (heure de Paris)",
            "Maison de l'Emploi, 3 rue de l'Église, 69007 Lyon",
            "https://visio.example.org/jury/2026-0001?code=A1&lang=fr",
            # Composition by college, president, presence, quorum.
            "Collège employeurs Hélène Lefèvre, présidente du jury – présente Jean-Michel D'Arcy – présent",
            "Collège salariés Fatoumata Koné – présent·e Anne-Sophie L'Hôte <em> – absente",
            "Membres présents : 3 sur 4 ; quorum fixé à 3. Quorum atteint",
            # Results: the union of the blocs as columns, one row per candidate.
            "Résultats de la délibération (4 candidats)",
            "N° Candidat Structure BC01 BC02 BC03 BC04 Décision N° de document",
            f"1 {SAMPLE_HOLDER_LAST_NAME} {SAMPLE_HOLDER_FIRST_NAMES}",
            "<b>Durand</b> & D'Arcy Jean-Émile",
            "Certifié SP-2026-000123",
            "Validation partielle SP-2026-000124",
            "Absent Absent Absent Absent Absent –",
            "Synthèse : 4 candidats présentés ; 1 certifié ; 1 validation partielle ; 1 sans bloc validé ; 1 absent.",
            "Procès-verbal signé par Hélène Lefèvre le 12 juin 2026 à 16 h 10.",
            "Réf. JURY-2026-0001",
            "Page 1 / ",
        ],
    )
    # The structure name is printed literally (its narrow column may wrap it after "</").
    assert SAMPLE_STRUCTURE_NAME.replace(" ", "") in text.replace(" ", "")  # wrapped in its column
    # Every user text is escaped.
    assert "<script>" not in html and "<b>Durand" not in html and "<em>" not in html
    assert ESCAPED_STRUCTURE in html and ESCAPED_HOLDER in html
    assert "&lt;b&gt;Durand&lt;/b&gt; &amp; D&#39;Arcy" in html
    assert "{{" not in html and "{%" not in html


def test_pv_modificatif_after_an_upheld_recours(pdf_text) -> None:
    context = sample_jury_context(
        2,
        pv_version=2,
        recours_note="PV modificatif après recours R-2026-0001.\nCandidat <n°1> rétabli.",
        pv_signed_at=None,
        pv_signed_by=None,
    )
    text = pdf_text(render.render_pdf("jury/pv_jury.html", context))
    html = render.render_html("jury/pv_jury.html", context)

    assert "PV modificatif n° 1 (version 2)" in text
    assert "il annule et remplace le procès-verbal précédent" in text
    assert "PV modificatif après recours R-2026-0001. Candidat <n°1> rétabli." in text
    assert "R-2026-0001.<br>\nCandidat &lt;n°1&gt; rétabli." in html
    assert "Procès-verbal signé" not in text and "Date et signature" in text


def test_pv_without_quorum_nor_place_and_blocs_of_returning_candidates(pdf_text) -> None:
    context = sample_jury_context(3, place=None, quorum=5, video_link="https://visio.example.org/j/1")
    # A returning candidate was assessed on one bloc only: the other columns show a dash.
    context["jury"]["candidates"][2]["blocs"] = context["jury"]["candidates"][2]["blocs"][1:2]
    text = pdf_text(render.render_pdf("jury/pv_jury.html", context))

    assert "Date et heure Séance à distance" in text  # labels and values are extracted as two columns
    assert "(heure de Paris) https://visio.example.org/j/1" in text
    assert "Quorum non atteint" in text
    assert "– Non validé – –" in text


def test_pv_with_130_candidates_spans_pages_with_every_candidate(pdf_text, pdf_pages) -> None:
    context = sample_jury_context(130)
    render.render_pdf("jury/pv_jury.html", sample_jury_context(2))  # warm-up: fonts, stylesheets

    start = time.perf_counter()
    data = render.render_pdf("jury/pv_jury.html", context)
    elapsed = time.perf_counter() - start
    pages = pdf_pages(data)
    print(f"\nPV de jury, 130 candidats : {pages} pages, {len(data) / 1024:.0f} ko, rendu en {elapsed:.2f} s")

    assert pages >= 5
    text = pdf_text(data)
    assert "Résultats de la délibération (130 candidats)" in text
    for candidate in context["jury"]["candidates"]:
        assert f"{candidate['last_name']} {candidate['first_names']}" in text, candidate["last_name"]
        assert candidate["reference"] in text
    # The table header is repeated on every page the table runs over.
    reader = PdfReader(io.BytesIO(data))
    with_header = [
        "N° Candidat Structure BC01" in " ".join((page.extract_text() or "").split()) for page in reader.pages
    ]
    assert sum(with_header) >= pages - 1
    assert "Synthèse : 130 candidats présentés ; 33 certifiés ; 33 validations partielles" in text
    assert f"Page {pages} / {pages}" in text


# --- Parchemins ----------------------------------------------------------------------


def test_certificat_is_one_landscape_page_with_holder_blocs_number_and_qr(pdf_text, pdf_pages) -> None:
    context = sample_certificate_context()
    render.render_pdf("jury/certificat.html", context)  # warm-up

    start = time.perf_counter()
    data = render.render_pdf("jury/certificat.html", context)
    elapsed = time.perf_counter() - start
    print(f"\nCertificat : {len(data) / 1024:.0f} ko, rendu en {elapsed:.3f} s")

    assert pdf_pages(data) == 1
    box = PdfReader(io.BytesIO(data)).pages[0].mediabox
    assert float(box.width) > float(box.height)  # A4 landscape
    assert round(float(box.width) / 72 * 25.4) == 297
    text = pdf_text(data)
    assert_contains(
        text,
        [
            "Certificat de qualification professionnelle est décerné à",
            f"{SAMPLE_HOLDER_FIRST_NAMES} {SAMPLE_HOLDER_LAST_NAME}",  # hostile name, literal
            "née le 1er janvier 1980",
            "pour la certification CQP Salarié Polyvalent",
            "enregistrée au Répertoire spécifique sous le code RS6149",
            "BC02 Réaliser des travaux d'entretien et de maintenance acquis le 20 novembre 2025",
            "BC03 Travailler en équipe & rendre compte de son activité",
            "Sur décision du jury paritaire JURY-2026-0001 réuni le 12 juin 2026.",
            "Délivré le 15 juin 2026",
            "N° SP-2026-000123",
            f"Vérifier l'authenticité : {URL}",
        ],
    )
    for absent in ("DUPLICATA", "RÉVOQUÉ", "rectifié"):
        assert absent not in text
    html = render.render_html("jury/certificat.html", context)
    assert ESCAPED_HOLDER in html and "<script>" not in html
    # The QR code is drawn as vector paths, not as an image.
    assert context["certificate"]["qr_svg"] in html
    assert _image_count(data) == 0
    without_qr = render.render_pdf(
        "jury/certificat.html", {**context, "certificate": {**context["certificate"], "qr_svg": ""}}
    )
    assert _line_ops(data) - _line_ops(without_qr) > 100


def test_certificat_without_registry_code(pdf_text) -> None:
    text = pdf_text(render.render_pdf("jury/certificat.html", sample_certificate_context(registry_code="")))

    assert "Code CQP_SP" in text and "répertoire national" not in text


def test_duplicate_and_corrected_certificat_say_so(pdf_text, pdf_pages) -> None:
    context = sample_certificate_context(
        duplicate=True, version=2, correction_note="Prénom rectifié :\n<Marie-Noëlle>."
    )
    data = render.render_pdf("jury/certificat.html", context)
    text = pdf_text(data)

    assert pdf_pages(data) == 1
    assert "DUPLICATA" in text
    assert "Duplicata établi le 15 juin 2026 ; il a la même valeur que l'original délivré le 15 juin 2026." in text
    assert "Document rectifié (version 2) : Prénom rectifié : <Marie-Noëlle>." in text
    assert "RÉVOQUÉ" not in text
    assert "&lt;Marie-Noëlle&gt;" in render.render_html("jury/certificat.html", context)


def test_revoked_certificat_is_clearly_marked(pdf_text, pdf_pages) -> None:
    data = render.render_pdf("jury/certificat.html", sample_certificate_context(state="revoked"))
    text = pdf_text(data)

    assert pdf_pages(data) == 1
    assert "DOCUMENT RÉVOQUÉ – ce document n'a plus de valeur." in text
    assert "DUPLICATA" not in text


def test_attestation_lists_acquired_blocs_with_validity(pdf_text, pdf_pages) -> None:
    context = sample_certificate_context()
    context["certificate"] = sample_attestation()
    data = render.render_pdf("jury/attestation_blocs.html", context)
    text = pdf_text(data)

    assert pdf_pages(data) == 1
    assert_contains(
        text,
        [
            "Attestation de validation de blocs de compétences est délivrée à",
            f"{SAMPLE_HOLDER_FIRST_NAMES} {SAMPLE_HOLDER_LAST_NAME}",
            "qui a validé les blocs de compétences suivants de la certification CQP Salarié Polyvalent",
            "Bloc Intitulé Acquis le Valable jusqu'au",
            "BC01 Accueillir et informer les publics 12 juin 2026 12 juin 2031",
            "BC03 Travailler en équipe & rendre compte de son activité 20 novembre 2025 20 novembre 2030",
            "conservés pendant cinq ans",
            "le certificat de qualification professionnelle lui sera délivré lorsqu'il détiendra l'ensemble des blocs",
            "N° SP-2026-000124",
            "Vérifier l'authenticité : https://cqp.example.org/verification/SP-2026-000124",
        ],
    )
    assert "BC02" not in text
    assert _image_count(data) == 0


def test_attestation_with_one_bloc_and_no_limit(pdf_text) -> None:
    context = sample_certificate_context()
    context["certificate"] = sample_attestation(
        blocs=[{"code": "BC04", "title": "Hygiène", "acquired_on": datetime(2026, 6, 12).date(), "valid_until": None}],
        duplicate=True,
        state="revoked",
    )
    text = pdf_text(render.render_pdf("jury/attestation_blocs.html", context))

    assert "qui a validé le bloc de compétences suivant" in text
    assert "BC04 Hygiène 12 juin 2026 sans limite" in text
    assert "DUPLICATA" in text and "RÉVOQUÉ" in text


# --- Public verification page --------------------------------------------------------


@pytest.fixture(scope="module")
def verification_env() -> jinja2.Environment:
    return make_environment(API_TEMPLATES, autoescape_extensions=("html",))


def _render_verification(env: jinja2.Environment, status: str, **overrides) -> str:
    return env.get_template("verification.html").render(**sample_verification_context(status, **overrides))


def test_verification_page_valid(verification_env) -> None:
    html = _render_verification(verification_env, "valid")
    text = html_lib.unescape(html)

    assert '<html lang="fr">' in html and 'name="viewport"' in html and "noindex" in html
    assert "Document authentique et valide" in text
    assert "Certificat de qualification professionnelle" in text and "CQP Salarié Polyvalent" in text
    assert "M.-N. O." in text and "15 juin 2026" in text
    assert "BC03 — Travailler en équipe &amp; rendre compte de son activité" in html
    assert "RÉVOQUÉ" not in text and "inconnu" not in text
    # No personal data beyond the initials.
    assert "O'Brien" not in text and "Marie-Noëlle" not in text and "1980" not in text


def test_verification_page_revoked(verification_env) -> None:
    html = _render_verification(verification_env, "revoked")
    text = html_lib.unescape(html)

    assert "Document RÉVOQUÉ le 1er septembre 2026" in text
    assert "il n'a plus de valeur" in text
    assert "Fraude constatée &lt;b&gt;après&lt;/b&gt; délibération." in html
    assert "Document authentique et valide" not in text


def test_verification_page_unknown_number_is_escaped(verification_env) -> None:
    html = _render_verification(verification_env, "unknown")
    text = html_lib.unescape(html)

    assert (
        "Numéro inconnu : ce document n'a pas été délivré par l'Organisme certificateur CQP de la branche des ACI"
        in text
    )
    assert "SP-2026-&lt;script&gt;" in html and "<script>" not in html
    assert "Document authentique" not in text and "Titulaire" not in text


def test_verification_page_rejects_an_unknown_status(verification_env) -> None:
    with pytest.raises(jinja2.UndefinedError):
        _render_verification(verification_env, "maybe")


def test_verification_page_renders_as_pdf_too(verification_env) -> None:
    """The page is standalone: WeasyPrint lays it out without any external resource."""
    from weasyprint import HTML

    data = HTML(string=_render_verification(verification_env, "revoked")).write_pdf()
    text = " ".join((PdfReader(io.BytesIO(data)).pages[0].extract_text() or "").split())
    assert "Document RÉVOQUÉ le 1er septembre 2026" in text


def test_sample_contexts_use_aware_datetimes() -> None:
    jury = sample_jury_context()["jury"]
    assert jury["scheduled_at"].tzinfo is not None and jury["pv_signed_at"].tzinfo is not None
    assert sample_recours_context()["recours"]["filed_at"].tzinfo == UTC
