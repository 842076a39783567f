"""What a live source reports about itself: connected since, posts per minute, reconnects,
last error, lag, and everything it dropped or skipped with the reason (never silent)."""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Health:
    source: str
    state: str = "starting"  # starting | connected | waiting | stopped | failed
    connected_since: float | None = None
    last_event: float | None = None
    received: int = 0  # events read off the wire
    posts: int = 0  # posts handed to the store (before duplicates are removed)
    reconnects: int = 0
    last_error: str | None = None
    next_try_in: float | None = None
    lag_s: float | None = None  # now - the newest post's platform time, when last seen
    backfilled: int = 0
    dropped: Counter[str] = field(default_factory=Counter)  # reason -> count
    _recent: deque[tuple[float, int]] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def connected(self, now: float) -> None:
        with self._lock:
            self.state, self.connected_since, self.next_try_in = "connected", now, None

    def failed(self, error: str, wait: float) -> None:
        with self._lock:
            self.state, self.last_error, self.next_try_in = "waiting", error, wait
            self.connected_since = None
            self.reconnects += 1

    def event(self, now: float) -> None:
        with self._lock:
            self.received += 1
            self.last_event = now

    def counted(self, n: int, now: float, newest: float | None = None) -> None:
        """`n` posts passed on; `newest` is the platform time of the newest (epoch s)."""
        with self._lock:
            self.posts += n
            self._recent.append((now, n))
            while self._recent and self._recent[0][0] < now - 60:
                self._recent.popleft()
            if newest is not None:
                self.lag_s = max(0.0, now - newest)

    def drop(self, reason: str, n: int = 1) -> None:
        with self._lock:
            self.dropped[reason] += n

    def per_minute(self, now: float) -> int:
        with self._lock:
            return sum(n for t, n in self._recent if t >= now - 60)

    def snapshot(self, now: float) -> dict[str, Any]:
        rate = self.per_minute(now)
        with self._lock:
            return {
                "source": self.source,
                "state": self.state,
                "connected_for_s": None
                if self.connected_since is None
                else round(now - self.connected_since, 1),
                "received": self.received,
                "posts": self.posts,
                "posts_per_min": rate,
                "reconnects": self.reconnects,
                "last_error": self.last_error,
                "next_try_in_s": self.next_try_in,
                "lag_s": None if self.lag_s is None else round(self.lag_s, 2),
                "backfilled": self.backfilled,
                "dropped": dict(self.dropped),
            }
