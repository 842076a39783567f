import sqlite3
from datetime import UTC, datetime

import numpy as np
import pytest

from stormwatch.core.labels import Layout, Task
from stormwatch.records import Post
from stormwatch.store import migrations
from stormwatch.store.sqlite import SQLiteStore

LAYOUT = Layout(
    (
        Task("sentiment", ("negative", "neutral", "positive")),
        Task("offensive", ("not_offensive", "offensive")),
    )
)


def post(i: int, **kw) -> Post:
    base = dict(
        id=str(i),
        platform="x",
        text=f"post {i}",
        author_id=f"a{i % 3}",
        author_handle=f"h{i % 3}",
        created_at=datetime(2020, 1, 1, i, tzinfo=UTC),
    )
    base.update(kw)
    return Post(**base)


def test_duplicates_stored_once_and_counted(tmp_path):
    with SQLiteStore(tmp_path / "s.db") as store:
        first = store.add_posts([post(1), post(2), post(2)])
        again = store.add_posts([post(2), post(3)])
        assert (first.inserted, first.duplicates) == (2, 1)
        assert (again.inserted, again.duplicates) == (1, 1)
        # Same id on another platform is another post.
        assert store.add_posts([post(1, platform="mastodon")]).inserted == 1
        counts = store.counts()
        assert counts["posts"] == 4
        assert counts["first"] == datetime(2020, 1, 1, 1, tzinfo=UTC)
        assert counts["last"] == datetime(2020, 1, 1, 3, tzinfo=UTC)


def test_authors_upserted_keeping_known_fields(tmp_path):
    with SQLiteStore(tmp_path / "s.db") as store:
        store.add_posts([post(1, author_id="u", author_followers=10, author_handle="old")])
        store.add_posts([post(2, author_id="u", author_followers=None, author_handle="new")])
        row = store.db.execute(
            "SELECT handle, followers FROM authors WHERE author_id='u'"
        ).fetchone()
        assert row == ("new", 10)
        assert store.counts()["authors"] == 1


def test_scores_round_trip_and_unscored_sweep(tmp_path):
    with SQLiteStore(tmp_path / "s.db") as store:
        store.add_posts([post(i) for i in range(5)] + [post(9, repost_of="1")])
        model = store.register_model("m", "1", LAYOUT)
        pending = store.unscored(model, 0, 3)
        assert [text for _, text in pending] == ["post 0", "post 1", "post 2"]
        proba = np.tile(np.array([0.7, 0.2, 0.1, 0.4, 0.6], np.float32), (3, 1))
        store.add_scores(model, [r for r, _ in pending], proba)
        assert [t for _, t in store.unscored(model, 0, 10)] == ["post 3", "post 4", "post 9"]
        scored = store.scores(model)
        np.testing.assert_array_equal(scored.proba, proba)
        assert scored.created_ms.tolist() == [0 + 3600_000 * h + 1577836800000 for h in range(3)]
        assert store.latest_model() == model
        with pytest.raises(ValueError, match="do not fit"):
            store.add_scores(model, [1, 2], proba)


def test_reposts_excluded_from_scores_unless_asked(tmp_path):
    with SQLiteStore(tmp_path / "s.db") as store:
        store.add_posts([post(1), post(2, repost_of="1")])
        model = store.register_model("m", "1", LAYOUT)
        store.add_scores(model, [1, 2], np.full((2, 5), 0.5, np.float32))
        assert len(store.scores(model)) == 1
        assert len(store.scores(model, include_reposts=True)) == 2


def test_register_model_refuses_changed_layout(tmp_path):
    with SQLiteStore(tmp_path / "s.db") as store:
        store.register_model("m", "1", LAYOUT)
        other = Layout((Task("offensive", ("not_offensive", "offensive")),))
        with pytest.raises(RuntimeError, match="bump the model version"):
            store.register_model("m", "1", other)


def test_migrations_apply_once_and_refuse_newer_schema(tmp_path):
    path = tmp_path / "s.db"
    SQLiteStore(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    assert migrations.apply(db) == []  # already current
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute("INSERT INTO schema_migrations VALUES (999, 'future', 0)")
    db.close()
    with pytest.raises(RuntimeError, match="newer than this Stormwatch"):
        SQLiteStore(path)


def test_iter_posts_returns_what_was_stored(tmp_path):
    original = post(1, hashtags=("a", "b"), urls=("https://x",), like_count=3, lang="en")
    with SQLiteStore(tmp_path / "s.db") as store:
        store.add_posts([original])
        ((stored, proba),) = list(store.iter_posts(None))
        assert proba is None
        assert stored.post.hashtags == ("a", "b") and stored.post.urls == ("https://x",)
        assert stored.post.created_at == original.created_at
        assert stored.post.author_handle == "h1" and stored.post.like_count == 3


def test_a_version_1_store_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_ms INTEGER NOT NULL)"
    )
    migrations.create_core_tables(db)
    db.execute("INSERT INTO schema_migrations VALUES (1, 'create_core_tables', 0)")
    db.execute("INSERT INTO posts (platform, post_id, text) VALUES ('x', '1', 'old post')")
    db.close()
    with SQLiteStore(path) as store:
        versions = [r[0] for r in store.db.execute("SELECT version FROM schema_migrations")]
        assert versions == [1, 2, 3, 4, 5, 6, 7]
        assert store.db.execute("SELECT english FROM posts").fetchone() == (1,)
        assert store.counts()["non_english"] == 0


def test_post_count_stays_exact_through_duplicates_and_a_failed_batch(tmp_path):
    from stormwatch.records import Post

    with SQLiteStore(tmp_path / "n.db") as store:
        store.add_posts([Post(str(i), "x", f"post {i}") for i in range(10)])
        store.add_posts([Post(str(i), "x", f"again {i}") for i in range(5, 15)])
        with pytest.raises(RuntimeError), store.transaction() as db:
            db.execute("INSERT INTO posts (platform, post_id, text) VALUES ('x', 'lost', 't')")
            raise RuntimeError("crash mid-batch")
        store.add_posts([Post("last", "m", "after the failure")])
        exact = store.db.execute("SELECT count(*) FROM posts").fetchone()[0]
        assert store.post_count() == exact == 16
