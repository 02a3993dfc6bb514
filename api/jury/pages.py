"""Jury sessions and their candidates in the back-office: composition (conflicts of interest
shown and refused), convocation, attendance, composition check, results per candidate and bloc,
closing and the PV signed by the president (or an officer). The recours against a session's
decisions have their page in :mod:`api.appeals.pages`."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from api.jury.router import jury_out_of, session_documents
from api.web.actions import register
from api.web.forms import (
    OFFICERS,
    REASON, DossierKind, FormAction, Input, Parsed, actions_of, choice, integer, moment, pick, reason, row_values,
    text
)
from api.web.deliberation import parse_bloc_results
from api.web.pages import certification_of, person, principal, structure_name
from api.web.prefect_links import links as prefect_links
from api.web.session import WebUser
from api.web.timeline import rows as timeline_rows
from certification.errors import Conflict, ValidationFailed
from certification.models import Certification, Role, User
from certification.jury.models import JurySession
from certification.jury.states import (
    COLLEGES,
    DELIBERATION_RESULTS,
    JURY,
    JURY_STATE_LABELS,
    JuryState,
    composition_refusal,
    missing_results_refusal,
)
from certification.services import conflicts
from certification.jury import queries as jury_queries
from certification.jury import service as jury_svc
from certification.jury.read_model import JuryView, jury_view
from certification.vae.queries import vae_dossier_id
from documents.formatting import datetime_fr
from documents.service import list_documents

O_J = frozenset({Role.officer, Role.jury_member})
ENTITY = JurySession.__tablename__
DELIBERATING = (JuryState.planned, JuryState.convened, JuryState.composition_checked)


# --- jury sessions ---------------------------------------------------------------------------


def _member_choices(db: Session, view: JuryView, members) -> list[dict[str, Any]]:
    """Active jury members not yet in the session, each with his conflicts with the candidates' structures."""
    taken = {m.user_id for m in members}
    structures = view.structures
    out = []
    for u in db.exec(select(User).where(User.role == Role.jury_member.value, User.active.is_(True))
                          .order_by(User.full_name)):
        if u.id in taken:
            continue
        problems = [f"{conflicts.LINK_LABELS[conflicts.LinkKind(link.kind)]} « {s.name} »"
                    for s in structures for link in conflicts.conflicting_links(db, u.id, s.id)]
        out.append({"id": u.id, "name": u.full_name, "conflict": "; ".join(problems)})
    return out


def jury_page_context(db: Session, current: WebUser, session_id: int) -> dict[str, Any]:
    """The session's page, mapped from its read model (:mod:`certification.jury.read_model`) through
    the API's view of it (:func:`api.jury.router.jury_out_of`), and the forms' choices."""
    j = jury_queries.get_jury_session(db, current.actor, session_id)
    view = jury_view(db, j)
    out = jury_out_of(db, principal(current), view)  # the API's view: members, candidates, results, actions
    candidates = [{"id": c.candidate_id, "reference": c.reference, "name": f"{c.first_names} {c.last_name}",
                   "structure": c.structure_name, "blocs": c.blocs, "results": c.results,
                   "outcome": c.outcome_label or "—", "version": c.certification_version,
                   "vae_dossier_id": vae_dossier_id(db, c.candidate_id)} for c in out.candidates]
    return {
        "role_refusal": jury_svc.NOT_PRESIDENT
        if current.role is Role.jury_member and not jury_svc.is_president(db, current.actor, j) else None,
        "j": j, "certification": view.certification, "state_label": out.state_label, "final": JURY.is_final(j.state),
        "members": out.members, "candidates": candidates,
        "mixed_versions": len({c["version"] for c in candidates}) > 1, "actions": out.allowed_actions,
        "composition_problems": out.composition_problems, "missing_results": out.missing_results,
        "bloc_titles": view.bloc_titles,  # each candidate's as his version words them
        "result_labels": DELIBERATION_RESULTS,
        "member_choices": _member_choices(db, view, out.members) if "members" in out.allowed_actions else [],
        "ready": [{"id": c.id, "label": f"{c.reference} — {person(c)} ({structure_name(db, c.structure_id)})"}
                  for c in jury_queries.unplaced_ready_candidates(db, j.certification_id)]
        if "candidates" in out.allowed_actions else [],
        "documents": session_documents(db, j) if current.role is Role.officer
        else list_documents(db, ENTITY, j.id),
        "timeline": timeline_rows(db, (ENTITY, j.id, "session")),
        "prefect": prefect_links("jury", j.id),
    }


def jury_listing(db: Session, current: WebUser) -> dict[str, Any]:
    rows = [(f"/app/jurys/{j.id}", [
        j.reference, certification_of(db, j.certification_id).code, datetime_fr(j.scheduled_at),
        j.place or "visioconférence", str(len(jury_queries.candidates_of(db, j.id))), JURY_STATE_LABELS[j.state],
    ]) for j in jury_queries.list_sessions(db, current.actor)]
    certifications = list(db.exec(select(Certification).order_by(Certification.code)))
    return {"title": "Sessions de jury", "rows": rows, "empty": "Aucune session de jury.",
            "columns": ["Référence", "Certification", "Date", "Lieu", "Candidats", "État"],
            "actions": ["plan"] if current.role is Role.officer else [],
            "certifications": [(c.code, f"{c.code.replace('_', ' ')} — {c.title}") for c in certifications]}


def _parse_plan(form, ctx) -> Parsed:
    code = choice(form, "certification_code", dict(ctx["certifications"]), "Choisissez la certification.")
    at = moment(form, "scheduled_at", required="Indiquez la date et l'heure de la session.")
    place, video = text(form, "place", max_len=300), text(form, "video_link", max_len=500)
    jury_svc.check_plan(at, place, video)
    quorum = integer(form, "quorum", lo=jury_svc.QUORUM_MIN, hi=jury_svc.QUORUM_MAX, default=3,
                     message=jury_svc.BAD_QUORUM)
    minutes = integer(form, "duration_minutes", lo=30, hi=720, default=240,
                      message="Durée invalide (30 minutes à 12 heures).")
    return Parsed({"code": code, "at": at, "place": place, "video": video, "quorum": quorum, "minutes": minutes}, [
        ("Certification", dict(ctx["certifications"])[code]), ("Date et heure", datetime_fr(at)),
        ("Lieu", place or "—"), ("Visioconférence", video or "—"), ("Quorum", f"{quorum} membres"),
        ("Durée", f"{minutes} minutes"),
    ])


def _member_options(ctx, _item):
    return [(str(u["id"]), u["name"] + (f" — conflit d'intérêts : {u['conflict']}" if u["conflict"] else ""))
            for u in ctx["member_choices"]]


def _parse_member(form, ctx) -> Parsed:
    chosen = pick(form, "user_id", ctx["member_choices"], "Choisissez un membre dans la liste.")
    college = choice(form, "college", COLLEGES, "Choisissez le collège du membre.")
    president = form.get("is_president") == "1"
    summary = [("Membre", chosen["name"]), ("Collège", COLLEGES[college]),
               ("Rôle", "président·e" if president else "membre")]
    if chosen["conflict"]:
        summary.append(("Attention", f"conflit d'intérêts : {chosen['conflict']}"))
    return Parsed({"user_id": chosen["id"], "college": college, "president": president}, summary)


def _parse_candidates(form, ctx) -> Parsed:
    chosen = {k for k, v in row_values(form, "candidat_").items() if v == "1"}
    picked = [c for c in ctx["ready"] if str(c["id"]) in chosen]
    if not picked or len(picked) != len(chosen):
        raise ValidationFailed("Cochez au moins un candidat prêt dans la liste.", code="candidates_required")
    return Parsed({"ids": [c["id"] for c in picked]}, [("Candidats inscrits", "\n".join(c["label"] for c in picked))])


def _parse_convene(_form, ctx) -> Parsed:
    return Parsed({}, [("Membres convoqués", ", ".join(m.full_name for m in ctx["members"]) or "aucun"),
                       ("Candidats", str(len(ctx["candidates"]))),
                       ("Envoi", "une convocation par membre, avec l'invitation (.ics)")])


ATTENDANCE = {"1": "présent", "0": "absent"}


def _parse_attendance(form, ctx) -> Parsed:
    marks = row_values(form, "present_")
    members = {str(m.user_id): m.full_name for m in ctx["members"]}
    present: dict[int, bool] = {}
    for user_id, value in marks.items():
        if user_id not in members or value not in ATTENDANCE:
            raise ValidationFailed("Indiquez présent ou absent pour des membres de la session.", code="bad_attendance")
        present[int(user_id)] = value == "1"
    if not present:
        raise ValidationFailed("Indiquez la présence d'au moins un membre.", code="attendance_required")
    return Parsed({"present": present}, [
        ("Présents", ", ".join(members[str(i)] for i, p in present.items() if p) or "aucun"),
        ("Absents", ", ".join(members[str(i)] for i, p in present.items() if not p) or "aucun"),
    ])


def _parse_check(_form, ctx) -> Parsed:
    refusal = composition_refusal(ctx["composition_problems"])
    if refusal:
        raise Conflict(refusal, code="composition_irregular")
    present = [m.full_name for m in ctx["members"] if m.present is not False]
    return Parsed({}, [("Membres présents", ", ".join(present)),
                       ("Contrôles", "président présent, deux collèges paritaires, quorum, indépendance")])


def _candidate_items(ctx) -> list[tuple[str, str]]:
    return [(str(c["id"]), f"{c['reference']} {c['name']}") for c in ctx["candidates"]]


def _candidate(ctx, candidate_id: str) -> dict:
    return next(c for c in ctx["candidates"] if str(c["id"]) == candidate_id)


def _bloc_rows(ctx, item):
    c = _candidate(ctx, item[0])
    return [(b, f"{b} — {ctx['bloc_titles'].get(b, '')}", c["results"].get(b, "")) for b in c["blocs"]]


def _parse_results(form, ctx) -> Parsed:
    c = _candidate(ctx, form.get("candidate_id", ""))
    results = parse_bloc_results(form, c["blocs"])
    comment = text(form, "comment")
    return Parsed({"candidate_id": c["id"], "results": results, "comment": comment}, [
        ("Candidat", f"{c['reference']} — {c['name']} ({c['structure']})"),
        ("Résultats", "\n".join(f"{b} : {DELIBERATION_RESULTS[r]}" for b, r in results.items())),
        ("Commentaire", comment or "—"),
    ], title=f"Résultats de {c['name']}")


def _parse_close(_form, ctx) -> Parsed:
    refusal = missing_results_refusal(ctx["missing_results"])
    if refusal:
        raise Conflict(refusal, code="missing_results")
    return Parsed({}, [("Candidats délibérés", str(len(ctx["candidates"]))),
                       ("Effet", "les résultats ne peuvent plus être modifiés ; le PV est établi pour signature")])


def _parse_sign(_form, ctx) -> Parsed:
    j = ctx["j"]
    lines = "\n".join(f"{c['reference']} — {c['name']} : {c['outcome']}" for c in ctx["candidates"])
    return Parsed({}, [("Procès-verbal", f"version {j.pv_version}"), ("Résultats", lines or "—"),
                       ("Effet", "les résultats sont notifiés, les certificats et attestations délivrés")])


JURY_ACTIONS = actions_of(
    FormAction("membre", "Désigner un membre", OFFICERS, "members", (
        Input("user_id", "Membre de jury", "select", required=True, choices=_member_options),
        Input("college", "Collège", "radio", required=True, choices=tuple(COLLEGES.items())),
        Input("is_president", "Président·e du jury", "checkbox"),
    ), _parse_member, lambda db, actor, i, v: jury_svc.add_member(
        db, actor, i, user_id=v["user_id"], college=v["college"], is_president=v["president"]),
        done="Le membre a été désigné.", refusal="add_member"),
    FormAction("candidats", "Inscrire des candidats prêts", OFFICERS, "candidates", (
        Input("candidat", "Candidats prêts pour le jury, sans session", "checkboxes",
              rows=lambda ctx, _item: [(c["id"], c["label"]) for c in ctx["ready"]],
              empty="Aucun candidat prêt à inscrire."),
    ), _parse_candidates, lambda db, actor, i, v: jury_svc.add_candidates(db, actor, i, v["ids"]),
        done="Les candidats ont été inscrits ; chacun est évalué sur les blocs qu'il ne détient pas encore.",
        refusal="add_candidates"),
    FormAction("convoquer", "Convoquer les membres", OFFICERS, "convene", (), _parse_convene,
               lambda db, actor, i, v: jury_svc.convene(db, actor, i),
               done="Les membres sont convoqués.", button="Confirmer et envoyer les convocations"),
    FormAction("presences", "Saisir les présences", OFFICERS, "attendance", (
        Input("present", "Présence des membres", "matrix", choices=tuple(ATTENDANCE.items()),
              rows=lambda ctx, _item: [(m.user_id, m.full_name, "" if m.present is None else str(int(m.present)))
                                       for m in ctx["members"]]),
    ), _parse_attendance, lambda db, actor, i, v: jury_svc.record_attendance(db, actor, i, v["present"]),
        done="Les présences ont été enregistrées."),
    FormAction("composition", "Vérifier la composition", OFFICERS, "check-composition", (), _parse_check,
               lambda db, actor, i, v: jury_svc.check_composition(db, actor, i),
               done="La composition est vérifiée : le jury peut délibérer."),
    FormAction("resultats", "Enregistrer les résultats", O_J, "results", (
        Input("bloc", "Résultat par bloc", "matrix", required=True, choices=tuple(DELIBERATION_RESULTS.items()),
              rows=_bloc_rows),
        Input("comment", "Commentaire (facultatif)", "textarea"),
    ), _parse_results, lambda db, actor, i, v: jury_svc.record_results(
        db, actor, i, v["candidate_id"], v["results"], v["comment"]),
        done="Les résultats ont été enregistrés.", per=_candidate_items, per_field="candidate_id"),
    FormAction("cloturer", "Clore la délibération", O_J, "close-deliberation", (), _parse_close,
               lambda db, actor, i, v: jury_svc.close_deliberation(db, actor, i), done="La délibération est close."),
    FormAction("signer", "Signer le procès-verbal", O_J, "sign-pv", (), _parse_sign,
               lambda db, actor, i, v: jury_svc.sign_pv(db, actor, i),
               done="Le procès-verbal est signé ; les résultats vont être notifiés.", button="Signer le procès-verbal"),
    FormAction("annuler", "Annuler la session", OFFICERS, "cancel", (REASON,), reason,
               lambda db, actor, i, v: jury_svc.cancel(db, actor, i, v["reason"]), done="La session a été annulée."),
)

JURY_CREATIONS = actions_of(
    FormAction("planifier", "Planifier une session de jury", OFFICERS, "plan", (
        Input("certification_code", "Certification", "select", required=True,
              choices=lambda ctx, _item: ctx["certifications"]),
        Input("scheduled_at", "Date et heure (heure de Paris)", "datetime", required=True),
        Input("place", "Lieu (ou lien de visioconférence ci-dessous)", attrs=(("maxlength", "300"),)),
        Input("video_link", "Lien de visioconférence (https://…)", attrs=(("maxlength", "500"),)),
        Input("quorum", "Quorum (membres)", "number", default="3", attrs=(("min", "3"), ("max", "20"))),
        Input("duration_minutes", "Durée (minutes)", "number", default="240", attrs=(("min", "30"), ("max", "720"))),
    ), _parse_plan, lambda db, actor, _i, v: jury_svc.plan_session(
        db, actor, certification_code=v["code"], scheduled_at=v["at"], place=v["place"], video_link=v["video"],
        quorum=v["quorum"], duration_minutes=v["minutes"]),
        done="La session a été planifiée.", redirect=lambda j: f"/app/jurys/{j.id}?fait=planifier"),
)

JURIES = register(DossierKind(
    "jurys", "Les sessions de jury", "session_id", "jury/jury.html", jury_page_context, "j", "jury_changed", ENTITY,
    JURY_ACTIONS, listing=jury_listing, creations=JURY_CREATIONS,
    documents=lambda _s, ctx: {(d.entity_type, d.entity_id) for d in ctx["documents"]},
))
