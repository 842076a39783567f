"""Server-sent events, parsed incrementally (the WHATWG rules: `event:`/`data:`/`id:`
fields, multi-line data joined by newlines, `:` comment lines as heartbeats, a blank line
ends an event)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    event: str
    data: str
    id: str | None = None


HEARTBEAT = Event("heartbeat", "")


class SSEParser:
    """Feed it decoded lines (without their line ends); it yields complete events, and a
    HEARTBEAT for each comment line so the caller can tell a quiet stream from a dead one."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, line: str) -> Iterator[Event]:
        if line == "":
            if self._data:
                yield Event(self._event or "message", "\n".join(self._data), self._id)
            self._event, self._data = "", []
            return
        if line.startswith(":"):
            yield HEARTBEAT
            return
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value or None


class LineSplitter:
    """Split a byte stream into lines on \\n (a trailing \\r is dropped, so \\r\\n works
    across chunk edges). `pending` holds a partial line: when the connection ends with one,
    that line was cut off, not sent whole."""

    def __init__(self) -> None:
        self.pending = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        *complete, self.pending = (self.pending + chunk).split(b"\n")
        return [line[:-1] if line.endswith(b"\r") else line for line in complete]
