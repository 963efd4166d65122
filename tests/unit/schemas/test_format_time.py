"""``format_time`` writes exactly what ``astimezone(UTC).isoformat()`` with ``Z`` writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from schemas.envelope import format_time

_OFFSETS = st.builds(
    timezone,
    st.timedeltas(
        min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)
    ),
)


def _reference(moment: datetime) -> str | type[Exception]:
    """The formatting ``format_time`` replaced, or the error it raises."""
    try:
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, ValueError, OSError) as exc:
        return type(exc)


def _formatted(moment: datetime) -> str | type[Exception]:
    try:
        return format_time(moment)
    except (OverflowError, ValueError, OSError) as exc:
        return type(exc)


class _Moment(datetime):
    """A subclass may format itself otherwise: it takes the general path."""

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        return "subclass " + super().isoformat(sep, timespec)


@given(st.datetimes(timezones=st.just(UTC)))
def test_utc_times_of_every_year_and_microsecond(moment: datetime) -> None:
    assert _formatted(moment) == _reference(moment)


@given(st.datetimes(timezones=st.none() | st.just(UTC) | _OFFSETS | st.timezones()))
def test_any_zone_or_none(moment: datetime) -> None:
    assert _formatted(moment) == _reference(moment)


def test_the_edges() -> None:
    for moment in (
        datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        datetime(2026, 11, 23, 9, 0, 0, 1, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1000, 1, 1, tzinfo=UTC),
        datetime.max.replace(tzinfo=UTC),
        datetime(2026, 11, 23, 9, 0, tzinfo=timezone(timedelta(0))),
        datetime(2026, 11, 23, 9, 0, tzinfo=timezone(timedelta(hours=2))),
        _Moment(2026, 11, 23, 9, 0, tzinfo=UTC),
    ):
        assert _formatted(moment) == _reference(moment), moment
    assert format_time(datetime(2026, 11, 23, 9, 0, 0, 120000, tzinfo=UTC)) == (
        "2026-11-23T09:00:00.120000Z"
    )
