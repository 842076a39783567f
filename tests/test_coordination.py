"""Coordination evidence: repost cascades, per-account figures, burstiness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from stormwatch.coordination import account_figures, burstiness, repost_cascades
from stormwatch.records import Post
from stormwatch.store.sqlite import SQLiteStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _post(i: str, author: str, minutes: float, text: str = "hello", repost_of=None, **kw) -> Post:
    return Post(
        id=i,
        platform="x",
        text=text,
        created_at=T0 + timedelta(minutes=minutes),
        author_id=author,
        repost_of=repost_of,
        **kw,
    )


def test_cascades_count_reposts_accounts_and_speed(tmp_path):
    with SQLiteStore(tmp_path / "c.db") as store:
        posts = [_post("o1", "a", 0, "the original complaint"), _post("o2", "b", 5, "another")]
        posts += [_post(f"r{i}", f"u{i % 7}", 1 + i, repost_of="o1") for i in range(10)]
        posts += [_post("s1", "u1", 6, repost_of="o2"), _post("s2", "u2", 7, repost_of="o2")]
        store.add_posts(posts)
        [cascade] = repost_cascades(store, min_size=3)
    assert cascade["original"] == "o1" and cascade["text"] == "the original complaint"
    assert cascade["reposts"] == 10 and cascade["accounts"] == 7
    assert cascade["minutes_to_half"] == 6.0 and cascade["minutes_to_last"] == 10.0


def test_account_figures_and_burstiness(tmp_path):
    young = T0 - timedelta(days=2)
    with SQLiteStore(tmp_path / "a.db") as store:
        burst = [_post(f"b{i}", "loud", i * 0.5, author_created_at=young) for i in range(8)]
        steady = [_post(f"s{i}", "calm", i * 60) for i in range(4)]
        store.add_posts(burst + steady)
        figures = account_figures(store, None)
    loud, calm = figures
    assert loud["account"] == "x:loud" and loud["posts"] == 8
    assert loud["share_of_posts"] == round(8 / 12, 4)
    assert loud["account_age_days"] == 2.0 and calm["account_age_days"] is None
    assert loud["most_in_10_minutes"] == 8 and calm["most_in_10_minutes"] == 1
    assert burstiness(np.array([0, 60, 120, 180, 240])) == -1.0  # clockwork
    assert burstiness(np.array([0, 1, 2, 3, 10_000])) > 0.25  # a burst, then silence
    assert burstiness(np.array([0, 5])) is None
