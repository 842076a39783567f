"""X API v2: the filtered stream (rules managed, keep-alives watched, reconnect with back-off)
and recent-search backfill, so a disconnect or a restart leaves no gap.

Wire format: `GET /2/tweets/search/stream` answers chunked, newline-delimited JSON, one tweet
object per line (`data`, `includes`, `matching_rules`), with `\\r\\n` keep-alives about every
20 s. The cursor is the newest tweet id stored; after any gap the recent-search endpoint is
paged (`next_token`) from that id, honouring `x-rate-limit-remaining/reset`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from stormwatch.records import Reject
from stormwatch.sources.backoff import Backoff, Clock, retry_after_seconds
from stormwatch.sources.credentials import Secret
from stormwatch.sources.errors import MalformedRecord, NotAPost
from stormwatch.sources.live import (
    Fatal,
    HTTPLiveSource,
    Sink,
    Stalled,
    check_response,
    fetch,
    newer_id,
)
from stormwatch.sources.sse import OVERSIZED, LineSplitter
from stormwatch.sources.x import posts_from_v2

API = "https://api.x.com"
TWEET_FIELDS = (
    "created_at,author_id,lang,entities,public_metrics,referenced_tweets,conversation_id,note_tweet"
)
USER_FIELDS = "created_at,username,name,public_metrics"
EXPANSIONS = "author_id,referenced_tweets.id"
RULE_TAG = "stormwatch"


@dataclass(frozen=True)
class Rule:
    value: str
    tag: str = RULE_TAG


class XStream(HTTPLiveSource):
    name = "x"
    platform = "x"

    def __init__(
        self,
        rules: Sequence[str],
        bearer: Secret,
        api: str = API,
        stall_s: float = 20.0,
        backfill: bool = True,
        history: bool = False,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(bearer, clock, backoff, client)
        if not rules:
            raise ValueError("give at least one X rule, e.g. --x-rule '#AskX -is:retweet'")
        self.rules = [Rule(r, f"{RULE_TAG}:{i}") for i, r in enumerate(rules)]
        self.api = api.rstrip("/")
        self.stall_s = stall_s
        self.backfill_enabled = backfill
        self.history = history  # also fetch the past week through recent search, once
        self._rules_synced = False
        self._line = 0

    # --- HTTP helpers ------------------------------------------------------------------

    def _json(self, method: str, path: str, **kwargs: Any) -> tuple[dict[str, Any], httpx.Headers]:
        body, headers = fetch(
            self._client,
            method,
            f"{self.api}{path}",
            self.clock.now(),
            headers=self._headers(),
            **kwargs,
        )
        return orjson.loads(body) if body else {}, headers

    # --- rules -------------------------------------------------------------------------

    def sync_rules(self) -> dict[str, int]:
        """Make the stream's rules ours: add the missing ones, delete stale Stormwatch rules
        (other tools' rules, without our tag, are left alone)."""
        current, _ = self._json("GET", "/2/tweets/search/stream/rules")
        existing = [r for r in current.get("data") or [] if isinstance(r, dict)]
        wanted = {(r.value, r.tag) for r in self.rules}
        have = {(r.get("value"), r.get("tag")) for r in existing}
        stale = [
            r["id"]
            for r in existing
            if str(r.get("tag", "")).startswith(RULE_TAG)
            and (r.get("value"), r.get("tag")) not in wanted
        ]
        missing = [{"value": v, "tag": t} for v, t in sorted(wanted - have)]
        if stale:
            self._json("POST", "/2/tweets/search/stream/rules", json={"delete": {"ids": stale}})
        if missing:
            answer, _ = self._json("POST", "/2/tweets/search/stream/rules", json={"add": missing})
            errors = answer.get("errors") or []
            refused = [
                e for e in errors if isinstance(e, dict) and e.get("title") != "DuplicateRule"
            ]
            if refused:
                raise Fatal(f"X refused the rule: {refused[0].get('details') or refused[0]}")
        self._rules_synced = True
        return {"added": len(missing), "deleted": len(stale)}

    # --- stream ------------------------------------------------------------------------

    def session(self, sink: Sink, stop: threading.Event) -> None:
        if not self._rules_synced:
            self.sync_rules()
        params = {
            "tweet.fields": TWEET_FIELDS,
            "user.fields": USER_FIELDS,
            "expansions": EXPANSIONS,
        }
        timeout = httpx.Timeout(connect=10.0, read=self.stall_s, write=10.0, pool=10.0)
        splitter = LineSplitter()
        try:
            with self._client.stream(
                "GET",
                f"{self.api}/2/tweets/search/stream",
                params=params,
                headers=self._headers(),
                timeout=timeout,
            ) as response:
                check_response(response, self.clock.now())
                self.connected()
                if self.backfill_enabled and (self.cursor is not None or self.history):
                    self.backfill(sink, stop)
                    self.history = False
                for chunk in response.iter_raw():
                    for line in splitter.feed(chunk):
                        self._line += 1
                        self.health.event(self.clock.now())
                        if line.strip():
                            self._handle(line, sink)
                    if skipped := splitter.take_oversized():
                        self.health.drop(OVERSIZED, skipped)
                    if stop.is_set():
                        return
        except httpx.ReadTimeout:
            raise Stalled(
                f"nothing from X for {self.stall_s:.0f} s (keep-alives stopped)"
            ) from None
        finally:
            if splitter.pending.strip():
                self.health.drop("line cut off by a disconnect (recovered by backfill)")

    def _handle(self, line: bytes, sink: Sink) -> None:
        text = line.decode("utf-8", errors="replace")
        try:
            obj = orjson.loads(line)
            if not isinstance(obj, dict):
                raise MalformedRecord("a stream line that is not a JSON object")
            if "data" not in obj and "errors" in obj:
                raise NotAPost(f"X stream notice: {orjson.dumps(obj['errors'])[:200].decode()}")
            posts = posts_from_v2(obj, raw=text)
        except NotAPost as exc:
            self.health.drop("stream notice (not a post)")
            sink.reject(Reject(self.name, self._line, str(exc), text[:2000], kind="skipped"))
            return
        except (orjson.JSONDecodeError, MalformedRecord) as exc:
            self.health.drop("malformed")
            sink.reject(Reject(self.name, self._line, str(exc)[:200], text[:2000]))
            return
        newest = max((p.id for p in posts), key=int)
        self.cursor = newer_id(self.cursor, newest)
        created = [p.created_at.timestamp() for p in posts if p.created_at]
        self.health.counted(len(posts), self.clock.now(), max(created) if created else None)
        sink.posts(self.name, posts, self.safe_cursor())

    # --- backfill ----------------------------------------------------------------------

    def backfill(self, sink: Sink, stop: threading.Event) -> int:
        """Every tweet since the cursor (or, with no cursor, as far back as recent search
        reaches: about a week), newest first, paged."""
        since = self.cursor
        self.gap_from = since
        found = 0
        newest = since
        try:
            for rule in self.rules:
                token: str | None = None
                while not stop.is_set():
                    params = {
                        "query": rule.value,
                        "max_results": "100",
                        "tweet.fields": TWEET_FIELDS,
                        "user.fields": USER_FIELDS,
                        "expansions": EXPANSIONS,
                    }
                    if since is not None:
                        params["since_id"] = since
                    if token:
                        params["next_token"] = token
                    page, headers = self._json("GET", "/2/tweets/search/recent", params=params)
                    self._respect_rate_limit(headers, stop)
                    posts = posts_from_v2(page) if page.get("data") else []
                    if posts:
                        found += len(posts)
                        newest = newer_id(newest, max((p.id for p in posts), key=int))
                        sink.posts(self.name, posts, since)
                    token = (page.get("meta") or {}).get("next_token")
                    if not token:
                        break
        finally:
            self.gap_from = None
        self.cursor = newer_id(self.cursor, newest)
        self.health.backfilled += found
        if self.cursor is not None:
            sink.posts(self.name, [], self.cursor)  # the gap is closed: commit the cursor
        return found

    def _respect_rate_limit(self, headers: httpx.Headers, stop: threading.Event) -> None:
        remaining = headers.get("x-rate-limit-remaining")
        if remaining is not None and remaining.strip() == "0":
            wait = retry_after_seconds(headers, self.clock.now())
            wait = 60.0 if wait is None else wait + 1.0  # a second past the named reset
            self.health.next_try_in = wait
            self.clock.sleep(wait, stop)
