"""Shared helpers for the live-connector tests: an injected clock that never sleeps, and a
sink that records what a source handed over, in order."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from stormwatch.records import Post, Reject


class FakeClock:
    """Time that moves only when the code under test waits: sleeps are recorded, not slept."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        self.sleeps.append(seconds)
        self.t += seconds
        return not (stop is not None and stop.is_set())


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.stored: dict[str, Post] = {}
        self.cursors: list[tuple[str, str | None]] = []

    def posts(self, source: str, posts: Sequence[Post], cursor: str | None = None) -> None:
        self.events.append(("posts", [p.id for p in posts], cursor))
        for p in posts:
            self.stored.setdefault(p.id, p)
        self.cursors.append((source, cursor))

    def deleted(self, platform: str, post_ids: Sequence[str]) -> None:
        self.events.append(("deleted", list(post_ids)))

    def deleted_where(self, platform: str, raw_key: str, value: str) -> None:
        self.events.append(("deleted_where", raw_key, value))

    def edited(self, posts: Sequence[Post]) -> None:
        self.events.append(("edited", [p.text for p in posts]))

    def reject(self, reject: Reject) -> None:
        self.events.append(("reject", reject))

    @property
    def rejects(self) -> list[Reject]:
        return [e[1] for e in self.events if e[0] == "reject"]

    def handed(self) -> list[str]:
        """Every post id handed over, repeats included, in order."""
        return [i for e in self.events if e[0] == "posts" for i in e[1]]
