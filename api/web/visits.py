"""The back-office form of a visit on site, shared by the contrôle and the appui pédagogique pages
(the rules themselves are :mod:`certification.visits`)."""

from __future__ import annotations

from api.web.forms import Input, Parsed, integer, moment, text
from certification import visits
from certification.settings import get_settings
from documents.formatting import datetime_fr


def parse_visit(form, ctx) -> Parsed:
    """Date, place, length and notes of a visit (contrôle or appui pédagogique)."""
    at = moment(form, "visit_at", required="Indiquez la date et l'heure de la visite.")
    visits.check_moment(at)
    place = text(form, "place", required=visits.PLACE_REQUIRED, max_len=300)
    minutes = integer(form, "duration_minutes", lo=visits.MIN_MINUTES, hi=visits.MAX_MINUTES,
                      default=get_settings().visit_duration_minutes, message=visits.BAD_DURATION)
    notes = text(form, "notes")
    summary = [("Date et heure", datetime_fr(at)), ("Lieu", place), ("Durée", f"{minutes} minutes"),
               ("Informations", notes or "—")]
    if ctx.get("visit_scheduled"):
        summary.append(("Attention", "la visite déjà programmée est déplacée : une nouvelle invitation remplace "
                                     "la précédente"))
    return Parsed({"visit_at": at, "place": place, "minutes": minutes, "notes": notes}, summary)


VISIT_INPUTS = (
    Input("visit_at", "Date et heure (heure de Paris)", "datetime", required=True),
    Input("place", "Lieu", required=True, attrs=(("maxlength", "300"),)),
    Input("duration_minutes", "Durée (minutes)", "number",
          default=lambda _ctx, _item: str(get_settings().visit_duration_minutes),
          attrs=(("min", "15"), ("max", "720"))),
    Input("notes", "Informations pour la structure (facultatif)", "textarea"),
)
