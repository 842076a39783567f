"""Mastodon: a hashtag followed live over server-sent events (or the WebSocket API), with
the hashtag timeline paged forward from the cursor after any gap.

SSE: `GET /api/v1/streaming/hashtag?tag=NAME` sends `update` (a status), `status.update`
(an edit) and `delete` (an instance-local id) events, and `:` heartbeat lines.
WebSocket: `/api/v1/streaming`, subscribe with `{"type":"subscribe","stream":"hashtag",
"tag":NAME}`; each message is `{"stream":[...],"event":...,"payload":"<JSON as a string>"}`.
Backfill: `GET /api/v1/timelines/tag/NAME?min_id=CURSOR`, following the `Link: rel="prev"`
pages (newer results) until one comes back empty.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Literal

import httpx
import orjson
from websockets.sync.client import connect

from stormwatch.records import Post, Reject
from stormwatch.sources.backoff import Backoff, Clock
from stormwatch.sources.credentials import Secret
from stormwatch.sources.errors import MalformedRecord
from stormwatch.sources.live import (
    HTTPLiveSource,
    Sink,
    Stalled,
    check_response,
    fetch,
    newer_id,
)
from stormwatch.sources.mastodon import posts_from_status
from stormwatch.sources.sse import OVERSIZED, LineSplitter, SSEParser


def link_url(header: str | None, rel: str) -> str | None:
    """The URL of one relation in an HTTP `Link` header."""
    for part in (header or "").split(","):
        url, _, params = part.partition(";")
        if f'rel="{rel}"' in params.replace(" ", "") or f"rel={rel}" in params.replace(" ", ""):
            return url.strip().strip("<>")
    return None


class MastodonStream(HTTPLiveSource):
    name = "mastodon"
    platform = "mastodon"

    def __init__(
        self,
        instance: str,
        tag: str,
        token: Secret | None,
        transport: Literal["sse", "websocket"] = "sse",
        streaming: str | None = None,
        stall_s: float = 90.0,
        backfill: bool = True,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(token, clock, backoff, client)
        self.instance = instance.rstrip("/")
        self.tag = tag.lstrip("#")
        # The streaming API may live on its own host (the instance's `urls.streaming`).
        self.streaming = (streaming or self.instance).rstrip("/")
        self.transport = transport
        self.stall_s = stall_s
        self.backfill_enabled = backfill
        self._local_ids: OrderedDict[str, str] = OrderedDict()  # instance id -> uri
        self._event_no = 0

    def session(self, sink: Sink, stop: threading.Event) -> None:
        if self.transport == "websocket":
            self._websocket(sink, stop)
        else:
            self._sse(sink, stop)

    # --- server-sent events -------------------------------------------------------------

    def _sse(self, sink: Sink, stop: threading.Event) -> None:
        timeout = httpx.Timeout(connect=10.0, read=self.stall_s, write=10.0, pool=10.0)
        splitter, parser = LineSplitter(), SSEParser()
        try:
            with self._client.stream(
                "GET",
                f"{self.streaming}/api/v1/streaming/hashtag",
                params={"tag": self.tag},
                headers=self._headers(),
                timeout=timeout,
            ) as response:
                check_response(response, self.clock.now())
                self.connected()
                if self.backfill_enabled and self.cursor is not None:
                    self.backfill(sink, stop)
                for chunk in response.iter_raw():
                    for line in splitter.feed(chunk):
                        for event in parser.feed(line.decode("utf-8", errors="replace")):
                            self.health.event(self.clock.now())
                            if event.event != "heartbeat":
                                self._handle(event.event, event.data, sink)
                    if skipped := splitter.take_oversized() + parser.take_oversized():
                        self.health.drop(OVERSIZED, skipped)
                    if stop.is_set():
                        return
        except httpx.ReadTimeout:
            raise Stalled(f"no event or heartbeat for {self.stall_s:.0f} s") from None
        finally:
            if splitter.pending.strip():
                self.health.drop("event cut off by a disconnect (recovered by backfill)")

    # --- WebSocket ---------------------------------------------------------------------

    def _websocket(self, sink: Sink, stop: threading.Event) -> None:
        url = self.streaming.replace("https://", "wss://").replace("http://", "ws://")
        with connect(
            f"{url}/api/v1/streaming",
            additional_headers=self._headers(),
            open_timeout=10,
            max_size=2**22,
        ) as ws:
            ws.send(
                orjson.dumps({"type": "subscribe", "stream": "hashtag", "tag": self.tag}).decode()
            )
            self.connected()
            if self.backfill_enabled and self.cursor is not None:
                self.backfill(sink, stop)
            while not stop.is_set():
                try:
                    message = ws.recv(timeout=self.stall_s)
                except TimeoutError:
                    raise Stalled(f"no message for {self.stall_s:.0f} s") from None
                self.health.event(self.clock.now())
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                try:
                    envelope = orjson.loads(text)
                    if not isinstance(envelope, dict) or "event" not in envelope:
                        raise ValueError("not a streaming envelope")
                except ValueError as exc:
                    self._event_no += 1
                    self.health.drop("malformed")
                    sink.reject(Reject(self.name, self._event_no, str(exc)[:200], text[:2000]))
                    continue
                payload = envelope.get("payload")
                self._handle(
                    str(envelope["event"]), payload if isinstance(payload, str) else "", sink
                )

    # --- events ------------------------------------------------------------------------

    def _handle(self, event: str, data: str, sink: Sink) -> None:
        self._event_no += 1
        if event == "delete":
            local = data.strip()
            uri = self._local_ids.pop(local, None)
            if uri is not None:
                sink.deleted(self.platform, [uri])
            else:
                sink.deleted_where(self.platform, "id", local)
            return
        if event not in ("update", "status.update"):
            self.health.drop(f"{event} event (not a post)")
            return
        try:
            status = orjson.loads(data)
            if not isinstance(status, dict):
                raise MalformedRecord("the payload is not a status object")
            posts = posts_from_status(status, raw=data)
        except (orjson.JSONDecodeError, MalformedRecord) as exc:
            self.health.drop("malformed")
            sink.reject(Reject(self.name, self._event_no, str(exc)[:200], data[:2000]))
            return
        self._remember(status, posts)
        if event == "status.update":
            sink.edited(posts)
            return
        self.cursor = newer_id(self.cursor, str(status.get("id")) if status.get("id") else None)
        self._count(posts)
        sink.posts(self.name, posts, self.safe_cursor())

    def _remember(self, status: dict[str, Any], posts: list[Post]) -> None:
        local = status.get("id")
        if local is not None and posts:
            self._local_ids[str(local)] = posts[0].id
            if len(self._local_ids) > 200_000:
                self._local_ids.popitem(last=False)

    def _count(self, posts: list[Post]) -> None:
        created = [p.created_at.timestamp() for p in posts if p.created_at]
        self.health.counted(len(posts), self.clock.now(), max(created) if created else None)

    # --- backfill ----------------------------------------------------------------------

    def backfill(self, sink: Sink, stop: threading.Event) -> int:
        """Statuses newer than the cursor from the hashtag timeline, oldest page first."""
        since = self.cursor
        if since is None:
            return 0
        self.gap_from = since
        url: str | None = f"{self.instance}/api/v1/timelines/tag/{self.tag}"
        params: dict[str, str] | None = {"min_id": since, "limit": "40"}
        newest, found = since, 0
        try:
            while url and not stop.is_set():
                body, headers = fetch(
                    self._client,
                    "GET",
                    url,
                    self.clock.now(),
                    params=params,
                    headers=self._headers(),
                )
                page = orjson.loads(body)
                if not isinstance(page, list) or not page:
                    break
                posts: list[Post] = []
                for status in page:
                    if not isinstance(status, dict):
                        continue
                    try:
                        got = posts_from_status(status)
                    except MalformedRecord as exc:
                        self.health.drop("malformed")
                        sink.reject(Reject(self.name, 0, f"backfill: {exc}", str(status)[:2000]))
                        continue
                    self._remember(status, got)
                    posts.extend(got)
                    newest = newer_id(newest, str(status.get("id"))) or newest
                if posts:
                    found += len(posts)
                    sink.posts(self.name, posts, since)
                url, params = link_url(headers.get("link"), "prev"), None
        finally:
            self.gap_from = None
        self.cursor = newer_id(self.cursor, newest)
        self.health.backfilled += found
        sink.posts(self.name, [], self.cursor)
        return found
