"""A fake Bluesky Jetstream: `…/subscribe?wantedCollections=…&cursor=TIME_US` over a
WebSocket, one JSON event per text frame, replaying from the cursor on connect.

Scripts, one per connection: ("send", n) tagged posts, ("noise", n) untagged posts,
("facet", n) posts tagged only by a facet, ("delete", k) / ("update", k) the k-th event's
post, ("identity",), ("malformed",), ("repeat",), ("drop",) the socket closed mid-stream,
("publish", n) tagged posts made while nobody listened, ("silent", s),
("rate", per_second, seconds, tagged_share) a paced firehose stamped with the real time, and
("close",). With the scripts used up, a connection stays open and quiet.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.sync.server import Server, ServerConnection, serve

Step = tuple[Any, ...]
TEXTS = (
    "Will you answer this one? #AskX",
    "Why did the fees go up again #askx",
    "Nobody believes you. #AskX #fail",
)


class FakeJetstream:
    def __init__(self, scripts: list[list[Step]], tag: str = "AskX") -> None:
        self.scripts = list(scripts)
        self.tag = tag
        self.log: list[dict[str, Any]] = []  # every event, in time order
        self.posts: list[str] = []  # uris of tagged posts created
        self.cursors: list[int | None] = []  # the cursor each connection asked for
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._server: Server | None = None
        self.url = ""
        self.stopping = threading.Event()
        # synthetic events are 1 ms apart from the moment the fake starts (lag stays real)
        self.start_us = int(time.time() * 1_000_000)

    def __enter__(self) -> FakeJetstream:
        self._server = serve(self._handler, "127.0.0.1", 0, compression=None, max_size=2**22)
        self.url = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/subscribe"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()

    # --- events ------------------------------------------------------------------------

    def _time_us(self, real: bool) -> int:
        last = self.log[-1]["time_us"] if self.log else self.start_us
        now = int(time.time() * 1_000_000) if real else last + 1000
        return max(now, last + 1)

    def _post(self, kind: str, real: bool = False) -> dict[str, Any]:
        with self._lock:
            n = len(self.log)
            time_us = self._time_us(real)
            text = TEXTS[n % len(TEXTS)] if kind != "noise" else f"just a normal post {n}"
            record: dict[str, Any] = {
                "$type": "app.bsky.feed.post",
                "text": text,
                "createdAt": _iso(time_us),
                "langs": ["en"],
            }
            if kind == "facet":
                record["text"] = f"question {n} for the team"
                record["facets"] = [
                    {
                        "index": {"byteStart": 0, "byteEnd": 8},
                        "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": self.tag}],
                    }
                ]
            elif kind == "send" and "#" in text:
                start = len(text.encode()[: text.index("#")])
                record["facets"] = [
                    {
                        "index": {"byteStart": start, "byteEnd": start + 1 + len(self.tag)},
                        "features": [
                            {
                                "$type": "app.bsky.richtext.facet#tag",
                                "tag": text[start + 1 :].split()[0],
                            }
                        ],
                    }
                ]
            did = f"did:plc:fake{n % 97:04d}"
            event = {
                "did": did,
                "time_us": time_us,
                "kind": "commit",
                "commit": {
                    "rev": f"rev{n}",
                    "operation": "create",
                    "collection": "app.bsky.feed.post",
                    "rkey": f"3k{n:010d}",
                    "record": record,
                    "cid": f"bafyfake{n}",
                },
            }
            self.log.append(event)
            if kind != "noise":
                self.posts.append(f"at://{did}/app.bsky.feed.post/3k{n:010d}")
            return event

    def _follow_up(self, k: int, operation: str) -> dict[str, Any]:
        with self._lock:
            original = next(e for e in self.log if e["commit"]["rkey"] == f"3k{k:010d}")
            commit = dict(original["commit"], operation=operation, rev=f"rev{len(self.log)}")
            if operation == "delete":
                commit.pop("record", None)
                commit.pop("cid", None)
            else:
                commit["record"] = dict(commit["record"], text="edited: when? #AskX")
            event = {**original, "time_us": self._time_us(False), "commit": commit}
            self.log.append(event)
            return event

    # --- the connection ----------------------------------------------------------------

    def _handler(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else ""
        self.paths.append(path)
        query = parse_qs(urlsplit(path).query)
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        self.cursors.append(cursor)
        with self._lock:
            script = self.scripts.pop(0) if self.scripts else []
            replay = [e for e in self.log if cursor is not None and e["time_us"] >= cursor]
        try:
            for event in replay:
                ws.send(orjson.dumps(event).decode())
            self._play(ws, script)
        except Exception:
            return
        with contextlib.suppress(Exception):
            while not self.stopping.is_set():
                ws.ping()
                time.sleep(0.05)

    def _play(self, ws: ServerConnection, script: list[Step]) -> None:
        last: str | None = None
        for step in script:
            kind = step[0]
            if kind in ("send", "noise", "facet"):
                for _ in range(step[1]):
                    last = orjson.dumps(self._post(kind)).decode()
                    ws.send(last)
            elif kind == "publish":
                for _ in range(step[1]):
                    self._post("send")
            elif kind in ("delete", "update"):
                ws.send(orjson.dumps(self._follow_up(step[1], kind)).decode())
            elif kind == "identity":
                ws.send(
                    orjson.dumps(
                        {
                            "did": "did:plc:x",
                            "time_us": self._time_us(False),
                            "kind": "identity",
                            "identity": {},
                        }
                    ).decode()
                )
            elif kind == "malformed":
                ws.send('{"did": "did:plc:x", "time_us": ')
            elif kind == "repeat" and last is not None:
                ws.send(last)
            elif kind == "silent":
                time.sleep(step[1])
            elif kind == "drop":
                ws.close_socket()
                raise ConnectionError("dropped on purpose")
            elif kind == "close":
                ws.close()
                raise ConnectionError("closed")
            elif kind == "rate":
                self._rate(ws, *step[1:])

    def _rate(self, ws: ServerConnection, per_second: float, seconds: float, share: float) -> None:
        """A paced firehose: events go out on schedule, stamped with the real time."""
        started = time.perf_counter()
        total = int(per_second * seconds)
        every = max(1, round(1 / share)) if share > 0 else 0
        for i in range(total):
            due = started + i / per_second
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            kind = "send" if every and i % every == 0 else "noise"
            ws.send(orjson.dumps(self._post(kind, real=True)).decode())


def _iso(time_us: int) -> str:
    seconds, micros = divmod(time_us, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{micros // 1000:03d}Z"


def main() -> None:
    """Serve a fake Jetstream in its own process (benchmarks keep it off the client's GIL):
    prints its URL, plays the JSON scripts given as the first argument, and when standard
    input closes prints the uris of every tagged post it created, as JSON."""
    import sys

    scripts = [[tuple(step) for step in script] for script in orjson.loads(sys.argv[1])]
    with FakeJetstream(scripts) as fake:
        print(fake.url, flush=True)
        sys.stdin.read()
        fake.stopping.set()
        print(orjson.dumps({"posts": fake.posts, "events": len(fake.log)}).decode(), flush=True)


if __name__ == "__main__":
    main()
