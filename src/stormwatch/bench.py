"""Speed benchmarks: figures printed, never asserted in unit tests."""

from __future__ import annotations

import gzip
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from stormwatch import settings
from stormwatch.records import Post
from stormwatch.sources.files import read_file
from stormwatch.store.sqlite import SQLiteStore


def make_campaign(sample: Path, n_posts: int, out: Path) -> Path:
    """N X-v2 stream lines cycled from the sample campaign, each with a new id."""
    templates = []
    with gzip.open(sample, "rb") as handle:
        for line in handle:
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj.get("data"), dict) and "text" in obj["data"]:
                templates.append(obj)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as handle:
        for i in range(n_posts):
            obj = templates[i % len(templates)]
            data = dict(obj["data"], id=str(10**17 + i))
            handle.write(orjson.dumps({"data": data, "includes": obj["includes"]}) + b"\n")
    return out


def run_ingest_bench(n_posts: int, workdir: Path, sample: Path) -> dict[str, Any]:
    path = make_campaign(sample, n_posts, workdir / f"campaign-{n_posts}.jsonl")

    start = time.perf_counter()
    posts = [p for p in read_file(str(path)) if isinstance(p, Post)]
    parse_rate = len(posts) / (time.perf_counter() - start)

    db_path = workdir / "bench-store.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    rng = np.random.default_rng(0)
    with SQLiteStore(db_path) as store:
        from stormwatch.models.baseline import LAYOUT

        model = store.register_model("bench", "1", LAYOUT)
        proba = rng.random((2048, LAYOUT.width), dtype=np.float32)
        start = time.perf_counter()
        after = 0
        for i in range(0, len(posts), 2048):
            batch = posts[i : i + 2048]
            store.add_posts(batch)
            pending = store.unscored(model, after, len(batch))
            store.add_scores(model, [r[0] for r in pending], proba[: len(pending)])
            after = pending[-1][0]
        store_rate = len(posts) / (time.perf_counter() - start)
    del posts

    analyze_db = workdir / "bench-analyze.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{analyze_db}{suffix}").unlink(missing_ok=True)
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(
        [
            sys.executable,
            "-m",
            "stormwatch",
            "analyze",
            str(path),
            "--db",
            str(analyze_db),
            "--json",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "100"},
    )
    analyze_s = time.perf_counter() - start
    peak_mib = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024

    return {
        "posts": n_posts,
        "parse_posts_per_s": round(parse_rate),
        "store_posts_per_s": round(store_rate),
        "analyze_seconds": round(analyze_s, 2),
        "analyze_posts_per_s": round(n_posts / analyze_s),
        "analyze_peak_mib": round(peak_mib, 1),
        "rows": [
            {
                "stage": "parse X v2 JSONL (1 core)",
                "figure": f"{parse_rate:,.0f} posts/s",
                "target": ">= 50,000 posts/s",
            },
            {
                "stage": "store into SQLite with labels",
                "figure": f"{store_rate:,.0f} posts/s",
                "target": ">= 20,000 posts/s",
            },
            {
                "stage": f"analyze {n_posts:,} posts ({settings.get('tier')} tier)",
                "figure": f"{analyze_s:.1f} s ({n_posts / analyze_s:,.0f} posts/s)",
                "target": "< 30 s for 80,000",
            },
            {
                "stage": "analyze peak memory (RSS)",
                "figure": f"{peak_mib:,.0f} MiB",
                "target": "< 1,024 MiB",
            },
        ],
    }


def sample_texts(sample: Path, n: int) -> list[str]:
    """N post texts cycled from the bundled sample campaign."""
    texts = [p.text for p in read_file(str(sample)) if isinstance(p, Post)]
    return (texts * (n // len(texts) + 1))[:n]


def classify_once(tier: str, n_posts: int, sample: Path, batch: int = 2048) -> dict[str, Any]:
    """Run in a fresh process: classify N posts with one tier; rate and this process's peak."""
    from stormwatch.models import load_classifier

    texts = sample_texts(sample, n_posts)
    start = time.perf_counter()
    classifier = load_classifier(tier)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        classifier.predict_proba(texts[i : i + batch])
    seconds = time.perf_counter() - start
    return {
        "tier": tier,
        "posts": n_posts,
        "load_seconds": round(load_s, 2),
        "seconds": round(seconds, 2),
        "posts_per_s": round(n_posts / seconds),
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run_classify_bench(n_posts: int, tiers: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = []
    for tier in tiers:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys, orjson; from stormwatch.bench import classify_once; "
                "from stormwatch.cli import sample_path; "
                "sys.stdout.buffer.write(orjson.dumps(classify_once(sys.argv[1], int(sys.argv[2]), "
                "sample_path())))",
                tier,
                str(n_posts),
            ],
            check=True,
            capture_output=True,
        )
        rows.append(orjson.loads(done.stdout))
    return rows


def run_warning_bench(posts_per_second: int = 5000, minutes: int = 240) -> dict[str, Any]:
    """The early warning on a stream of `posts_per_second`: time to aggregate each minute's
    posts into histograms and update the detector, per minute of stream, on one core."""
    from stormwatch.core.quantify import Reference
    from stormwatch.core.warning import Detector, Minute, WarningConfig

    rng = np.random.default_rng(0)
    labels = rng.random(2000) < 0.3
    ref = Reference(np.where(labels, 0.8, 0.2), labels, labels.astype(np.int64))
    detector = Detector({"negative": ref, "offensive": ref}, WarningConfig(learn_minutes=60))
    per_minute = posts_per_second * 60
    started = time.perf_counter()
    for t in range(minutes):
        share = 0.2 if t < minutes // 2 else 0.6
        scores = np.clip(rng.normal(np.where(rng.random(per_minute) < share, 0.8, 0.2), 0.1), 0, 1)
        views = {label: (scores, scores > 0.5) for label in ("negative", "offensive")}
        detector.update(Minute.of(t * 60_000, views))
    elapsed = time.perf_counter() - started
    return {
        "posts_per_second_simulated": posts_per_second,
        "minutes": minutes,
        "seconds_per_stream_minute": round(elapsed / minutes, 4),
        "posts_per_second_capacity": round(per_minute * minutes / elapsed),
        "alerts": [a.level for a in detector.alerts],
    }
