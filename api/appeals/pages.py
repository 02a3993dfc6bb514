"""The recours in the back-office: the list, a recours' page with the candidate's results and the
officer's decisions (recevable, irrecevable, rejeté, fondé with the new results per bloc). The
letters of an appeal are sent by its jury session's flow (:mod:`flows.appeals`)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from api.web.actions import register
from api.web.deliberation import parse_bloc_results
from api.web.forms import (
    DossierKind, FormAction, Input, OFFICERS, Parsed, REASON, actions_of, reason, text, with_reason,
)
from api.web.pages import person
from api.web.prefect_links import links as prefect_links
from api.web.session import WebUser
from api.web.timeline import rows as timeline_rows
from certification.appeals import queries as appeal_queries
from certification.appeals import service as appeals_svc
from certification.appeals.actions import appeal_actions
from certification.appeals.models import Appeal
from certification.appeals.read_model import appeal_view
from certification.appeals.states import APPEAL, APPEAL_STATE_LABELS
from certification.candidates.models import Candidate
from certification.jury.states import DELIBERATION_RESULTS, OUTCOME_LABELS
from documents.formatting import date_fr
from documents.service import list_documents


def appeal_context(db: Session, current: WebUser, appeal_id: int) -> dict[str, Any]:
    """The appeal's page, mapped from its read model (:mod:`certification.appeals.read_model`)."""
    a = appeal_queries.get_appeal(db, current.actor, appeal_id)
    view = appeal_view(db, a)
    row, results = view.registration, dict(view.results)
    assert row is not None  # an appeal is filed against the candidate's results in the session
    return {
        "a": a, "candidate": view.candidate, "jury": view.jury, "state_label": APPEAL_STATE_LABELS[a.state],
        "final": APPEAL.is_final(a.state), "structure": view.structure,
        "deadline": view.deadline, "blocs": list(row.blocs), "results": results,
        "results_label": ", ".join(f"{b} : {DELIBERATION_RESULTS[r]}" for b, r in results.items()) or "—",
        "outcome": OUTCOME_LABELS.get(row.outcome, "—") if row.outcome else "—",
        "bloc_titles": dict(view.bloc_titles),
        "actions": appeal_actions(db, current.actor, a),
        "documents": list_documents(db, Appeal.__tablename__, a.id),
        "timeline": timeline_rows(db, (Appeal.__tablename__, a.id, "recours")),
        "prefect": prefect_links("jury", view.jury.id),
    }


def appeal_listing(db: Session, current: WebUser) -> dict[str, Any]:
    rows = []
    for a in appeal_queries.list_appeals(db, current.actor):
        cand = db.get(Candidate, a.candidate_id)
        rows.append((f"/app/recours/{a.id}", [a.reference, person(cand), date_fr(a.filed_at),
                                              APPEAL_STATE_LABELS[a.state]]))
    return {"title": "Recours", "rows": rows, "empty": "Aucun recours.",
            "columns": ["Référence", "Candidat", "Déposé le", "État"]}


def _parse_admissible(_form, ctx) -> Parsed:
    return Parsed({}, [("Candidat", person(ctx["candidate"])), ("Effet", "le recours est examiné par le jury")])


def _parse_uphold(form, ctx) -> Parsed:
    results = parse_bloc_results(form, ctx["blocs"])
    why = text(form, "reason", required="Motivez la décision sur le recours.")
    return Parsed({"results": results, "reason": why}, [
        ("Résultats actuels", ctx["results_label"]),
        ("Nouveaux résultats", "\n".join(f"{b} : {DELIBERATION_RESULTS[r]}" for b, r in results.items())),
        ("Motif", why),
        ("Effet", f"PV modificatif (version {ctx['jury'].pv_version + 1}), nouveaux documents et lettre au candidat"),
    ])


def _jury_flow(_appeal_id, _values, appeal) -> list[tuple[str, int]]:
    """The jury session's flow sends the letters of an appeal (there is no appeal flow)."""
    return [("jury_changed", appeal.session_id)]


APPEAL_ACTIONS = actions_of(
    FormAction("recevable", "Déclarer le recours recevable", OFFICERS, "admissible", (), _parse_admissible,
               lambda db, actor, i, v: appeals_svc.declare_admissible(db, actor, i),
               done="Le recours a été déclaré recevable.", dispatch=_jury_flow),
    FormAction("irrecevable", "Déclarer le recours irrecevable", OFFICERS, "inadmissible", (REASON,), reason,
               with_reason(appeals_svc.declare_inadmissible),
               done="Le recours a été déclaré irrecevable ; la lettre est envoyée.", dispatch=_jury_flow),
    FormAction("rejeter", "Rejeter le recours", OFFICERS, "reject", (REASON,), reason,
               with_reason(appeals_svc.reject),
               done="Le recours a été rejeté ; la lettre est envoyée.", dispatch=_jury_flow),
    FormAction("fonde", "Déclarer le recours fondé", OFFICERS, "uphold", (
        Input("bloc", "Nouveau résultat par bloc", "matrix", required=True, choices=tuple(DELIBERATION_RESULTS.items()),
              rows=lambda ctx, _item: [(b, f"{b} — {ctx['bloc_titles'].get(b, '')}", ctx["results"].get(b, ""))
                                       for b in ctx["blocs"]]),
        REASON,
    ), _parse_uphold, lambda db, actor, i, v: appeals_svc.uphold(db, actor, i, results=v["results"], reason=v["reason"]),
        done="Le recours est fondé : nouveau PV et nouveaux documents.", dispatch=_jury_flow),
)

APPEALS = register(DossierKind(
    "recours", "Les recours", "appeal_id", "appeals/appeal.html", appeal_context, "a", None, Appeal.__tablename__,
    APPEAL_ACTIONS, listing=appeal_listing,
    documents=lambda _s, ctx: {(Appeal.__tablename__, ctx["a"].id)},
))
