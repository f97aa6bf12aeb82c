"""Quarters both ways: the financial year (April to March) councils report by, and the
calendar form the log stores."""

from __future__ import annotations

from datetime import date

import pytest

from events.quarters import Quarter, parse_quarter, quarter_of, quarters_between


@pytest.mark.parametrize(
    "text, key",
    [
        ("Q1 2016/17", "2016-Q2"),
        ("Q2 2016/17", "2016-Q3"),
        ("Q3 2016/17", "2016-Q4"),
        ("Q4 2016/17", "2017-Q1"),
        ("q1 2016-17", "2016-Q2"),
        ("Q1 2016/2017", "2016-Q2"),
        ("2016/17 Q4", "2017-Q1"),
        ("  Q1   2016/17 ", "2016-Q2"),
        ("2016-Q2", "2016-Q2"),
        ("Q2 2016", "2016-Q2"),
        ("q4 2016", "2016-Q4"),
        ("1999-Q4", "1999-Q4"),
        ("Q4 1999/00", "2000-Q1"),
    ],
)
def test_either_form_names_one_calendar_quarter(text, key):
    assert parse_quarter(text).key == key


@pytest.mark.parametrize(
    "text, message",
    [
        ("Q1 2016/18", "runs from April to March: 2016/17, not 2016/18"),
        ("Q5 2016/17", "written like Q1 2016/17"),
        ("2016-Q5", "written like Q1 2016/17"),
        ("2016Q2", "written like Q1 2016/17"),
        ("", "written like Q1 2016/17"),
        (None, "written like Q1 2016/17"),
    ],
)
def test_a_quarter_written_wrongly_is_explained(text, message):
    with pytest.raises(ValueError, match=message):
        parse_quarter(text)


def test_a_quarter_knows_its_days_and_its_names():
    q = parse_quarter("Q4 2016/17")
    assert (q.first, q.last) == (date(2017, 1, 1), date(2017, 3, 31))
    assert (q.financial, q.label("calendar"), q.months) == ("Q4 2016/17", "Q1 2017", "Jan–Mar 2017")
    assert q.financial_year == 2016
    assert q.previous().financial == "Q3 2016/17"
    assert q.next().financial == "Q1 2017/18"
    assert Quarter.from_key("2016-Q2") == parse_quarter("Q1 2016/17")
    assert quarter_of(date(2016, 6, 30)).financial == "Q1 2016/17"
    span = quarters_between(Quarter(2016, 1), Quarter(2016, 3))
    assert [x.financial for x in span] == ["Q4 2015/16", "Q1 2016/17", "Q2 2016/17"]
