"""Bluesky through Jetstream: the whole network's posts as JSON over a WebSocket, filtered
here to the wanted hashtags, resumed from the last `time_us` cursor after any disconnect.

`…/subscribe?wantedCollections=app.bsky.feed.post&cursor=TIME_US` replays from that moment,
so nothing is missed as long as the gap is within Jetstream's retention (about a day). The
cursor is rewound a few seconds on reconnect (events at the edge are stored once anyway).
A post matches when a `#tag` facet feature, `record.tags`, or (for posts without facets) the
text names a wanted tag, case-insensitively.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from urllib.parse import urlencode

import orjson
from websockets.sync.client import connect

from stormwatch.records import Post, Reject
from stormwatch.sources.backoff import Backoff, Clock
from stormwatch.sources.bluesky import POST, posts_from_bluesky
from stormwatch.sources.errors import MalformedRecord, NotAPost
from stormwatch.sources.live import LiveSource, Sink, Stalled

JETSTREAM = "wss://jetstream2.us-east.bsky.network/subscribe"
REWIND_US = 5_000_000


class Jetstream(LiveSource):
    name = "bluesky"
    platform = "bluesky"

    def __init__(
        self,
        tags: Iterable[str],
        url: str = JETSTREAM,
        stall_s: float = 30.0,
        batch: int = 256,
        flush_s: float = 0.2,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(clock, backoff)
        self.tags = {t.lstrip("#").casefold() for t in tags}
        if not self.tags:
            raise ValueError("give at least one Bluesky hashtag, e.g. --bluesky-tag AskX")
        self.url = url
        self.stall_s = stall_s
        self.batch = batch
        self.flush_s = flush_s
        self._event_no = 0

    def subscribe_url(self) -> str:
        params = [("wantedCollections", POST)]
        if self.cursor is not None:
            params.append(("cursor", str(max(0, int(self.cursor) - REWIND_US))))
        return f"{self.url}?{urlencode(params)}"

    def matches(self, post: Post) -> bool:
        return any(tag.casefold() in self.tags for tag in post.hashtags)

    def session(self, sink: Sink, stop: threading.Event) -> None:
        pending: list[Post] = []
        last_flush = last_message = time.monotonic()
        with connect(self.subscribe_url(), open_timeout=10, max_size=2**22, compression=None) as ws:
            self.connected()
            try:
                while not stop.is_set():
                    try:
                        message = ws.recv(timeout=self.flush_s)
                    except TimeoutError:
                        if time.monotonic() - last_message > self.stall_s:
                            raise Stalled(f"no event for {self.stall_s:.0f} s") from None
                        message = None
                    else:
                        last_message = time.monotonic()
                        self._event(message, pending, sink)
                    if len(pending) >= self.batch or time.monotonic() - last_flush >= self.flush_s:
                        self._flush(pending, sink)
                        last_flush = time.monotonic()
            finally:
                self._flush(pending, sink)

    def _event(self, message: str | bytes, pending: list[Post], sink: Sink) -> None:
        self._event_no += 1
        now = self.clock.now()
        self.health.event(now)
        try:
            event = orjson.loads(message)
            if not isinstance(event, dict):
                raise MalformedRecord("an event that is not a JSON object")
            time_us = event.get("time_us")
            if not isinstance(time_us, int):
                raise MalformedRecord("Jetstream event has no integer 'time_us'")
        except (orjson.JSONDecodeError, MalformedRecord) as exc:
            self.health.drop("malformed")
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            sink.reject(Reject(self.name, self._event_no, str(exc)[:200], text[:2000]))
            return
        self._time_us = time_us
        commit = event.get("commit") if isinstance(event.get("commit"), dict) else {}
        operation = commit.get("operation")
        if event.get("kind") == "commit" and operation == "delete":
            self._flush(pending, sink)  # a delete must follow the post it removes
            uri = f"at://{event.get('did')}/{commit.get('collection')}/{commit.get('rkey')}"
            sink.deleted(self.platform, [uri])
            return
        try:
            posts = posts_from_bluesky(event, raw=message if isinstance(message, str) else None)
        except NotAPost:
            self.health.drop("not a post (identity/account event)")
            return
        except MalformedRecord as exc:
            self.health.drop("malformed")
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            sink.reject(Reject(self.name, self._event_no, str(exc)[:200], text[:2000]))
            return
        post = posts[0]
        if operation == "update":
            self._flush(pending, sink)
            sink.edited([post])
            if not self.matches(post):
                return
        elif not self.matches(post):
            self.health.drop("not tagged")
            return
        pending.append(post)
        self.health.lag_s = max(0.0, now - time_us / 1e6)

    _time_us: int | None = None
    _sent_cursor: str | None = None

    def _flush(self, pending: list[Post], sink: Sink) -> None:
        """Hand over the matched posts with the cursor of the last event read (the cursor
        moves on through unmatched events too, so a restart does not re-read them)."""
        if self._time_us is not None:
            self.cursor = str(self._time_us)
        if pending:
            self.health.counted(len(pending), self.clock.now(), None)
            sink.posts(self.name, list(pending), self.cursor)
            pending.clear()
        elif self.cursor is not None and self.cursor != self._sent_cursor:
            sink.posts(self.name, [], self.cursor)
        self._sent_cursor = self.cursor
