from datetime import UTC, datetime, timedelta, timezone

import pytest

from stormwatch.sources.timeparse import from_ms, iso, parse_time, to_ms

NOON = datetime(2013, 11, 13, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2013-11-13T12:00:00Z",
        "2013-11-13T12:00:00.000Z",
        "2013-11-13T13:00:00+01:00",
        "2013-11-13 12:00:00",
        "Wed Nov 13 12:00:00 +0000 2013",
        1384344000,
        1384344000000,
        1384344000000000,
        "1384344000",
        NOON,
    ],
)
def test_every_shape_to_utc(value):
    assert parse_time(value) == NOON


def test_empty_values_are_none_and_garbage_raises():
    assert parse_time(None) is None and parse_time("") is None and parse_time("  ") is None
    with pytest.raises(ValueError, match="unrecognised timestamp"):
        parse_time("yesterday")
    with pytest.raises(ValueError):
        parse_time(True)


def test_naive_datetime_taken_as_utc_and_offsets_converted():
    assert parse_time(datetime(2013, 11, 13, 12)) == NOON
    plus5 = datetime(2013, 11, 13, 17, tzinfo=timezone(timedelta(hours=5)))
    assert parse_time(plus5) == NOON and parse_time(plus5).tzinfo == UTC


def test_ms_round_trip_and_iso():
    assert from_ms(to_ms(NOON)) == NOON
    assert to_ms(None) is None and from_ms(None) is None
    assert iso(NOON + timedelta(microseconds=1500)) == "2013-11-13T12:00:00.001Z"
