"""`stormwatch bench console`: the live console under load, against 127.0.0.1 only.

The server runs as its own process (`stormwatch serve`), as in production; this process
plays the collectors. Stages, each bounded in time:
1. ingest: N posts in requests of 100 from several client threads — accepted posts/s,
   request latency percentiles, 429s, and count in = count stored and labelled;
2. freshness: a post sent while a dashboard event stream is open — seconds until it
   appears there;
3. page load: the dashboard, the queue and the summary with a large store (500,000 posts
   by default, labelled in bulk first) — cold and warm times.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from stormwatch.store.console import ConsoleStore
from stormwatch.store.sqlite import SQLiteStore

Log = Callable[[str], None]
PASSWORD = "bench-password"
_SERVE = (sys.executable, "-m", "stormwatch.cli", "serve")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reset(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def _credentials(db: Path) -> str:
    with SQLiteStore(db) as store:
        console = ConsoleStore(store.db)
        console.add_user("bench", PASSWORD, "viewer")
        return console.create_token("bench")


class Server:
    """`stormwatch serve` in a child process."""

    def __init__(self, db: Path, tier: str = "fast") -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, STORMWATCH_TIER=tier)
        self.process = subprocess.Popen(
            [*_SERVE, "--db", str(db), "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def wait_ready(self, seconds: float = 120) -> None:
        import httpx

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.process.stderr.read().decode()[-2000:])
            try:
                health = httpx.get(f"{self.url}/healthz", timeout=2)
                if health.status_code == 200 and health.json()["warm"]:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the server did not start in time")

    def labelled(self) -> int:
        import httpx

        return int(httpx.get(f"{self.url}/healthz", timeout=10).json()["labelled"])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _bodies(lines: list[bytes], size: int) -> list[bytes]:
    return [b"".join(lines[i : i + size]) for i in range(0, len(lines), size)]


def ingest_stage(
    server: Server,
    token: str,
    lines: list[bytes],
    threads: int,
    limit_s: float,
    rate: float | None = None,
) -> dict[str, Any]:
    """Requests of 100 posts from `threads` clients: as fast as answers come (rate None),
    or paced to offer `rate` posts/s (an open-loop load, as collectors send)."""
    import httpx

    bodies = _bodies(lines, 100)
    latencies: list[float] = []
    accepted = retried = errors = 0
    lock = threading.Lock()
    cursor = iter(range(len(bodies)))
    deadline = time.monotonic() + limit_s
    headers = {"Authorization": f"Bearer {token}"}

    def worker() -> None:
        nonlocal accepted, retried, errors
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < deadline:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    return
                if rate:
                    due = paced_start + index * 100 / rate
                    if due > time.monotonic():
                        time.sleep(due - time.monotonic())
                while time.monotonic() < deadline:
                    started = time.perf_counter()
                    response = client.post(
                        f"{server.url}/api/v1/posts", content=bodies[index], headers=headers
                    )
                    elapsed = time.perf_counter() - started
                    with lock:
                        latencies.append(elapsed)
                        if response.status_code == 200:
                            accepted += response.json()["accepted"]
                        elif response.status_code == 429:
                            retried += 1
                        else:
                            errors += 1
                    if response.status_code == 429:
                        time.sleep(float(response.headers.get("retry-after", "1")))
                        continue
                    break

    base = server.labelled()
    started = time.perf_counter()
    paced_start = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    sent_s = time.perf_counter() - started
    while server.labelled() < base + accepted and time.monotonic() < deadline + 120:
        time.sleep(0.1)
    labelled_s = time.perf_counter() - started
    values = np.array(latencies) * 1000
    return {
        "offered_per_s": rate or "as fast as answered",
        "threads": threads,
        "posts": len(lines),
        "accepted": accepted,
        "requests": len(latencies),
        "retried_429": retried,
        "errors": errors,
        "accepted_per_s": round(accepted / sent_s, 1),
        "labelled_per_s": round((server.labelled() - base) / labelled_s, 1),
        "latency_ms_p50": round(float(np.percentile(values, 50)), 1),
        "latency_ms_p99": round(float(np.percentile(values, 99)), 1),
        "latency_ms_max": round(float(values.max()), 1),
        "labelled": server.labelled() - base,
    }


def freshness_stage(server: Server, token: str, tries: int = 5) -> dict[str, Any]:
    """Seconds from a post's acceptance to its `post` event on an open dashboard stream."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    delays = []
    for attempt in range(tries):
        post_id = f"fresh-{time.time_ns()}-{attempt}"
        seen = threading.Event()

        def listen(post_id: str = post_id, seen: threading.Event = seen) -> None:
            with (
                httpx.Client(timeout=30) as client,
                client.stream("GET", f"{server.url}/api/v1/events", headers=headers) as stream,
            ):
                for line in stream.iter_lines():
                    if line.startswith("data: ") and post_id in line:
                        seen.set()
                        return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        time.sleep(1.5)  # the stream is open and has sent its first counters
        body = orjson.dumps(
            {"id": post_id, "platform": "bench", "text": "What time do you open tomorrow?"}
        )
        httpx.post(f"{server.url}/api/v1/posts", content=body, headers=headers, timeout=30)
        accepted = time.perf_counter()
        if seen.wait(timeout=15):
            delays.append(time.perf_counter() - accepted)
    return {
        "tries": tries,
        "seen": len(delays),
        "seconds_median": round(float(np.median(delays)), 2) if delays else None,
        "seconds_max": round(max(delays), 2) if delays else None,
    }


def fill_store(db: Path, lines: list[bytes], n_posts: int, tier: str, log: Log) -> None:
    """A store of n_posts labelled posts, written directly (not through HTTP)."""
    from stormwatch.analysis import RejectsFile, ingest_and_score
    from stormwatch.models import load_classifier
    from stormwatch.sources.files import read_bytes

    def posts():
        for start in range(0, n_posts, len(lines)):
            chunk = b"".join(
                line.replace(b'"id":"', f'"id":"{start}-'.encode(), 1)
                for line in lines[: n_posts - start]
            )
            yield from read_bytes(chunk)

    started = time.perf_counter()
    with SQLiteStore(db) as store:
        counts, _ = ingest_and_score(
            store, load_classifier(tier), posts(), RejectsFile(db.with_suffix(".rejects"))
        )
    log(f"filled {counts.inserted:,} posts in {time.perf_counter() - started:.0f} s")


def page_stage(server: Server, rounds: int = 5) -> dict[str, Any]:
    import httpx

    out: dict[str, Any] = {"posts": None}
    with httpx.Client(base_url=server.url, timeout=120, follow_redirects=False) as client:
        page = client.get("/login")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf": csrf})
        for path in ("/", "/queue", "/api/v1/summary", "/api/v1/posts?label=offensive"):
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                response = client.get(path)
                times.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{path} answered {response.status_code}")
            out[path] = {
                "cold_ms": round(times[0] * 1000, 1),
                "warm_ms_median": round(float(np.median(times[1:])) * 1000, 1),
            }
        out["posts"] = client.get("/api/v1/summary").json()["posts"]
    return out


def run_console_bench(
    workdir: Path,
    sample: Path,
    n_posts: int = 40_000,
    big: int = 500_000,
    threads: int = 4,
    limit_s: float = 240,
    log: Log = print,
    rate: float = 2500.0,
) -> dict[str, Any]:
    from stormwatch.bench import make_campaign

    workdir.mkdir(parents=True, exist_ok=True)
    campaign = make_campaign(sample, max(n_posts, 5000), workdir / f"console-{n_posts}.jsonl")
    lines = campaign.read_bytes().splitlines(keepends=True)[:n_posts]
    figures: dict[str, Any] = {}

    db = workdir / "console-bench.db"
    _reset(db)
    token = _credentials(db)
    server = Server(db)
    try:
        server.wait_ready()
        log(f"ingest: {n_posts:,} posts offered at {rate:,.0f}/s in requests of 100 ...")
        figures["ingest"] = ingest_stage(server, token, lines, threads, limit_s, rate)
        with SQLiteStore(db) as store:
            figures["ingest"]["stored"] = store.post_count()
        log(f"ingest, flat out: {n_posts:,} more posts as fast as answered ...")
        more = [line.replace(b'"id":"', b'"id":"more-', 1) for line in lines]
        figures["ingest_max"] = ingest_stage(server, token, more, threads, limit_s)
        with SQLiteStore(db) as store:
            figures["ingest_max"]["stored"] = store.post_count()
        log("freshness: time from acceptance to the dashboard's event stream ...")
        figures["freshness"] = freshness_stage(server, token)
    finally:
        server.stop()

    if big:
        big_db = workdir / f"console-big-{big}.db"
        if not big_db.exists():
            log(f"page load: labelling a store of {big:,} posts first ...")
            fill_store(big_db, lines, big, "fast", log)
            _credentials(big_db)
        server = Server(big_db)
        try:
            started = time.perf_counter()
            server.wait_ready(300)
            figures["startup_s_big_store"] = round(time.perf_counter() - started, 1)
            log("page load: dashboard, queue, summary ...")
            figures["pages"] = page_stage(server)
        finally:
            server.stop()
    return figures
