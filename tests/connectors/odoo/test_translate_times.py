"""The translator's fast datetime and date parsing agrees with ``strptime`` on every shape, and
its fast stamp formatting with ``strftime``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.odoo.domain import DATE_FORMAT, parse_datetime
from connectors.odoo.translate import _date, _stamp, _utc_datetime

DATETIMES = [
    "2024-01-05 10:00:00",
    "2024-01-05 10:00:00.123456",
    "2024-1-5 10:00:00",
    "2024-01-05T10:00:00",
    "2024-01-05",
    "2024-13-05 10:00:00",
    "2024-02-30 10:00:00",
    "2024-01-05 24:00:00",
    "2024-01-05 10:00:60",
    "2024-01-05 10:0a:00",
    "2024-01-05 10:00:00+05:00",
    "xxxxxxxxxxxxxxxxxxx",
]
DATES = ["2024-01-05", "2024-1-5", "2024-01-05 10:00:00", "20240105", "2024-02-30", "2024-01-0x"]


def _outcome(parse, text: str) -> object:  # type: ignore[no-untyped-def]
    try:
        return parse(text)
    except ValueError:
        return ValueError


@pytest.mark.parametrize("text", DATETIMES)
def test_datetime_as_strptime(text: str) -> None:
    expected = _outcome(lambda t: parse_datetime(t).replace(tzinfo=UTC), text)
    assert _outcome(_utc_datetime, text) == expected


@pytest.mark.parametrize("text", DATES)
def test_date_as_strptime(text: str) -> None:
    expected = _outcome(lambda t: datetime.strptime(t[:10], DATE_FORMAT).date(), text)
    assert _outcome(_date, text) == expected


def test_fast_path_is_aware_utc() -> None:
    assert _utc_datetime("2024-01-05 10:00:00") == datetime(2024, 1, 5, 10, tzinfo=UTC)
    assert _date("2024-01-05") == date(2024, 1, 5)


_STAMP = "%Y-%m-%dT%H:%M:%SZ"


class _Moment(datetime):
    def strftime(self, fmt: str) -> str:
        return "subclass " + super().strftime(fmt)


@given(
    st.datetimes(
        timezones=st.none()
        | st.just(UTC)
        | st.builds(timezone, st.timedeltas(timedelta(hours=-23), timedelta(hours=23)))
        | st.timezones()
    )
)
def test_stamp_as_strftime(moment: datetime) -> None:
    assert _stamp(moment) == moment.strftime(_STAMP)


def test_stamp_edges() -> None:
    for moment in (
        datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1000, 1, 1),
        datetime(2024, 1, 5, 10, 0, 0, 500000, tzinfo=UTC),
        datetime.max,
        _Moment(2024, 1, 5, 10, tzinfo=UTC),
    ):
        assert _stamp(moment) == moment.strftime(_STAMP), moment
    assert _stamp(datetime(2024, 1, 5, 10, tzinfo=UTC)) == "2024-01-05T10:00:00Z"
