"""Small, strict accessors for untrusted JSON objects: wrong types become MalformedRecord."""

from __future__ import annotations

from typing import Any

from stormwatch.sources.errors import MalformedRecord


def require_str(obj: dict[str, Any], key: str, what: str) -> str:
    value = obj.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value:
        raise MalformedRecord(f"{what} has no {key!r}")
    return value


def opt_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    raise MalformedRecord(f"expected text, got {type(value).__name__}")


def opt_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise MalformedRecord("expected a count, got true/false")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise MalformedRecord(f"expected a count, got {value!r:.40}") from None


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
