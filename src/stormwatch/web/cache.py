"""The console's result cache: a page over a big store that is still filling never waits
for a recomputation over every post."""

import queue
import threading
import time
from collections.abc import Callable
from typing import Any


class Cache:
    """Computed results keyed by what they depend on, tagged with the view size they saw.

    A result for the current size is fresh. A stale one that was quick to compute (under
    `quick` seconds) is recomputed in the request. A slow one is served as it is while one
    background worker recomputes it, at most every `seconds` per key: while posts pour
    into a big store, a page never waits for a recomputation over every post, and shows
    numbers at most a moment old."""

    quick = 0.05

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._items: dict[tuple, tuple[float, int, Any, float]] = {}
        self._queued: set[tuple] = set()
        self._lock = threading.Lock()
        self._jobs: queue.Queue = queue.Queue()
        self.worker = threading.Thread(target=self._work, daemon=True, name="stormwatch-cache")
        self.worker.start()

    def get(
        self, key: tuple, size: int, compute: Callable[[], Any], every: float | None = None
    ) -> Any:
        hit = self._items.get(key)
        if hit is None or (hit[1] != size and hit[3] < self.quick):
            return self._compute(key, size, compute)
        if hit[1] != size and time.monotonic() - hit[0] >= (every or self.seconds):
            with self._lock:
                fresh = key not in self._queued
                self._queued.add(key)
            if fresh:
                self._jobs.put((key, size, compute))
        return hit[2]

    def _compute(self, key: tuple, size: int, compute: Callable[[], Any]) -> Any:
        started = time.monotonic()
        value = compute()
        self._items[key] = (started, size, value, time.monotonic() - started)
        return value

    def stop(self) -> None:
        """Let the worker finish its job in hand and end (the app's shutdown waits for it)."""
        self._jobs.put(None)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            key, size, compute = job
            try:
                self._compute(key, size, compute)
            except Exception:
                pass
            finally:
                with self._lock:
                    self._queued.discard(key)
