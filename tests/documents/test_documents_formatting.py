from __future__ import annotations

from datetime import date, datetime, UTC

import pytest

from documents.formatting import avis_label, date_fr, datetime_fr, filesize, nl2br, plural_fr


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2026, 11, 23), "23 novembre 2026"),
        (date(2027, 1, 1), "1er janvier 2027"),
        (date(2026, 2, 14), "14 février 2026"),
        (date(2026, 8, 15), "15 août 2026"),
        (date(2026, 12, 31), "31 décembre 2026"),
        (None, ""),
    ],
)
def test_date_fr(value, expected) -> None:
    assert date_fr(value) == expected


def test_date_fr_of_datetime_uses_the_french_calendar_day() -> None:
    # 23:30 UTC on 31 December is already New Year's Day in Paris.
    assert date_fr(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == "1er janvier 2027"


def test_datetime_fr_converts_utc_to_paris_time() -> None:
    winter = datetime(2026, 11, 23, 13, 5, tzinfo=UTC)  # UTC+1
    summer = datetime(2026, 7, 14, 8, 0, tzinfo=UTC)  # UTC+2
    assert datetime_fr(winter) == "23 novembre 2026 à 14 h 05"
    assert datetime_fr(summer) == "14 juillet 2026 à 10 h 00"


def test_naive_datetimes_are_taken_as_utc() -> None:
    # SQLite gives stored UTC timestamps back without offset.
    assert datetime_fr(datetime(2026, 11, 23, 13, 5)) == "23 novembre 2026 à 14 h 05"


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (0, "0 octets"),
        (1, "1 octet"),
        (512, "512 octets"),
        (12 * 1024, "12 ko"),
        (1_258_291, "1,2 Mo"),
        (10 * 1024 * 1024, "10 Mo"),
        (3 * 1024**3 + 512 * 1024**2, "3,5 Go"),
    ],
)
def test_filesize(size, expected) -> None:
    assert filesize(size) == expected


def test_nl2br_escapes_then_keeps_line_breaks() -> None:
    html = str(nl2br("a <b>\r\nc & d"))
    assert html == "a &lt;b&gt;<br>\nc &amp; d"


def test_plural_and_avis_labels() -> None:
    assert plural_fr(0, "jour") == "0 jour"
    assert plural_fr(1, "jour") == "1 jour"
    assert plural_fr(5, "jour") == "5 jours"
    assert avis_label("defavorable") == "défavorable"
    assert avis_label("favorable") == "favorable"
