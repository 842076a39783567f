"""Timestamps in every shape platforms use, to timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime

_TWITTER_V1 = "%a %b %d %H:%M:%S %z %Y"


def parse_time(value: object) -> datetime | None:
    """ISO 8601 (with Z or offset), Twitter v1.1 (`Wed Nov 13 20:19:24 +0000 2013`), or Unix
    epoch seconds / milliseconds / microseconds. Naive times are taken as UTC. Raises
    ValueError on text that is none of these; returns None for empty values."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        dt = _from_epoch(float(value))
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            try:
                dt = datetime.strptime(text, _TWITTER_V1)
            except ValueError:
                try:
                    dt = _from_epoch(float(text))
                except ValueError:
                    raise ValueError(f"unrecognised timestamp {text[:40]!r}") from None
    else:
        raise ValueError(f"unrecognised timestamp of type {type(value).__name__}")
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _from_epoch(number: float) -> datetime:
    """Seconds, milliseconds, microseconds (Bluesky `time_us`) or nanoseconds, told apart by
    magnitude: each unit's plausible range (years 1973-5138) does not overlap the next."""
    for scale in (1.0, 1e3, 1e6, 1e9):
        if abs(number) < 1e11 * scale:
            return datetime.fromtimestamp(number / scale, tz=UTC)
    raise ValueError(f"epoch value {number!r} is out of range")


def to_ms(dt: datetime | None) -> int | None:
    return None if dt is None else int(dt.timestamp() * 1000)


def from_ms(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def iso(dt: datetime | None) -> str | None:
    """The one way times are written out: UTC, millisecond precision, `Z` suffix."""
    if dt is None:
        return None
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
