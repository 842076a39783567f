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
MAX_LINE = 4 * 1024 * 1024  # a tweet with its expansions is a few kB; an event, too
OVERSIZED = f"line or event over {MAX_LINE >> 20} MiB (skipped unread)"  # the health reason


class SSEParser:
    """Feed it decoded lines (without their line ends); it yields complete events, and a
    HEARTBEAT for each comment line so the caller can tell a quiet stream from a dead one.
    An event whose data grows past `max_event` characters is dropped, not held
    (`take_oversized()` counts them)."""

    def __init__(self, max_event: int = MAX_LINE) -> None:
        self._event = ""
        self._data: list[str] = []
        self._size = 0
        self._dropping = False
        self._id: str | None = None
        self.max_event = max_event
        self._oversized = 0

    def feed(self, line: str) -> Iterator[Event]:
        if line == "":
            if self._data and not self._dropping:
                yield Event(self._event or "message", "\n".join(self._data), self._id)
            self._event, self._data, self._size, self._dropping = "", [], 0, False
            return
        if line.startswith(":"):
            yield HEARTBEAT
            return
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data" and not self._dropping:
            self._size += len(value) + 1
            if self._size <= self.max_event:
                self._data.append(value)
            else:  # over the limit: let go of what it held, and skip to the event's end
                self._data, self._dropping = [], True
                self._oversized += 1
        elif name == "id":
            self._id = value or None

    def take_oversized(self) -> int:
        """Events dropped for their size since the last call."""
        n, self._oversized = self._oversized, 0
        return n


class LineSplitter:
    """Split a byte stream into lines on \\n (a trailing \\r is dropped, so \\r\\n works
    across chunk edges). `pending` holds a partial line: when the connection ends with one,
    that line was cut off, not sent whole. A line longer than `max_line` is skipped as it
    streams in, never held whole (a broken or hostile server cannot fill the memory);
    `take_oversized()` says how many were."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.pending = b""
        self.max_line = max_line
        self._oversized = 0
        self._skipping = False

    def feed(self, chunk: bytes) -> list[bytes]:
        if self._skipping:
            end = chunk.find(b"\n")
            if end < 0:
                return []
            chunk, self._skipping = chunk[end + 1 :], False
        *complete, self.pending = (self.pending + chunk).split(b"\n")
        if len(self.pending) > self.max_line:
            self.pending, self._skipping = b"", True
            self._oversized += 1
        return [line[:-1] if line.endswith(b"\r") else line for line in complete]

    def take_oversized(self) -> int:
        """Lines skipped for their length since the last call."""
        n, self._oversized = self._oversized, 0
        return n
