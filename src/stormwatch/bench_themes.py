"""`stormwatch bench themes`: themes and coordination over a big campaign of distinct real
posts (TweetEval texts, 80,000 by default), timed stage by stage, with the peak memory of
the process that does it (a fresh one, so earlier work does not count)."""

from __future__ import annotations

import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from stormwatch.records import Post
from stormwatch.store.sqlite import SQLiteStore

TASKS = ("emoji", "sentiment", "offensive", "hate", "irony", "emotion", "stance")


def distinct_tweets(data: Path, n: int, seed: int = 3) -> list[str]:
    from stormwatch.datasets import tweet_texts

    texts = tweet_texts(data, TASKS, "*_text.txt", seed)
    if len(texts) < n:
        raise ValueError(f"only {len(texts):,} distinct tweets in TweetEval; ask for fewer")
    return texts[:n]


def build_store(data: Path, n: int, workdir: Path, log: Any = print) -> Path:
    """A campaign of n distinct real tweets over 20 hours, labelled by the fast tier
    (kept in workdir for reruns)."""
    from stormwatch.analysis import ingest_and_score
    from stormwatch.models import load_classifier

    db = workdir / f"themes-{n}.db"
    if db.exists():
        return db
    workdir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(5)
    start = datetime(2013, 11, 13, 14, tzinfo=UTC)
    posts = [
        Post(
            id=str(10**15 + i),
            platform="x",
            text=f"{text} #AskBrand",
            created_at=start + timedelta(seconds=rng.uniform(0, 72_000)),
            author_id=str(rng.randrange(n // 3)),
            lang="en",
        )
        for i, text in enumerate(distinct_tweets(data, n))
    ]
    log(f"building a {n:,}-post store (labelled by the fast tier) in {db} ...")
    with SQLiteStore(db) as store:
        ingest_and_score(store, load_classifier("fast"), iter(posts), None)
    return db


def timed_stages(db: Path) -> dict[str, Any]:
    """Run in a fresh process: find themes, describe them, gather coordination evidence."""
    from stormwatch.coordination import coordination
    from stormwatch.models.embedding import load_embedder
    from stormwatch.themes import describe_themes, find_themes

    with SQLiteStore(db) as store:
        model = store.latest_model()
        started = time.perf_counter()
        embedder = load_embedder("static")
        loaded = time.perf_counter()
        found = find_themes(store, embedder)
        described_at = time.perf_counter()
        themes = describe_themes(store, model)
        described = time.perf_counter()
        evidence = coordination(store, model)
        done = time.perf_counter()
    return {
        "posts": found["posts"],
        "themes": found["themes"],
        "noise": found["noise"],
        "seconds": {
            "load_embedding": round(loaded - started, 2),
            **found["seconds"],
            "describe": round(described - described_at, 2),
            "coordination": round(done - described, 2),
            "total": round(done - started, 2),
        },
        "largest_themes": [
            {"id": t["id"], "label": t["label"], "size": t["size"]} for t in themes[:8]
        ],
        "copy_paste_groups": len(evidence["copy_paste_groups"]),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def run_themes_bench(data: Path, n: int, workdir: Path, log: Any = print) -> dict[str, Any]:
    db = build_store(data, n, workdir, log)
    # fresh assignments each run: forget earlier themes so the timing is a first run
    with SQLiteStore(db) as store, store.transaction() as tx:
        tx.execute("DELETE FROM post_themes")
        tx.execute("DELETE FROM themes")
        tx.execute("DELETE FROM theme_state")
    result = subprocess.run(
        [sys.executable, "-m", "stormwatch.bench_themes", str(db)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures = orjson.loads(result.stdout.strip().splitlines()[-1])
    figures["target"] = "80,000 posts in < 60 s with the fast embedding, peak < 2 GiB"
    return figures


if __name__ == "__main__":
    print(orjson.dumps(timed_stages(Path(sys.argv[1]))).decode())
