"""A fake X API v2: stream rules, the filtered stream (chunked NDJSON with `\\r\\n`
keep-alives), recent search with `next_token` pages and rate-limit headers, and
`POST /2/tweets` for replies.

Each connection to the stream plays the next script from `scripts`; a script is a list of
steps: ("send", n) the next n tweets, ("keepalive",), ("malformed",), ("huge", n) one
line of n bytes, ("repeat",) the last tweet again, ("cut",) half a line then a dropped
connection, ("silent", s), ("status", code, retry_after) an error answer instead of a
stream, ("publish", n) tweets created but not streamed (only search finds them), ("close",)
a clean end. With the scripts used up, a connection gets keep-alives until the client
leaves.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from stormwatch.fakes.http import FakeService, Request

Step = tuple[Any, ...]


def make_tweet(n: int, text: str | None = None, start: datetime | None = None) -> dict[str, Any]:
    """The n-th fake post; its time is `start` (default a fixed date) + n seconds."""
    created = (start or datetime(2026, 11, 26, 12, 0, tzinfo=UTC)) + timedelta(seconds=n)
    return {
        "data": {
            "id": str(1_900_000_000_000_000_000 + n),
            "text": text or f"#AskX will you answer question number {n}?",
            "author_id": str(5000 + n % 37),
            "created_at": created.isoformat().replace("+00:00", ".000Z"),
            "lang": "en",
            "entities": {"hashtags": [{"start": 0, "end": 5, "tag": "AskX"}]},
        },
        "includes": {
            "users": [
                {
                    "id": str(5000 + n % 37),
                    "username": f"user{n % 37}",
                    "name": f"User {n % 37}",
                    "created_at": "2020-01-01T00:00:00.000Z",
                }
            ]
        },
        "matching_rules": [{"id": "1", "tag": "stormwatch:0"}],
    }


class FakeX(FakeService):
    def __init__(
        self,
        scripts: list[list[Step]],
        keepalive_s: float = 0.05,
        search_page: int = 10,
        search_rate_limit_after: int | None = None,
        fail_posts: list[int | str] | None = None,
        search_padding: int = 0,
    ) -> None:
        self.scripts = list(scripts)
        self.keepalive_s = keepalive_s
        self.search_page = search_page
        self.search_rate_limit_after = search_rate_limit_after
        self.fail_posts = list(fail_posts or [])  # statuses for the next POST /2/tweets calls
        self.search_padding = search_padding  # bytes of filler in every search answer
        self.tweets: list[dict[str, Any]] = []  # every tweet created, in order
        self.streamed: list[str] = []  # ids sent whole on the stream
        self.rules: list[dict[str, str]] = [{"id": "900", "value": "other tool", "tag": "x"}]
        self.posted: list[dict[str, Any]] = []
        self.auth: list[str] = []
        self.connections = 0
        self.start = datetime.now(UTC) - timedelta(seconds=1)
        self._searches = 0
        self._lock = threading.Lock()
        super().__init__(
            {
                ("GET", "/2/tweets/search/stream/rules"): self._get_rules,
                ("POST", "/2/tweets/search/stream/rules"): self._post_rules,
                ("GET", "/2/tweets/search/stream"): self._stream,
                ("GET", "/2/tweets/search/recent"): self._search,
                ("POST", "/2/tweets"): self._post_tweet,
            }
        )

    def _new(self) -> dict[str, Any]:
        with self._lock:
            tweet = make_tweet(len(self.tweets), start=self.start)
            self.tweets.append(tweet)
            return tweet

    # --- rules -------------------------------------------------------------------------

    def _get_rules(self, req: Request) -> None:
        self.auth.append(req.headers.get("Authorization", ""))
        req.reply(200, {"data": self.rules, "meta": {"result_count": len(self.rules)}})

    def _post_rules(self, req: Request) -> None:
        body = req.json() or {}
        for rule in body.get("add", []):
            self.rules.append({"id": str(1000 + len(self.rules)), **rule})
        ids = set(body.get("delete", {}).get("ids", []))
        self.rules = [r for r in self.rules if r["id"] not in ids]
        req.reply(
            200, {"data": self.rules, "meta": {"summary": {"created": len(body.get("add", []))}}}
        )

    # --- stream ------------------------------------------------------------------------

    def _stream(self, req: Request) -> None:
        self.auth.append(req.headers.get("Authorization", ""))
        with self._lock:
            self.connections += 1
            script = self.scripts.pop(0) if self.scripts else []
        while script and script[0][0] == "publish":  # made before this client came back
            for _ in range(script.pop(0)[1]):
                self._new()
        if script and script[0][0] == "status":
            req.error(*script[0][1:])
            return
        req.start_stream("application/json")
        last: bytes | None = None
        for step in script:
            kind = step[0]
            if kind == "send":
                for _ in range(step[1]):
                    tweet = self._new()
                    last = orjson.dumps(tweet) + b"\r\n"
                    req.chunk(last)
                    self.streamed.append(tweet["data"]["id"])
            elif kind == "publish":
                for _ in range(step[1]):
                    self._new()
            elif kind == "keepalive":
                req.chunk(b"\r\n")
            elif kind == "malformed":
                req.chunk(b'{"data": {"id": "12", "text": \r\n')
            elif kind == "huge":  # one line of step[1] bytes, sent in 64 KiB chunks
                for start in range(0, step[1], 1 << 16):
                    req.chunk(b"x" * min(1 << 16, step[1] - start))
                req.chunk(b"\r\n")
            elif kind == "repeat" and last is not None:
                req.chunk(last)
            elif kind == "silent":
                time.sleep(step[1])
            elif kind == "cut":
                tweet = self._new()
                line = orjson.dumps(tweet)
                req.chunk(line[: len(line) // 2])
                req.cut()
                return
            elif kind == "close":
                req.end_stream()
                return
        req.keep_alive(b"\r\n", self.keepalive_s, self.http.stopping)

    # --- search ------------------------------------------------------------------------

    def _search(self, req: Request) -> None:
        self.auth.append(req.headers.get("Authorization", ""))
        self._searches += 1
        since = int(req.query.get("since_id", "0"))
        size = min(int(req.query.get("max_results", "10")), self.search_page)
        found = [t for t in reversed(self.tweets) if int(t["data"]["id"]) > since]
        start = int(req.query.get("next_token", "0"))
        page = found[start : start + size]
        headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "449"}
        if (
            self.search_rate_limit_after is not None
            and self._searches > self.search_rate_limit_after
        ):
            headers["x-rate-limit-remaining"] = "0"
            headers["x-rate-limit-reset"] = str(int(time.time()) + 30)
        body: dict[str, Any] = {"meta": {"result_count": len(page)}}
        if page:
            body["data"] = [t["data"] for t in page]
            body["includes"] = {"users": [u for t in page for u in t["includes"]["users"]]}
            body["meta"]["newest_id"] = page[0]["data"]["id"]
        if start + size < len(found):
            body["meta"]["next_token"] = str(start + size)
        if self.search_padding:  # a broken server's endless answer
            body["meta"]["padding"] = "x" * self.search_padding
        req.reply(200, body, headers)

    # --- posting -----------------------------------------------------------------------

    def _post_tweet(self, req: Request) -> None:
        self.auth.append(req.headers.get("Authorization", ""))
        failure = self.fail_posts.pop(0) if self.fail_posts else None
        if isinstance(failure, int):
            req.reply(failure, {"title": "fake failure"}, {"Retry-After": "1"})
            return
        body = req.json() or {}
        tweet_id = str(2_000_000_000_000_000_000 + len(self.posted))
        self.posted.append(body)
        if failure == "cut":  # posted, but the answer never reaches the client
            req.cut()
            return
        req.reply(201, {"data": {"id": tweet_id, "text": body.get("text", "")}})
