import datetime as dt

import pytest

from portfolio.lib import roc


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (dt.date(2025, 8, 1), 114),
        (dt.date(2026, 7, 31), 114),
        (dt.date(2026, 8, 1), 115),
        (dt.date(2026, 1, 16), 114),
    ],
)
def test_school_year_of(day, year):
    assert roc.school_year_of(day) == year


def test_school_year_bounds():
    assert roc.school_year_bounds(114) == (dt.date(2025, 8, 1), dt.date(2026, 7, 31))


def test_term_bounds():
    assert roc.term_bounds(114, 1) == (dt.date(2025, 8, 1), dt.date(2026, 1, 31))
    assert roc.term_bounds(114, 2) == (dt.date(2026, 2, 1), dt.date(2026, 7, 31))
    with pytest.raises(ValueError):
        roc.term_bounds(114, 3)


def test_roc_dates_round_trip():
    assert roc.to_roc_date(dt.date(2025, 1, 16)) == "1140116"
    assert roc.parse_roc_date("1140116") == dt.date(2025, 1, 16)
    assert roc.parse_roc_date("991231") == dt.date(2010, 12, 31)


@pytest.mark.parametrize("text", ["1140230", "114016", "abc", "11401160"])
def test_parse_roc_date_refuses(text):
    with pytest.raises(ValueError):
        roc.parse_roc_date(text)
