"""Candidates: registration by a structure holding a valid agrément, training, evaluations per
bloc, and the blocs they already hold (partial validation, valid 5 years)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import date

from sqlmodel import Session, select

from certification import chronology
from certification.audit import Actor, apply_transition, record_event, record_on
from certification.clock import now, today
from certification.db import get_kept
from certification.errors import Conflict, Forbidden, NotFound, ValidationFailed
from certification.agrement import queries as agrement_queries
from certification.agrement.models import Agrement
from certification.models import Certification, CertificationVersion, Role, Structure
from certification.candidates.models import Candidate, Evaluation
from certification.jury.models import BlocAcquisition
from certification.candidates.queries import evaluations_of, get_candidate
from certification.visibility import structure_of
from certification.candidates.states import CANDIDATE, EVALUATION_RESULTS, CandidateState, evaluations_refusal
from certification.numbering import next_value
from certification.services.files import PieceIn
from certification.referentiel.service import equivalences_of, version_in_force
from certification.services.referential import blocs_of, get_certification
from certification.vae.queries import dossier_of_candidate

ENTITY = Candidate.__tablename__
CONTRACT_TYPES = ("CDDI", "CDD", "CDI", "contrat aidé", "autre")
# The holder's sex as the SI CPF data dictionary codes it (« sexe »): required by the Caisse des Dépôts.
SEXES = {"M": "masculin", "F": "féminin"}
# The pathway of access to the certification: training (evaluations per bloc) or VAE (certification/vae/).
PATHWAY_TRAINING, PATHWAY_VAE = "formation", "vae"
PATHWAYS = {PATHWAY_TRAINING: "formation", PATHWAY_VAE: "validation des acquis de l'expérience (VAE)"}
SEX_MESSAGE = ("Sexe invalide : « M » (masculin) ou « F » (féminin), comme le dictionnaire de la "
               "Caisse des Dépôts.")


def check_sex(value: str | None) -> str | None:
    """``"M"``, ``"F"`` or None (not given); anything else is refused."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in SEXES:
        raise ValidationFailed(SEX_MESSAGE, code="bad_sex", details={"sex": str(value)[:20]})
    return value


def _acting_on(db: Session, actor: Actor, candidate_id: int) -> Candidate:
    candidate = get_candidate(db, actor, candidate_id)
    if actor.role not in (Role.structure, Role.officer, Role.system):
        raise Forbidden("Seule la structure ou le certificateur agit sur un candidat.", code="role_not_allowed")
    return candidate


def _fold(text: str) -> str:
    """Identity key of a name: case, accents, hyphens and spaces do not matter."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c for c in letters if c.isalnum())


def _acquisitions(db: Session, candidate: Candidate, on: date | None
                  ) -> list[tuple[BlocAcquisition, int | None]]:
    """The person's blocs still valid on ``on`` (the same person: every registration for the same
    certification with the same birth date and name, case, accents and hyphens aside), oldest
    first, each with the référentiel version of the registration that acquired it. One query."""
    on = on or today()
    rows = db.exec(
        select(BlocAcquisition, Candidate.last_name, Candidate.first_names, Candidate.certification_version_id)
        .join(Candidate, Candidate.id == BlocAcquisition.candidate_id)
        .where(
            Candidate.certification_id == candidate.certification_id, Candidate.birth_date == candidate.birth_date,
            BlocAcquisition.cancelled == False,  # noqa: E712 (SQL)
            BlocAcquisition.valid_until >= on,
        ).order_by(BlocAcquisition.acquired_on, BlocAcquisition.id)
    ).all()
    key = (_fold(candidate.last_name), _fold(candidate.first_names))
    return [(row, version_id) for row, last, first, version_id in rows if (_fold(last), _fold(first)) == key]


def _equivalence_table(db: Session, candidate: Candidate) -> tuple[int | None, dict[str, list[str]]]:
    """(id of the earlier version, {its bloc: blocs of the candidate's version}) of the equivalence
    table of the candidate's version; (None, {}) without one."""
    version = get_kept(db, CertificationVersion, candidate.certification_version_id) \
        if candidate.certification_version_id else None
    if version is None:
        return None, {}
    from_label, table = equivalences_of(version)
    if not table:
        return None, {}
    earlier = db.exec(select(CertificationVersion.id).where(
        CertificationVersion.certification_id == candidate.certification_id,
        CertificationVersion.label == from_label)).first()
    return earlier, table


def _by_equivalence(earlier: int | None, table: dict[str, list[str]],
                    acquisitions: list[tuple[BlocAcquisition, int | None]]) -> dict[str, BlocAcquisition]:
    out: dict[str, BlocAcquisition] = {}
    for row, version_id in acquisitions:
        if row.bloc_code in table and earlier is not None and version_id == earlier:
            out.update({code: row for code in table[row.bloc_code]})
    return out


def held_by_equivalence(db: Session, candidate: Candidate, *, on: date | None = None
                        ) -> dict[str, BlocAcquisition]:
    """The blocs of the candidate's version that the person holds through its equivalence table: a
    bloc of the earlier version it names, acquired there (valid 5 years), counts for the blocs it
    maps to ({bloc of this version: the original acquisition})."""
    earlier, table = _equivalence_table(db, candidate)
    if earlier is None:
        return {}
    return _by_equivalence(earlier, table, _acquisitions(db, candidate, on))


def held_blocs(db: Session, candidate: Candidate, *, on: date | None = None) -> dict[str, BlocAcquisition]:
    """The blocs of the candidate's version the person holds on ``on`` (valid 5 years, across
    registrations): acquired on this version, or on the earlier one its equivalence table names
    (then under the bloc they count for, the acquisition keeping its own code, jury and date)."""
    acquisitions = _acquisitions(db, candidate, on)
    mine = candidate.certification_version_id
    direct = {row.bloc_code: row for row, version_id in acquisitions if mine is None or version_id in (None, mine)}
    return {**_by_equivalence(*_equivalence_table(db, candidate), acquisitions), **direct}


def missing_blocs(db: Session, candidate: Candidate) -> list[str]:
    held = held_blocs(db, candidate)
    return [b for b in candidate.blocs if b not in held]


def blocs_to_assess(db: Session, candidate: Candidate) -> list[str]:
    """The blocs a jury assesses: those the candidate does not hold; for a VAE candidate, only
    those of them his dossier de VAE requests."""
    missing = missing_blocs(db, candidate)
    if candidate.pathway != PATHWAY_VAE:
        return missing
    dossier = dossier_of_candidate(db, candidate.id)
    requested = set(dossier.requested_blocs) if dossier else set()
    return [b for b in missing if b in requested]


def vae_interview_missing(db: Session, candidate: Candidate) -> bool:
    """A VAE candidate is deliberated on after the jury's interview with him (certification/vae/)."""
    if candidate.pathway != PATHWAY_VAE:
        return False
    dossier = dossier_of_candidate(db, candidate.id)
    return dossier is None or dossier.interview_at is None


def _check_registration(
    last_name: str, first_names: str, birth_date: date, sex: str | None, pathway: str, contract_type: str,
    contract_start: date, contract_end: date | None,
) -> str | None:
    """The identity, pathway and contract of a registration are complete and consistent; the
    recorded sex (normalised)."""
    if not last_name or not first_names:
        raise ValidationFailed("Nom et prénoms sont obligatoires.", code="identity_required")
    if not date(1900, 1, 1) < birth_date < today():
        raise ValidationFailed("Date de naissance invalide.", code="bad_birth_date")
    sex = check_sex(sex)
    if pathway not in PATHWAYS:
        raise ValidationFailed("Voie d'accès parmi : formation, vae.", code="bad_pathway")
    if contract_type not in CONTRACT_TYPES:
        raise ValidationFailed(f"Type de contrat parmi : {', '.join(CONTRACT_TYPES)}.", code="bad_contract")
    if contract_end is not None and contract_end < contract_start:
        raise ValidationFailed("La fin du contrat précède son début.", code="bad_contract_dates")
    return sex


def register_candidate(
    db: Session,
    actor: Actor,
    *,
    certification_code: str,
    last_name: str,
    first_names: str,
    birth_date: date,
    contract_type: str,
    contract_start: date,
    birth_place: str = "",
    sex: str | None = None,
    email: str = "",
    contract_end: date | None = None,
    blocs: Sequence[str] | None = None,
    structure_id: int | None = None,
    pathway: str = PATHWAY_TRAINING,
) -> Candidate:
    """Register a candidate; refused unless the structure holds a valid agrément for the CQP."""
    if actor.role is Role.structure:
        structure_id = structure_of(db, actor)
    elif actor.role is not Role.officer:
        raise Forbidden("Seule une structure (ou le certificateur) inscrit un candidat.", code="role_not_allowed")
    structure = db.get(Structure, structure_id) if structure_id else None
    if structure is None:
        raise NotFound("Structure introuvable.", code="structure_not_found")
    cert = get_certification(db, certification_code)
    agrement = agrement_queries.valid_agrement_for(db, structure.id, cert.id, today())
    if agrement is None:
        raise Conflict(
            f"La structure « {structure.name} » ne détient pas d'agrément en vigueur pour le {cert.title} : "
            "inscription impossible.",
            code="no_valid_agrement",
        )
    last_name, first_names = last_name.strip(), first_names.strip()
    sex = _check_registration(last_name, first_names, birth_date, sex, pathway, contract_type, contract_start,
                              contract_end)
    version = version_in_force(db, cert.id, today())
    if version is None:
        raise Conflict(
            f"Aucune version du référentiel du {cert.title} n'est en vigueur au {today():%d/%m/%Y} : "
            "inscription impossible.",
            code="no_version_in_force",
        )
    codes = [b.code for b in blocs_of(db, cert.id, version.id)]
    chosen = list(blocs) if blocs else codes
    outside = sorted(set(chosen) - in_scope(agrement.scope, version))
    if outside:
        raise ValidationFailed(
            f"Blocs hors du périmètre de l'agrément {agrement.number} : {', '.join(outside)}.", code="bloc_out_of_scope"
        )
    year = now().year
    candidate = Candidate(
        reference=f"CAND-{year}-{next_value(db, 'candidate', year):05d}",
        structure_id=structure.id, certification_id=cert.id, certification_version_id=version.id,
        agrement_id=agrement.id,
        last_name=last_name, first_names=first_names, birth_date=birth_date, birth_place=birth_place.strip(),
        sex=sex, email=email.strip(), contract_type=contract_type, contract_start=contract_start,
        contract_end=contract_end,
        blocs=[c for c in codes if c in set(chosen)], pathway=pathway, state=CandidateState.registered.value,
        registered_by_id=actor.user_id,
    )
    db.add(candidate)
    db.flush()
    held = held_blocs(db, candidate)
    record_event(
        db, entity_type=ENTITY, entity_id=candidate.id, action="register", actor=actor, from_state=None,
        to_state=candidate.state,
        data={"reference": candidate.reference, "agrement": agrement.number, "version": version.label,
              "blocs": candidate.blocs, "already_held": sorted(held), "pathway": pathway},
    )
    return candidate


def in_scope(scope: Sequence[str], version: CertificationVersion) -> set[str]:
    """The blocs of ``version`` an agrément's scope covers: its codes, and the blocs its codes map to
    in the version's equivalence table (an agrément granted on the earlier version)."""
    _, table = equivalences_of(version)
    return set(scope) | {code for bloc in scope for code in table.get(bloc, [])}


EVALUATOR_REQUIRED = "Le nom de l'évaluateur est obligatoire."


def check_evaluation_day(evaluated_on: date) -> None:
    """An evaluation is not dated in the future."""
    if evaluated_on > today():
        raise ValidationFailed("La date d'évaluation ne peut pas être future.", code="future_date")


def add_evaluation(
    db: Session,
    actor: Actor,
    candidate_id: int,
    *,
    bloc_code: str,
    evaluated_on: date,
    result: str,
    evaluator_name: str,
    comment: str = "",
    files: Sequence[PieceIn] = (),
) -> Evaluation:
    candidate = _acting_on(db, actor, candidate_id)
    if candidate.state not in (CandidateState.registered, CandidateState.in_training):
        raise Conflict("Les évaluations se saisissent pendant la formation.", code="not_in_training")
    if bloc_code not in candidate.blocs:
        raise ValidationFailed(f"Le bloc {bloc_code} n'est pas suivi par ce candidat.", code="unknown_bloc")
    if result not in EVALUATION_RESULTS:
        raise ValidationFailed(f"Résultat parmi : {', '.join(EVALUATION_RESULTS)}.", code="bad_result")
    check_evaluation_day(evaluated_on)
    agrement = db.get(Agrement, candidate.agrement_id)
    chronology.check_evaluation_date(evaluated_on, registered_at=candidate.registered_at,
                                     agrement_start=agrement.start_date, agrement_end=agrement.end_date)
    if not evaluator_name.strip():
        raise ValidationFailed(EVALUATOR_REQUIRED, code="evaluator_required")
    evaluation = Evaluation(
        candidate_id=candidate.id, bloc_code=bloc_code, evaluated_on=evaluated_on, result=result,
        evaluator_name=evaluator_name.strip(), comment=comment.strip(), created_by_id=actor.user_id,
        files=[{"original_name": f.original_name, "sha256": f.sha256, "size": f.size,
                "relative_path": f.relative_path, "content_type": f.content_type} for f in files],
    )
    db.add(evaluation)
    db.flush()
    record_on(db, candidate, "evaluation", actor,
              data={"bloc": bloc_code, "result": result, "evaluation_id": evaluation.id, "files": len(files)})
    return evaluation


def _fire(db: Session, actor: Actor, candidate_id: int, name: str, reason: str | None = None,
          context: dict | None = None) -> Candidate:
    candidate = _acting_on(db, actor, candidate_id)
    apply_transition(db, CANDIDATE, candidate, name, actor, reason=reason, context=context)
    return candidate


def start_training(db: Session, actor: Actor, candidate_id: int) -> Candidate:
    return _fire(db, actor, candidate_id, "start_training")


def _evaluated_blocs(db: Session, candidate: Candidate) -> set[str]:
    return {e.bloc_code for e in evaluations_of(db, candidate.id) if e.result == "acquis"}


def mark_ready(db: Session, actor: Actor, candidate_id: int) -> Candidate:
    candidate = _acting_on(db, actor, candidate_id)
    return _fire(db, actor, candidate_id, "mark_ready", context={
        "blocs_to_assess": missing_blocs(db, candidate), "evaluated_blocs": _evaluated_blocs(db, candidate)})


def ready_to_present(db: Session, candidate: Candidate) -> list[str]:
    """The blocs the candidate in training may be presented to a jury for now (« présenter au
    jury » would be allowed: every bloc still to assess is evaluated « acquis »), else []."""
    evaluated = _evaluated_blocs(db, candidate)
    if not evaluated:  # nothing evaluated « acquis » yet: no need to look up the blocs already held
        return []
    context = {"blocs_to_assess": missing_blocs(db, candidate), "evaluated_blocs": evaluated}
    return [] if evaluations_refusal(candidate, context) else context["blocs_to_assess"]


def postpone(db: Session, actor: Actor, candidate_id: int, reason: str) -> Candidate:
    return _fire(db, actor, candidate_id, "postpone", reason=(reason or "").strip())


def resume(db: Session, actor: Actor, candidate_id: int) -> Candidate:
    return _fire(db, actor, candidate_id, "resume")


def withdraw(db: Session, actor: Actor, candidate_id: int, reason: str) -> Candidate:
    return _fire(db, actor, candidate_id, "withdraw", reason=(reason or "").strip())


def certification_of(db: Session, candidate: Candidate) -> Certification:
    return db.get(Certification, candidate.certification_id)
