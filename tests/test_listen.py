"""`listen`: three live sources at once into one SQLite store through the single writer,
scored by the real fast tier; deletions tombstoned, edits rescored, restarts resumed."""

from __future__ import annotations

import time

import orjson
import pytest

from live_sources import FakeClock
from stormwatch.fakes.jetstream import FakeJetstream
from stormwatch.fakes.mastodon import FakeMastodon
from stormwatch.fakes.x import FakeX
from stormwatch.listen import Listener
from stormwatch.models import load_classifier
from stormwatch.sources.credentials import Secret
from stormwatch.sources.jetstream import Jetstream
from stormwatch.sources.mastodon_stream import MastodonStream
from stormwatch.sources.x_stream import XStream
from stormwatch.store.sqlite import SQLiteStore


@pytest.fixture(scope="module")
def fast():
    return load_classifier("fast")


def _wait(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_three_platforms_into_one_store_exactly_once(tmp_path, fast):
    db = tmp_path / "live.db"
    with (
        FakeX([[("send", 6), ("repeat",), ("malformed",), ("cut",)], [("send", 2)]]) as fx,
        FakeMastodon([[("send", 5), ("repeat",), ("delete", 0), ("edit", 1), ("send", 1)]]) as fm,
        FakeJetstream([[("send", 4), ("noise", 10), ("drop",)], [("send", 3)]]) as fj,
    ):
        sources = [
            XStream(["#AskX"], Secret("x-bearer-abc"), api=fx.url, stall_s=2, clock=FakeClock()),
            MastodonStream(fm.url, "AskX", Secret("masto-abc"), stall_s=2, clock=FakeClock()),
            Jetstream(["AskX"], url=fj.url, stall_s=2, flush_s=0.05, clock=FakeClock()),
        ]
        listener = Listener(db, sources, classifier=fast, health_every_s=0.2)
        listener.start()
        expected = 6 + 1 + 2 + 6 + 7
        assert _wait(lambda: listener.totals.stored >= expected and listener.totals.edited >= 1)
        assert _wait(lambda: listener.live.backlog == 0)
        listener.stop()
    with SQLiteStore(db) as store:
        rows = store.db.execute(
            "SELECT platform, post_id, deleted_ms IS NOT NULL, text FROM posts"
        ).fetchall()
        ids = [(r[0], r[1]) for r in rows]
        assert len(ids) == len(set(ids)) == expected  # each post once, repeats ignored
        assert {r[1] for r in rows if r[0] == "x"} == {t["data"]["id"] for t in fx.tweets}
        assert {r[1] for r in rows if r[0] == "bluesky"} == set(fj.posts)
        assert {r[1] for r in rows if r[0] == "mastodon"} == {s["uri"] for s in fm.statuses}
        deleted = [r for r in rows if r[2]]
        assert [(d[1], d[3]) for d in deleted] == [(fm.statuses[0]["uri"], "")]  # text gone
        edited = [r[3] for r in rows if r[1] == fm.statuses[1]["uri"]]
        assert edited == ["edited: what is your plan? #AskX"]
        model = store.latest_model()
        scored = store.scores(model, include_reposts=True, include_non_english=True)
        assert len(scored) == expected - 1  # every live post scored; the deleted one not
        # cursors were committed with the posts
        assert store.cursor("x") == max((t["data"]["id"] for t in fx.tweets), key=int)
        assert store.cursor("bluesky") is not None and store.cursor("mastodon") is not None
        health = dict(store.db.execute("SELECT source, snapshot FROM source_health").fetchall())
        assert set(health) == {"x", "mastodon", "bluesky"}
        assert orjson.loads(health["x"])["dropped"]["malformed"] == 1
    rejects = (tmp_path / "live.rejects.jsonl").read_text().splitlines()
    assert [orjson.loads(r)["source"] for r in rejects] == ["x"]
    status = listener.status()
    assert status["stored"] == expected and status["deleted"] == 1
    assert status["scored_lag_s"]["max"] is not None


def test_restart_resumes_every_source_from_the_store(tmp_path, fast):
    db = tmp_path / "live.db"
    with FakeJetstream([[("send", 5), ("close",)], [("send", 2)]]) as fj:
        first = Listener(db, [Jetstream(["AskX"], url=fj.url, flush_s=0.05)])
        first.start()
        assert _wait(lambda: first.totals.stored == 5)
        first.stop()
        for _ in range(3):  # made while nobody listened
            fj._post("send")
        again = Jetstream(["AskX"], url=fj.url, flush_s=0.05)
        second = Listener(db, [again])
        assert again.cursor == str(fj.log[4]["time_us"])  # restored from the store
        second.start()
        assert _wait(lambda: second.totals.stored == 5)
        second.stop()
    with SQLiteStore(db) as store:
        assert store.post_count() == 10
