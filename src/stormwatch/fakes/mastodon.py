"""A fake Mastodon instance: hashtag streaming over SSE (`:` heartbeats) and over the
WebSocket API (payloads as JSON strings inside JSON), the hashtag timeline with `min_id`
and `Link` pagination, `POST /api/v1/statuses` honouring `Idempotency-Key`, and
`GET /api/v2/instance` with the status length limit.

Stream scripts, one per connection: ("send", n), ("heartbeat",), ("malformed",), ("repeat",),
("delete", k) the k-th status created, ("edit", k), ("cut",), ("silent", s),
("status", code, retry_after), ("publish", n) (created while nobody listened), ("close",).
"""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from websockets.sync.server import Server, ServerConnection, serve

from stormwatch.fakes.http import FakeService, Request

Step = tuple[Any, ...]
HOST = "fake.social"
_TAG_LINK = f'<a href="https://{HOST}/tags/AskX" class="mention hashtag">#<span>AskX</span></a>'


def make_status(n: int, text: str | None = None, start: datetime | None = None) -> dict[str, Any]:
    """The n-th fake post; its time is `start` (default a fixed date) + n seconds."""
    created = (start or datetime(2026, 11, 26, 12, 0, tzinfo=UTC)) + timedelta(seconds=n)
    return {
        "id": str(110_000_000_000_000_000 + n),
        "uri": f"https://{HOST}/users/u{n % 11}/statuses/{n}",
        "url": f"https://{HOST}/@u{n % 11}/{n}",
        "created_at": created.isoformat().replace("+00:00", ".000Z"),
        "content": f"<p>{text or f'Will you answer question {n}?'} {_TAG_LINK}</p>",
        "spoiler_text": "",
        "language": "en",
        "in_reply_to_id": None,
        "reblog": None,
        "account": {
            "id": str(n % 11),
            "acct": f"u{n % 11}",
            "username": f"u{n % 11}",
            "url": f"https://{HOST}/@u{n % 11}",
            "display_name": f"U {n % 11}",
            "created_at": "2022-11-01T00:00:00.000Z",
            "followers_count": n % 11,
        },
        "tags": [{"name": "askx", "url": f"https://{HOST}/tags/askx"}],
        "mentions": [],
        "favourites_count": 0,
        "reblogs_count": 0,
    }


class FakeMastodon(FakeService):
    def __init__(
        self,
        scripts: list[list[Step]],
        heartbeat_s: float = 0.05,
        page: int = 5,
        max_characters: int = 500,
        fail_posts: list[int | str] | None = None,
    ) -> None:
        self.scripts = list(scripts)
        self.heartbeat_s = heartbeat_s
        self.page = page
        self.max_characters = max_characters
        self.fail_posts = list(fail_posts or [])
        self.statuses: list[dict[str, Any]] = []
        self.deleted: set[str] = set()
        self.posted: list[dict[str, Any]] = []
        self.post_calls: list[dict[str, Any]] = []
        self._by_key: dict[str, dict[str, Any]] = {}
        self.auth: list[str] = []
        self.subscriptions: list[dict[str, Any]] = []
        self.start = datetime.now(UTC) - timedelta(seconds=1)
        self._lock = threading.Lock()
        super().__init__(
            {
                ("GET", "/api/v1/streaming/hashtag"): self._sse,
                ("GET", "/api/v1/timelines/tag/*"): self._timeline,
                ("POST", "/api/v1/statuses"): self._post_status,
                ("GET", "/api/v2/instance"): self._instance,
            }
        )
        self._ws: Server | None = None
        self._ws_scripts: dict[int, list[Step]] = {}
        self.ws_url = ""

    def __enter__(self) -> FakeMastodon:
        super().__enter__()
        self._ws = serve(
            self._websocket, "127.0.0.1", 0, compression=None, process_request=self._handshake
        )
        self.ws_url = f"ws://127.0.0.1:{self._ws.socket.getsockname()[1]}"
        threading.Thread(target=self._ws.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        if self._ws is not None:
            self._ws.shutdown()

    def _new(self) -> dict[str, Any]:
        with self._lock:
            status = make_status(len(self.statuses), start=self.start)
            self.statuses.append(status)
            return status

    def _next_script(self) -> list[Step]:
        with self._lock:
            script = self.scripts.pop(0) if self.scripts else []
        while script and script[0][0] == "publish":  # made before this client came back
            for _ in range(script.pop(0)[1]):
                self._new()
        return script

    def _events(self, script: list[Step]) -> Any:
        """(event, data) pairs, or a control step, for a script."""
        last: tuple[str, str] | None = None
        for step in script:
            kind = step[0]
            if kind == "send":
                for _ in range(step[1]):
                    last = ("update", orjson.dumps(self._new()).decode())
                    yield last
            elif kind == "publish":
                for _ in range(step[1]):
                    self._new()
            elif kind == "repeat" and last is not None:
                yield last
            elif kind == "malformed":
                yield ("update", '{"id": "1", "content": ')
            elif kind == "delete":
                status = self.statuses[step[1]]
                self.deleted.add(status["id"])
                yield ("delete", status["id"])
            elif kind == "edit":
                status = dict(self.statuses[step[1]])
                status["content"] = "<p>edited: what is your plan? #AskX</p>"
                status["edited_at"] = status["created_at"]
                self.statuses[step[1]] = status
                yield ("status.update", orjson.dumps(status).decode())
            else:
                yield step

    # --- SSE ---------------------------------------------------------------------------

    def _sse(self, req: Request) -> None:
        self.auth.append(req.headers.get("Authorization", ""))
        script = self._next_script()
        if script and script[0][0] == "status":
            req.error(*script[0][1:])
            return
        req.start_stream("text/event-stream")
        req.chunk(b":)\n")
        for item in self._events(script):
            if item[0] in ("update", "delete", "status.update"):
                req.chunk(f"event: {item[0]}\ndata: {item[1]}\n\n".encode())
            elif item[0] == "heartbeat":
                req.chunk(b":thump\n")
            elif item[0] == "silent":
                time.sleep(item[1])
            elif item[0] == "cut":
                status = orjson.dumps(self._new()).decode()
                req.chunk(f"event: update\ndata: {status[: len(status) // 2]}".encode())
                req.cut()
                return
            elif item[0] == "close":
                req.end_stream()
                return
        req.keep_alive(b":thump\n", self.heartbeat_s, self.http.stopping)

    # --- WebSocket ---------------------------------------------------------------------

    def _handshake(self, ws: ServerConnection, request: Any) -> Any:
        """Pick this connection's script; an error step refuses the upgrade with that status."""
        script = self._next_script()
        self._ws_scripts[id(ws)] = script
        if script and script[0][0] == "status":
            _, code, retry_after = script[0]
            response = ws.respond(code, "fake error\n")
            if retry_after is not None:
                response.headers["Retry-After"] = str(retry_after)
            return response
        return None

    def _websocket(self, ws: ServerConnection) -> None:
        self.auth.append(ws.request.headers.get("Authorization", "") if ws.request else "")
        script = self._ws_scripts.pop(id(ws), [])
        subscribe = orjson.loads(ws.recv(timeout=5))
        self.subscriptions.append(subscribe)
        stream = [subscribe.get("stream"), subscribe.get("tag")]
        for item in self._events(script):
            if item[0] in ("update", "delete", "status.update"):
                ws.send(
                    orjson.dumps({"stream": stream, "event": item[0], "payload": item[1]}).decode()
                )
            elif item[0] == "silent":
                time.sleep(item[1])
            elif item[0] == "cut":
                self._new()  # created, but the connection drops before it is sent
                ws.close_socket()
                return
            elif item[0] == "close":
                ws.close()
                return
        with contextlib.suppress(Exception):
            while not self.http.stopping.is_set():
                ws.ping()
                time.sleep(self.heartbeat_s)

    # --- REST --------------------------------------------------------------------------

    def _timeline(self, req: Request) -> None:
        self.auth.append(req.headers.get("Authorization", ""))
        min_id = int(req.query.get("min_id", "0"))
        live = [s for s in self.statuses if s["id"] not in self.deleted]
        newer = [s for s in live if int(s["id"]) > min_id][: self.page]  # oldest first
        body = list(reversed(newer))  # a page is newest first
        headers = {}
        if body:
            tag = req.path.rsplit("/", 1)[-1]
            base = f"{self.url}/api/v1/timelines/tag/{tag}"
            headers["Link"] = (
                f'<{base}?max_id={body[-1]["id"]}>; rel="next", '
                f'<{base}?min_id={body[0]["id"]}>; rel="prev"'
            )
        req.reply(200, body, headers)

    def _instance(self, req: Request) -> None:
        req.reply(
            200,
            {
                "domain": HOST,
                "configuration": {
                    "statuses": {
                        "max_characters": self.max_characters,
                        "characters_reserved_per_url": 23,
                    }
                },
            },
        )

    def _post_status(self, req: Request) -> None:
        self.auth.append(req.headers.get("Authorization", ""))
        body = req.json() or {}
        key = req.headers.get("Idempotency-Key")
        self.post_calls.append({"key": key, **body})
        failure = self.fail_posts.pop(0) if self.fail_posts else None
        if isinstance(failure, int):
            req.reply(failure, {"error": "fake failure"}, {"Retry-After": "1"})
            return
        if key and key in self._by_key:
            req.reply(200, self._by_key[key])
            return
        status = make_status(100_000 + len(self.posted), body.get("status"))
        status["in_reply_to_id"] = body.get("in_reply_to_id")
        self.posted.append(body)
        if key:
            self._by_key[key] = status
        if failure == "cut":  # posted, but the answer never reaches the client
            req.cut()
            return
        req.reply(200, status)
