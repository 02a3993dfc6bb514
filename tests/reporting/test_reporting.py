"""The yearly activity report reproduces the published tables from the case record."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from certification.db import session_scope
from certification.reporting.queries import NO_REGION, activity_report, appui_model
from tests.factories import ReportRows, certified_holders

PUBLISHED = {  # year: (juries, contrôles, agrément requests, appuis) — the certifier's published table
    2023: (130, 22, 9, 2),
    2022: (113, 24, 15, 8),
    2021: (144, 8, 3, 0),
    2020: (71, 0, 5, 0),
}
REGIONS = ["Bretagne", "Auvergne-Rhône-Alpes", "Île-de-France", "Provence-Alpes-Côte d'Azur"]


def spread(year: int, i: int) -> datetime:
    """The i-th instant of a year (every month, office hours)."""
    return datetime(year, 1 + i % 12, 1 + i % 27, 9 + i % 8, 15, tzinfo=UTC)


def report(year=None):
    with session_scope() as db:
        return activity_report(db, year)


def build_published(rows: ReportRows) -> bool:
    """The activity of 2020–2023, spread over regions, months and states, with rows that must not
    be counted. Returns whether the appuis table exists."""
    appuis_available = True
    controle_states = ["compliant", "action_plan", "closed", "suspended", "withdrawn", "escalated"]
    request_states = ["submitted", "granted", "refused", "incomplete", "closed"]
    for year, (juries, controles, requests, appuis) in PUBLISHED.items():
        groups: Counter = Counter()
        for i in range(juries):
            groups[("juries", REGIONS[i % 4], "results_notified" if i % 5 else "pv_signed", i % 12)] += 1
        for i in range(controles):
            groups[("controles", REGIONS[i % 3], controle_states[i % 6], i % 12)] += 1
        for i in range(requests):
            groups[("agrement_requests", REGIONS[i % 2], request_states[i % 5], i % 12)] += 1
        for i in range(appuis):
            groups[("appuis", REGIONS[(i + 1) % 4], None, i % 12)] += 1
        for (kind, region, state, month), count in groups.items():
            at = spread(year, month)
            if kind == "appuis":
                appuis_available = rows.appuis(count, at, region=region)
            else:
                getattr(rows, kind)(count, at, region=region, state=state)
        # Not counted: juries not held, contrôles not concluded, appuis not reported.
        rows.juries(3, spread(year, 5), state="planned")
        rows.juries(2, spread(year, 6), state="cancelled")
        rows.juries(2, spread(year, 7), state="deliberated")
        for state in ("planned", "assigned", "visit_scheduled", "report_submitted", "cancelled"):
            rows.controles(1, spread(year, 3), state=state)
        rows.appuis(2, spread(year, 4), reported=False)
    return appuis_available


def test_published_tables_reproduced(people):
    rows = ReportRows(people)
    appuis_available = build_published(rows)

    for year, (juries, controles, requests, _appuis) in PUBLISHED.items():
        total = report(year).total(year)
        assert (total.juries, total.controles, total.agrement_requests) == (juries, controles, requests), year
    several = report()
    assert several.years == [2020, 2021, 2022, 2023]
    assert [(t.juries, t.controles, t.agrement_requests) for t in several.totals] == [
        PUBLISHED[y][:3] for y in several.years
    ]

    if not appuis_available:
        pytest.skip(
            "appuis pédagogiques : la table des appuis (certification.training.models) n'existe pas encore ; "
            "les autres colonnes sont vérifiées, relancer quand le module de formation EPSP sera là"
        )
    assert report(2023).appuis_available
    assert report(2023).total(2023).appuis == 2
    assert report(2022).total(2022).appuis == 8
    assert [t.appuis for t in several.totals] == [PUBLISHED[y][3] for y in several.years]


def test_split_per_region(people):
    rows = ReportRows(people)
    rows.juries(5, spread(2023, 1), region="Bretagne")
    rows.juries(3, spread(2023, 2), region="Île-de-France")
    # Candidates of several regions: the session goes to the region of most of them.
    rows.juries(2, spread(2023, 3), candidate_regions=["Occitanie", "Occitanie", "Bretagne"])
    rows.juries(1, spread(2023, 4), candidate_regions=["Occitanie", "Bretagne"])  # tie: alphabetical
    rows.juries(1, spread(2023, 5), candidate_regions=[])  # no candidate at all
    rows.juries(1, spread(2023, 6), region="")  # structure without region
    rows.controles(4, spread(2023, 1), region="Île-de-France", state="compliant")
    rows.controles(1, spread(2023, 2), region="Bretagne", state="withdrawn")
    rows.agrement_requests(2, spread(2023, 1), region="Occitanie")
    rows.certificates(3, date(2023, 6, 30), region="Bretagne")
    rows.certificates(2, date(2023, 6, 30), region="Occitanie", kind="attestation")
    rows.juries(4, spread(2022, 1), region="Bretagne")  # another year

    result = report(2023)
    by_region = {r.region: r for r in result.regions_of(2023)}
    assert [r.region for r in result.regions_of(2023)] == ["Bretagne", "Île-de-France", "Occitanie", NO_REGION]
    assert by_region["Bretagne"].juries == 5 + 1  # the tie Occitanie/Bretagne goes to Bretagne
    assert by_region["Occitanie"].juries == 2
    assert by_region["Île-de-France"].juries == 3
    assert by_region[NO_REGION].juries == 2
    assert (by_region["Île-de-France"].controles, by_region["Bretagne"].controles) == (4, 1)
    assert by_region["Occitanie"].agrement_requests == 2
    assert (by_region["Bretagne"].certificates, by_region["Occitanie"].attestations) == (3, 2)
    total = result.total(2023)
    for key in ("juries", "controles", "agrement_requests", "appuis", "certificates", "attestations"):
        assert getattr(total, key) == sum(getattr(r, key) for r in result.regions_of(2023)), key
    assert total.juries == 13
    assert report(2022).total(2022).juries == 4
    assert report(2024).total(2024).juries == 0 and report(2024).years == [2024]


def test_french_calendar_year_and_first_signature(people):
    rows = ReportRows(people)
    rows.juries(1, datetime(2022, 12, 31, 23, 30, tzinfo=UTC))  # 1 January 2023, 00:30 in Paris
    rows.juries(1, datetime(2023, 12, 31, 22, 30, tzinfo=UTC))  # 31 December, 23:30 in Paris
    # Signed in December 2022, PV amended after an appeal in February 2023: held in 2022.
    rows.juries(1, datetime(2023, 2, 1, 10, tzinfo=UTC), signed_event_at=datetime(2022, 12, 15, 10, tzinfo=UTC))
    rows.controles(1, datetime(2023, 12, 31, 23, 30, tzinfo=UTC))  # 2024 in Paris
    rows.agrement_requests(1, datetime(2021, 12, 31, 23, 59, tzinfo=UTC))  # 2022 in Paris

    assert report(2023).total(2023).juries == 2
    assert report(2022).total(2022).juries == 1
    assert report(2024).total(2024).controles == 1
    assert report(2022).total(2022).agrement_requests == 1
    assert report(2021).total(2021).agrement_requests == 0


def test_counts_what_the_services_recorded(people):
    """A real agrément, a real jury and real certificates, through the services."""
    partial = {"SP-B1": "validated", "SP-B2": "not_validated", "SP-B3": "validated"}
    certified_holders(people, 3, results=[None, None, partial])

    year = datetime.now(UTC).year
    result = report(year)
    total = result.total(year)
    assert (total.juries, total.agrement_requests, total.certificates, total.attestations) == (1, 1, 2, 1)
    assert [r.region for r in result.regions_of(year)] == ["Auvergne-Rhône-Alpes"]
    assert result.appuis_available is (appui_model() is not None)
    assert report(year - 1).total(year - 1).juries == 0


def test_empty_year(people):
    result = report(2019)
    assert result.years == [2019]
    assert result.total(2019).values() == [0] * 9
    assert result.regions_of(2019) == []
    assert report().years == []


def test_days_around_new_year_for_certificates(people):
    rows = ReportRows(people)
    rows.certificates(2, date(2022, 12, 31))
    rows.certificates(1, date(2023, 1, 1))
    rows.certificates(1, date(2023, 1, 1) + timedelta(days=364), kind="attestation")
    assert (report(2022).total(2022).certificates, report(2023).total(2023).certificates) == (2, 1)
    assert report(2023).total(2023).attestations == 1
