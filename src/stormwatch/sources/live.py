"""What every live connector shares: the sink it writes through, the reconnect loop with
documented back-off, and the health it reports.

A source reads one platform's wire format and hands the sink posts (with the cursor they
move it to), deletions, edits and rejects, in the order they arrived. The sink is the single
writer (`stormwatch.listen`); sources never touch the store.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

import httpx
from websockets.exceptions import InvalidStatus, WebSocketException

from stormwatch.records import Post, Reject
from stormwatch.sources.backoff import Backoff, Clock, Failure, SystemClock, retry_after_seconds
from stormwatch.sources.credentials import Secret, redact
from stormwatch.sources.health import Health


class Sink(Protocol):
    def posts(self, source: str, posts: Sequence[Post], cursor: str | None = None) -> None: ...

    def deleted(self, platform: str, post_ids: Sequence[str]) -> None: ...

    def deleted_where(self, platform: str, raw_key: str, value: str) -> None: ...

    def edited(self, posts: Sequence[Post]) -> None: ...

    def reject(self, reject: Reject) -> None: ...


class HTTPFailure(Exception):
    """The platform answered with an error status."""

    def __init__(self, status: int, detail: str, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.retry_after = retry_after


class Stalled(Exception):
    """Nothing (not even a keep-alive) arrived for longer than the platform promises."""


class Fatal(Exception):
    """Retrying cannot help (bad credentials, a rule the platform refuses): stop the source."""


MAX_ANSWER = 16 * 1024 * 1024  # a page of 100 tweets with their expansions is well under 1 MiB


def fetch(
    client: httpx.Client, method: str, url: str, now: float, **kwargs: Any
) -> tuple[bytes, httpx.Headers]:
    """One request whose answer (a search or timeline page) is read as it streams in and
    refused past MAX_ANSWER, so a broken or hostile server cannot fill the memory; error
    statuses raise as `check_response` says. Returns (body, headers)."""
    with client.stream(method, url, **kwargs) as response:
        check_response(response, now)
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_ANSWER:
                raise HTTPFailure(
                    response.status_code, f"answer over {MAX_ANSWER >> 20} MiB (not read)"
                )
            chunks.append(chunk)
        return b"".join(chunks), response.headers


def check_response(response: httpx.Response, now: float) -> None:
    """Raise HTTPFailure (or Fatal for 401/403) for an error answer."""
    if response.status_code < 400:
        return
    try:
        response.read()
        detail = response.text[:300]
    except httpx.HTTPError:
        detail = ""
    if response.status_code in (401, 403):
        raise Fatal(f"HTTP {response.status_code} (check the credentials): {detail}")
    raise HTTPFailure(response.status_code, detail, retry_after_seconds(response.headers, now))


def classify(exc: BaseException) -> tuple[Failure, float | None] | None:
    """Which back-off a failure takes, and the server's own wait if it named one; None when
    the failure is not a connection problem (a bug: let it surface)."""
    if isinstance(exc, HTTPFailure):
        return ("rate_limit" if exc.status == 429 else "http"), exc.retry_after
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        wait = retry_after_seconds(exc.response.headers, 0.0)
        if status in (401, 403):
            return None
        return ("rate_limit" if status == 429 else "http"), wait
    if isinstance(exc, (httpx.TransportError, Stalled, WebSocketException, OSError)):
        return "network", None
    return None


def newer_id(a: str | None, b: str | None) -> str | None:
    """The newer of two platform ids: X and Mastodon ids grow with time, compared as
    numbers (ids that are not numbers, on some Mastodon forks, by length then text)."""
    if a is None or b is None:
        return a or b
    try:
        return a if int(a) >= int(b) else b
    except ValueError:
        return a if (len(a), a) >= (len(b), b) else b


class LiveSource:
    """The reconnect loop. Subclasses implement `session(sink, stop)`: connect, read until
    the connection ends (raise to say why), calling `self.connected()` once data flows."""

    name = "live"
    platform = "live"

    def __init__(self, clock: Clock | None = None, backoff: Backoff | None = None) -> None:
        self.clock = clock or SystemClock()
        self.backoff = backoff or Backoff()
        self.health = Health(self.name)
        self.cursor: str | None = None  # where to resume; set from the store before run()
        self.waits: list[tuple[Failure, float]] = []  # every back-off taken, for tests/health

    # While a gap is being filled (backfill after a reconnect), the cursor handed over stays
    # at the gap's start, so a crash mid-backfill resumes before the gap, not after it.
    gap_from: str | None = None

    def safe_cursor(self) -> str | None:
        return self.gap_from or self.cursor

    def connected(self) -> None:
        self.backoff.reset()
        self.health.connected(self.clock.now())

    def run(self, sink: Sink, stop: threading.Event, max_sessions: int | None = None) -> None:
        """Read until `stop` is set, reconnecting after failures with the documented back-off
        (`max_sessions` bounds the connections, for tests)."""
        try:
            self._loop(sink, stop, max_sessions)
        finally:
            self.close()

    def close(self) -> None:
        """Release connections (subclasses with an HTTP client close it)."""

    def _loop(self, sink: Sink, stop: threading.Event, max_sessions: int | None) -> None:
        sessions = 0
        while not stop.is_set() and (max_sessions is None or sessions < max_sessions):
            sessions += 1
            try:
                self.session(sink, stop)
                if stop.is_set():
                    break
                failure: Failure = "network"  # the server ended the stream: reconnect
                wait = self.backoff.delay(failure)
                error = "the server closed the stream"
            except Fatal as exc:
                self.health.state, self.health.last_error = "failed", redact(str(exc))
                return
            except Exception as exc:
                kind = classify(exc)
                if kind is None:
                    self.health.state = "failed"
                    self.health.last_error = redact(f"{type(exc).__name__}: {exc}")
                    raise
                failure, server_wait = kind
                wait = self.backoff.delay(failure, server_wait)
                error = redact(f"{type(exc).__name__}: {exc}")[:300]
            self.waits.append((failure, wait))
            self.health.failed(error, wait)
            if not self.clock.sleep(wait, stop):
                break
        self.health.state = "stopped"

    def session(self, sink: Sink, stop: threading.Event) -> None:
        raise NotImplementedError


class HTTPLiveSource(LiveSource):
    """A source that talks HTTP (X, Mastodon): one client, closed when the source stops."""

    def __init__(
        self,
        token: Secret | None,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(clock, backoff)
        self._token = token
        self._client = client or httpx.Client(timeout=30.0)

    def close(self) -> None:
        self._client.close()

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": "stormwatch"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token.reveal()}"
        return headers
