"""How long a live source waits before reconnecting, as X documents it for its streams
(and applied to Mastodon and Jetstream too, which document none):

- network errors (refused, reset, dropped mid-stream, silence): linear, +250 ms per try,
  up to 16 s;
- HTTP errors (5xx, 4xx other than 429): exponential from 5 s, doubling, up to 320 s;
- HTTP 429 (rate limited): from 60 s, doubling (capped at 960 s here);
- a `Retry-After` / rate-limit reset the server names is honoured when it is longer.

A connection that delivers data resets the count. Time is a `Clock` passed in, so tests run
the whole policy without sleeping.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Literal, Protocol

Failure = Literal["network", "http", "rate_limit"]


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Wait; returns False when `stop` was set meanwhile."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        if stop is None:
            time.sleep(seconds)
            return True
        return not stop.wait(seconds)


@dataclass
class Backoff:
    network_step: float = 0.25
    network_max: float = 16.0
    http_first: float = 5.0
    http_max: float = 320.0
    rate_first: float = 60.0
    rate_max: float = 960.0
    _tries: dict[str, int] = field(default_factory=dict)

    def delay(self, failure: Failure, retry_after: float | None = None) -> float:
        """The wait before the next try after this failure (and count the try)."""
        n = self._tries.get(failure, 0) + 1
        self._tries = {failure: n}  # a different kind of failure starts its own count
        if failure == "network":
            wait = min(self.network_step * n, self.network_max)
        elif failure == "http":
            wait = min(self.http_first * 2 ** (n - 1), self.http_max)
        else:
            wait = min(self.rate_first * 2 ** (n - 1), self.rate_max)
        if retry_after is not None and retry_after > wait:
            wait = min(retry_after, 3600.0)
        return wait

    def reset(self) -> None:
        self._tries = {}


def retry_after_seconds(headers: object, now: float) -> float | None:
    """Seconds named by `Retry-After` (seconds or an HTTP date) or X's `x-rate-limit-reset`
    (epoch seconds), if any."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    value = get("retry-after")
    if value:
        value = str(value).strip()
        if value.isdigit():
            return float(value)
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - now)
        except (TypeError, ValueError):
            return None
    reset = get("x-rate-limit-reset")
    if reset and str(reset).strip().isdigit():
        return max(0.0, float(reset) - now)
    return None
