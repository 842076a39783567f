"""Hijack: posts off the organiser's stated purpose, as a share with an interval, and as
evidence the early warning raises an alert on."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
from click.testing import CliRunner

from stormwatch.cli import main
from stormwatch.core.purpose import Purpose
from stormwatch.export import post_record
from stormwatch.purpose import load_calibration, make_purpose
from stormwatch.records import Post
from test_themes import FILLERS, TOPICS

PURPOSE = "Ask us about our climate plans: fossil fuel financing, oil sands and pipelines."
T0 = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


def test_purpose_separates_on_from_off_topic_posts():
    purpose = make_purpose(PURPOSE)
    rng = random.Random(1)
    on = [rng.choice(TOPICS["climate"]).format(a=rng.choice(FILLERS)) for _ in range(60)]
    off = [
        rng.choice(TOPICS["bailout"] + TOPICS["football"]).format(a=rng.choice(FILLERS))
        for _ in range(60)
    ]
    from stormwatch.models.embedding import StaticEmbedder

    embedder = StaticEmbedder()
    _, on_off = purpose.off_purpose(embedder.embed(on))
    _, off_off = purpose.off_purpose(embedder.embed(off))
    assert on_off.mean() < 0.3 and off_off.mean() > 0.7
    calibration = load_calibration()
    assert -0.1 <= float(calibration["tau"]) <= 0.4
    assert len(calibration["scores"]) == len(calibration["labels"]) > 10_000
    # examples alone make a purpose too; nothing makes none
    assert isinstance(make_purpose(None, on[:5]), Purpose)
    try:
        make_purpose(None, [])
    except ValueError as exc:
        assert "purpose" in str(exc)
    else:
        raise AssertionError("an empty purpose was accepted")


def _campaign(path) -> None:
    rng = random.Random(4)
    posts = []
    for minute in range(8 * 60):
        hijack = minute >= 7 * 60
        for _ in range(30 if hijack else 4):
            topic = rng.choice(["bailout", "fees"]) if hijack and rng.random() < 0.85 else "climate"
            text = rng.choice(TOPICS[topic]).format(a=rng.choice(FILLERS))
            posts.append(
                Post(
                    id=str(len(posts)),
                    platform="x",
                    text=f"{text} #AskAcme",
                    created_at=T0 + timedelta(minutes=minute, seconds=rng.uniform(0, 59)),
                    author_id=str(rng.randrange(3000)),
                    lang="en",
                )
            )
    path.write_bytes(b"".join(orjson.dumps(post_record(p)) + b"\n" for p in posts))


def test_analyze_with_a_purpose_reports_the_share_and_alerts_on_the_hijack(tmp_path):
    path = tmp_path / "campaign.jsonl"
    _campaign(path)
    result = CliRunner().invoke(
        main,
        [
            "analyze",
            str(path),
            "--db",
            str(tmp_path / "c.db"),
            "--json",
            "--no-themes",
            "--purpose",
            PURPOSE,
        ],
    )
    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout)
    share = summary["purpose"]["off_purpose"]
    truth = (60 * 30 * 0.85) / (7 * 60 * 4 + 60 * 30)  # off-purpose posts over all posts
    assert share["low"] <= truth and share["high"] >= truth - 0.15  # counted: misses some
    off = [
        a
        for a in summary["alerts"]
        if a["kind"] == "hostility" and "off_purpose" in a["evidence"]["labels"]
    ]
    assert off, [a["kind"] for a in summary["alerts"]]
    assert off[0]["at"] >= "2026-11-26T13:00" and off[0]["at"] <= "2026-11-26T13:30"
    assert not [
        a for a in summary["alerts"] if a["at"] < "2026-11-26T13:00" and a["level"] != "watch"
    ]
    assert np.isfinite(share["estimate"])


def test_the_console_raises_the_hijack_alert_with_a_stated_purpose(tmp_path):
    import time

    from fastapi.testclient import TestClient

    from stormwatch.models import load_classifier
    from stormwatch.sources.files import only_posts, read_posts
    from stormwatch.store.sqlite import SQLiteStore
    from stormwatch.web.app import Config, create_app
    from test_web_api import login, setup_db

    path, db = tmp_path / "campaign.jsonl", tmp_path / "live.db"
    _campaign(path)
    setup_db(db)
    with SQLiteStore(db) as store:
        store.add_posts(list(only_posts(read_posts([str(path)], "auto"))))
    config = Config(purpose=make_purpose(PURPOSE), themes_every_s=0, max_wait=0.05)
    total = path.read_bytes().count(b"\n")
    with TestClient(create_app(db, load_classifier("fast"), config)) as client:
        login(client, "view")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and client.get("/healthz").json()["labelled"] < total:
            time.sleep(0.1)  # the whole stream labelled, so detection sees all of it
        found: list = []
        while time.monotonic() < deadline and not found:
            history = client.get("/api/v1/alerts").json()["history"]
            found = [
                a
                for a in history
                if a["kind"] == "hostility" and "off_purpose" in a["evidence"]["labels"]
            ]
            time.sleep(0.3)
    hostile = [a for a in history if a["kind"] == "hostility"]
    assert found and "2026-11-26T13:00" <= hostile[0]["at"] <= "2026-11-26T13:30"


def test_preflight_baseline_carries_the_off_purpose_share(tmp_path):
    path = tmp_path / "campaign.jsonl"
    _campaign(path)
    calm = tmp_path / "calm.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    calm.write_bytes(b"".join(line for line in lines if b'"2026-11-26T13:' not in line))
    runner = CliRunner()
    pre = runner.invoke(main, ["preflight", str(calm), "--json", "--purpose", PURPOSE])
    assert pre.exit_code == 0, pre.output
    baseline = orjson.loads(pre.stdout)["baseline"]
    assert baseline["off_purpose"]["high"] < 0.1  # the calm crowd is on purpose
    (tmp_path / "pre.json").write_bytes(pre.stdout.encode())
    result = runner.invoke(
        main,
        [
            "analyze",
            str(path),
            "--db",
            str(tmp_path / "b.db"),
            "--json",
            "--no-themes",
            "--purpose",
            PURPOSE,
            "--baseline",
            str(tmp_path / "pre.json"),
        ],
    )
    alerts = orjson.loads(result.stdout)["alerts"]
    hijack = [
        a for a in alerts if a["kind"] == "hostility" and "off_purpose" in a["evidence"]["labels"]
    ]
    assert hijack and hijack[0]["at"] < "2026-11-26T13:15"
