"""`stormwatch bench listen`: a steady fake Jetstream firehose (in its own process, as the
real one is remote) into the store through `listen`'s single writer, scored behind by a
classifier tier. Prints posts/s stored, lag to stored and to scored, peak memory, and
whether a forced disconnect lost anything."""

from __future__ import annotations

import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from stormwatch.core.labels import Classifier
from stormwatch.listen import Listener
from stormwatch.sources.jetstream import Jetstream
from stormwatch.store.sqlite import SQLiteStore

GAP_POSTS = 500  # tagged posts made while the connection is down


def run_listen_bench(
    workdir: Path,
    rate: float,
    seconds: float,
    tagged: float,
    classifier: Classifier,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "listen-bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    scripts = [
        [["rate", rate, seconds, tagged], ["publish", GAP_POSTS], ["drop"]],
        [["rate", rate, 5.0, tagged]],
    ]
    fake = subprocess.Popen(
        [sys.executable, "-m", "stormwatch.fakes.jetstream", orjson.dumps(scripts).decode()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert fake.stdout is not None and fake.stdin is not None
        url = fake.stdout.readline().strip()
        source = Jetstream(["AskX"], url=url)
        listener = Listener(db, [source], classifier=classifier)
        log(f"fake Jetstream at {url}: {rate:.0f} events/s for {seconds:.0f} s, then a drop")
        samples: list[tuple[float, int, int]] = []
        stop_sampling = threading.Event()

        def sample() -> None:
            while not stop_sampling.wait(0.5):
                live = listener.live
                samples.append(
                    (time.perf_counter(), listener.totals.stored, live.scored_total if live else 0)
                )

        sampler = threading.Thread(target=sample, daemon=True)
        started = time.perf_counter()
        listener.start()
        sampler.start()
        expected_total = rate * tagged * (seconds + 5.0) + GAP_POSTS
        deadline = started + seconds + 5.0 + 60.0
        while time.perf_counter() < deadline:
            time.sleep(0.5)
            live = listener.live
            if (
                listener.totals.stored >= expected_total * 0.999
                and live is not None
                and live.backlog == 0
                and source.health.reconnects >= 1
            ):
                break
        time.sleep(1.0)
        stop_sampling.set()
        status = listener.status()
        listener.stop()
        fake.stdin.close()
        report = orjson.loads(fake.stdout.readline())
    finally:
        fake.kill()
    with SQLiteStore(db) as store:
        stored = {
            r[0] for r in store.db.execute("SELECT post_id FROM posts WHERE platform = 'bluesky'")
        }
    sent = set(report["posts"])
    steady = [s for s in samples if started + 2 <= s[0] <= started + seconds]
    stored_rate = (
        (steady[-1][1] - steady[0][1]) / (steady[-1][0] - steady[0][0]) if len(steady) > 1 else None
    )
    scored_rate = (
        (steady[-1][2] - steady[0][2]) / (steady[-1][0] - steady[0][0]) if len(steady) > 1 else None
    )
    health = status["sources"][0]
    return {
        "offered_events_per_s": rate,
        "tagged_share": tagged,
        "firehose_seconds": seconds,
        "events_sent": report["events"],
        "tagged_posts_sent": len(sent),
        "stored": len(stored),
        "missed": len(sent - stored),
        "extra": len(stored - sent),
        "stored_posts_per_s": None if stored_rate is None else round(stored_rate),
        "scored_posts_per_s": None if scored_rate is None else round(scored_rate),
        "store_lag_s": status["store_lag_s"],
        "scored_lag_s": status["scored_lag_s"],
        "reconnects": health["reconnects"],
        "duplicates_ignored": status["duplicates"],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "classifier": f"{classifier.name} {classifier.version}",
    }
