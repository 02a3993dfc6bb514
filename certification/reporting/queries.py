"""The yearly activity report of the certifier, as published, computed from the case record.

Pure queries (no FastAPI, no Prefect). Per calendar year (French time) and per region:

- **juries held**: jury sessions whose PV was signed or results notified that year (the first
  signature counts: a PV amended after an appeal does not move a jury to a later year);
  cancelled or not yet signed sessions are not counted. A session is placed in the region of
  most of its candidates' structures (ties: alphabetical), so the regions add up to the total;
- **contrôles**: contrôles concluded that year (the officer's decision: compliant, action plan
  — escalated or closed since —, suspension, withdrawal); planned, running or cancelled ones are
  not counted;
- **agrément requests**: requests submitted that year (initial and renewal);
- **appuis pédagogiques**: appuis reported that year (``reported_at``), counted from the appuis
  table when the EPSP training module is installed, 0 otherwise;
- **certificates** (all blocs) and **attestations de blocs** issued that year, whatever became
  of them since (a revoked document was issued that year all the same);
- **VAE candidates apart**: VAE requests filed that year, requests declared recevables that year
  (the decision's date, whatever became of the dossier since), and certificates issued that year
  to candidates registered on the VAE pathway (also counted among the certificates).
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, select

from certification.clock import as_utc
from certification.controle.models import Controle
from certification.controle.states import ControleState
from certification.models import AuditEvent, Structure
from certification.jury.models import Certificate, JuryCandidate, JurySession
from certification.agrement.models import AgrementRequest
from certification.candidates.models import Candidate
from certification.jury.states import JuryState
from certification.vae.models import VaeDossier

if TYPE_CHECKING:
    from certification.training.models import Appui

PARIS = ZoneInfo("Europe/Paris")
NO_REGION = "Région non renseignée"

HELD_JURY_STATES = (JuryState.pv_signed.value, JuryState.results_notified.value)
CONCLUDED_CONTROLE_STATES = tuple(
    s.value
    for s in (
        ControleState.compliant,
        ControleState.action_plan,
        ControleState.escalated,
        ControleState.closed,
        ControleState.suspended,
        ControleState.withdrawn,
    )
)
DECISION_ACTIONS = ("conclude_compliant", "require_action_plan", "suspend", "withdraw")

# Indicator key -> French label (column headers of the page, the CSV and the PDF), in the
# order of the published table.
INDICATORS: dict[str, str] = {
    "juries": "Jurys tenus",
    "controles": "Contrôles d'agrément",
    "agrement_requests": "Demandes d'agrément",
    "appuis": "Appuis pédagogiques",
    "certificates": "Certificats délivrés",
    "attestations": "Attestations de blocs délivrées",
    "vae_requests": "Demandes de VAE",
    "vae_recevables": "Demandes de VAE recevables",
    "vae_certified": "Certificats obtenus par la VAE",
}
PUBLISHED = ("juries", "controles", "agrement_requests", "appuis")


@dataclass
class ActivityRow:
    year: int
    region: str | None  # None: every region
    juries: int = 0
    controles: int = 0
    agrement_requests: int = 0
    appuis: int = 0
    certificates: int = 0
    attestations: int = 0
    vae_requests: int = 0
    vae_recevables: int = 0
    vae_certified: int = 0

    def values(self) -> list[int]:
        return [getattr(self, k) for k in INDICATORS]

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ActivityReport:
    years: list[int]
    totals: list[ActivityRow]  # one per year, ascending
    regions: list[ActivityRow]  # per year (ascending) and region (alphabetical)
    appuis_available: bool
    year: int | None = None  # the year asked for, if any
    indicators: dict[str, str] = field(default_factory=lambda: dict(INDICATORS))

    def total(self, year: int) -> ActivityRow:
        return next((r for r in self.totals if r.year == year), ActivityRow(year, None))

    def regions_of(self, year: int) -> list[ActivityRow]:
        return [r for r in self.regions if r.year == year]


def year_of(value: datetime | date | None) -> int | None:
    """The French calendar year of an instant (a date is taken as is)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_utc(value).astimezone(PARIS).year
    return value.year


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """``[start, end)`` of the French calendar year, in UTC."""
    start = datetime(year, 1, 1, tzinfo=PARIS).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=PARIS).astimezone(UTC)
    return start, end


def region_sort_key(region: str | None) -> tuple:
    """Alphabetical as a French reader expects (« Île-de-France » among the I), unknown last."""
    if region is None or region == NO_REGION:
        return (1, "")
    plain = "".join(c for c in unicodedata.normalize("NFD", region) if not unicodedata.combining(c))
    return (0, plain.casefold())


def appui_model() -> type[Appui] | None:
    """The appuis table of the EPSP training module, or None when the module is absent."""
    try:
        from certification.training.models import Appui
    except ImportError:
        return None
    return Appui


def _first_events(db: Session, entity_type: str, actions: Iterable[str]) -> dict[int, datetime]:
    rows = db.exec(
        select(AuditEvent.entity_id, func.min(AuditEvent.at))
        .where(AuditEvent.entity_type == entity_type, AuditEvent.action.in_(list(actions)))
        .group_by(AuditEvent.entity_id)
    )
    return {entity_id: as_utc(at) for entity_id, at in rows}


def _earliest(*values: datetime | None) -> datetime | None:
    present = [as_utc(v) for v in values if v is not None]
    return min(present) if present else None


class _Tally:
    def __init__(self, db: Session, year: int | None):
        self.year = year
        self.regions: dict[int, str] = {
            sid: (region or "").strip() or NO_REGION for sid, region in db.exec(select(Structure.id, Structure.region))
        }
        self.counts: dict[tuple[int, str], Counter] = defaultdict(Counter)

    def add(
        self, indicator: str, when: datetime | date | None, structure_id: int | None = None, region: str | None = None
    ) -> None:
        year = year_of(when)
        if year is None or (self.year is not None and year != self.year):
            return
        if region is None:
            region = self.regions.get(structure_id, NO_REGION)
        self.counts[(year, region)][indicator] += 1


def _juries(db: Session, tally: _Tally) -> None:
    first_signed = _first_events(db, JurySession.__tablename__, ["sign_pv"])
    sessions = list(
        db.exec(
            select(JurySession.id, JurySession.pv_signed_at, JurySession.results_notified_at).where(
                JurySession.state.in_(HELD_JURY_STATES)
            )
        )
    )
    if not sessions:
        return
    structures: dict[int, Counter] = defaultdict(Counter)
    for session_id, structure_id in db.exec(
        select(JuryCandidate.session_id, Candidate.structure_id)
        .join(Candidate, Candidate.id == JuryCandidate.candidate_id)
        .join(JurySession, JurySession.id == JuryCandidate.session_id)
        .where(JurySession.state.in_(HELD_JURY_STATES))
    ):
        structures[session_id][tally.regions.get(structure_id, NO_REGION)] += 1
    for session_id, signed_at, notified_at in sessions:
        held = _earliest(first_signed.get(session_id), signed_at, notified_at)
        by_region = structures.get(session_id)
        region = min(by_region, key=lambda r: (-by_region[r], region_sort_key(r))) if by_region else NO_REGION
        tally.add("juries", held, region=region)


def _controles(db: Session, tally: _Tally) -> None:
    first_decision = _first_events(db, Controle.__tablename__, DECISION_ACTIONS)
    for controle_id, structure_id, decided_at, closed_at, updated_at in db.exec(
        select(Controle.id, Controle.structure_id, Controle.decided_at, Controle.closed_at, Controle.updated_at).where(
            Controle.state.in_(CONCLUDED_CONTROLE_STATES)
        )
    ):
        concluded = first_decision.get(controle_id) or decided_at or closed_at or updated_at
        tally.add("controles", concluded, structure_id)


def _agrement_requests(db: Session, tally: _Tally) -> None:
    query = select(AgrementRequest.submitted_at, AgrementRequest.structure_id)
    if tally.year is not None:
        start, end = year_bounds(tally.year)
        query = query.where(AgrementRequest.submitted_at >= start, AgrementRequest.submitted_at < end)
    for submitted_at, structure_id in db.exec(query):
        tally.add("agrement_requests", submitted_at, structure_id)


def _appuis(db: Session, tally: _Tally) -> bool:
    appui = appui_model()
    if appui is None:
        return False
    query = select(appui.reported_at, appui.structure_id).where(appui.reported_at.is_not(None))
    if tally.year is not None:
        start, end = year_bounds(tally.year)
        query = query.where(appui.reported_at >= start, appui.reported_at < end)
    for reported_at, structure_id in db.exec(query):
        tally.add("appuis", reported_at, structure_id)
    return True


def _certificates(db: Session, tally: _Tally) -> None:
    query = select(Certificate.kind, Certificate.issued_on, Candidate.structure_id, Candidate.pathway).join(
        Candidate, Candidate.id == Certificate.candidate_id
    )
    if tally.year is not None:
        query = query.where(
            Certificate.issued_on >= date(tally.year, 1, 1), Certificate.issued_on <= date(tally.year, 12, 31)
        )
    for kind, issued_on, structure_id, pathway in db.exec(query):
        tally.add("certificates" if kind == "certificate" else "attestations", issued_on, structure_id)
        if kind == "certificate" and pathway == "vae":
            tally.add("vae_certified", issued_on, structure_id)


def _vae(db: Session, tally: _Tally) -> None:
    for filed_at, decided_at, state, structure_id in db.exec(
        select(VaeDossier.filed_at, VaeDossier.decided_at, VaeDossier.state, VaeDossier.structure_id)
    ):
        tally.add("vae_requests", filed_at, structure_id)
        if decided_at is not None and state != "non_recevable":
            tally.add("vae_recevables", decided_at, structure_id)


def activity_report(db: Session, year: int | None = None) -> ActivityReport:
    """The activity of ``year`` (or of every year with any activity), in total and per region."""
    tally = _Tally(db, year)
    _juries(db, tally)
    _controles(db, tally)
    _agrement_requests(db, tally)
    appuis_available = _appuis(db, tally)
    _certificates(db, tally)
    _vae(db, tally)

    years = sorted({y for y, _ in tally.counts} | ({year} if year is not None else set()))
    keys = [f.name for f in fields(ActivityRow) if f.name in INDICATORS]
    regions = [
        ActivityRow(y, region, **{k: counts[k] for k in keys})
        for (y, region), counts in sorted(
            tally.counts.items(), key=lambda item: (item[0][0], region_sort_key(item[0][1]))
        )
    ]
    totals = []
    for y in years:
        row = ActivityRow(y, None)
        for r in regions:
            if r.year == y:
                for k in keys:
                    setattr(row, k, getattr(row, k) + getattr(r, k))
        totals.append(row)
    return ActivityReport(years=years, totals=totals, regions=regions, appuis_available=appuis_available, year=year)
