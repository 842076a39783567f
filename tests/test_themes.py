"""Themes end to end with the shipped static embedding: found, described, stored with
stable ids, exported, assigned live, and printed by `stormwatch themes`."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pytest
from click.testing import CliRunner

from stormwatch.cli import main
from stormwatch.export import records
from stormwatch.models.embedding import load_embedder
from stormwatch.records import Post
from stormwatch.store.sqlite import SQLiteStore
from stormwatch.store.themes import ThemeStore
from stormwatch.themes import ThemeTracker, describe_themes, find_themes

TOPICS = {
    "fees": (
        "why did my {a} fees go up again",
        "the overdraft {a} fee is a scandal",
        "{a} charges on my account doubled this month",
        "hidden {a} fees on every card statement",
    ),
    "bailout": (
        "taxpayers paid the {a} bailout and you paid bonuses",
        "remember the {a} bailout in 2008",
        "bonuses after a {a} bailout are obscene",
        "who got the {a} bailout money",
    ),
    "climate": (
        "stop funding {a} coal and oil projects",
        "your {a} fossil fuel loans are burning the planet",
        "climate change and {a} pipelines financed by you",
        "divest from {a} oil sands now",
    ),
    "football": (
        "what a {a} goal in the final minute",
        "the {a} match last night was amazing",
        "our {a} striker scored twice in the derby",
        "penalty shootout {a} drama at the stadium",
    ),
}
FILLERS = ("huge", "new", "latest", "crazy", "total", "massive", "big", "awful", "real", "sad")
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _posts(topic: str, n: int, start: int, seed: int) -> list[Post]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        text = rng.choice(TOPICS[topic]).format(a=rng.choice(FILLERS))
        out.append(
            Post(
                id=f"{topic}-{start + i}",
                platform="x",
                text=f"@AcmeBank {text} #AskAcme",
                created_at=T0 + timedelta(minutes=start + i),
                author_id=str(rng.randrange(400)),
                lang="en",
            )
        )
    return out


@pytest.fixture(scope="module")
def embedder():
    return load_embedder("static")


@pytest.fixture
def store(tmp_path):
    with SQLiteStore(tmp_path / "t.db") as s:
        s.add_posts(
            [
                p
                for i, t in enumerate(("fees", "bailout", "climate"))
                for p in _posts(t, 150, i * 1000, i)
            ]
        )
        yield s


def test_static_embedding_puts_same_topic_posts_closer(embedder):
    vectors = embedder.embed(
        ["why did my bank fees go up", "the overdraft fee is a scandal", "what a goal in the final"]
    )
    assert vectors.shape == (3, 256)
    assert abs(float((vectors**2).sum(axis=1).mean()) - 1) < 1e-4
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert (embedder.embed([""]) == 0).all()  # no words: a zero row, not NaN
    # Repeated texts are embedded once and every copy gets its own row back.
    texts = ["the overdraft fee is a scandal", "", "what a goal", "the overdraft fee is a scandal"]
    repeated = embedder.embed(texts)
    np.testing.assert_array_equal(repeated[[0, 3]], vectors[[1, 1]])
    np.testing.assert_array_equal(repeated[2], embedder.embed(["what a goal"])[0])
    assert (repeated[1] == 0).all()


def test_find_describe_export_and_stable_ids(store, embedder):
    figures = find_themes(store, embedder)
    assert figures["themes"] >= 3 and figures["noise"] <= 0.3
    themes = describe_themes(store, None)
    by_topic = {}
    for t in themes:
        assert {"id", "label", "keywords", "size", "share", "examples", "rise", "mix"} <= set(t)
        assert t["share"]["low"] <= t["share"]["estimate"] <= t["share"]["high"]
        assert 1 <= len(t["examples"]) <= 5
        words = " ".join(t["keywords"]) + t["label"]
        assert "askacme" not in words and "acmebank" not in words  # campaign terms excluded
        topics = {e["text"].split()[1] for e in t["examples"]}
        by_topic[t["id"]] = t
    # the three subjects come out as separate themes, named by their own words
    labels = " | ".join(t["label"] + " " + " ".join(t["keywords"]) for t in themes)
    assert "bailout" in labels and "fee" in labels and ("oil" in labels or "climate" in labels)
    ids_before = sorted(by_topic)
    find_themes(store, embedder)  # again, same posts: the same themes keep their ids
    assert sorted(t["id"] for t in describe_themes(store, None)) == ids_before
    exported = {r["id"]: r["theme"] for r in records(store)}
    stored = dict(
        store.db.execute(
            "SELECT p.post_id, t.theme_id FROM post_themes t JOIN posts p ON p.rowid = t.post_rowid"
        ).fetchall()
    )
    assert exported == stored and set(exported.values()) - {None} == set(ids_before)
    assert topics


def test_tracker_assigns_new_posts_and_proposes_a_new_theme(store, embedder):
    find_themes(store, embedder)
    before = {t["id"] for t in ThemeStore(store.db).active()}
    store.add_posts(_posts("fees", 40, 5000, 9))
    tracker = ThemeTracker(store, embedder, propose_at=100)
    first = tracker.update()
    assert first["assigned"] >= 24 and first["new_themes"] == 0  # most join their theme
    store.add_posts(_posts("football", 160, 6000, 11))
    second = tracker.update()
    after = ThemeStore(store.db).active()
    new = [t for t in after if t["id"] not in before]
    assert second["new_themes"] >= 1 and new and min(t["id"] for t in new) > max(before)
    assert any(
        w in " ".join(new[0]["keywords"])
        for w in ("goal", "match", "striker", "penalty", "stadium", "derby")
    )


def test_themes_command_prints_and_answers_json(tmp_path, store):
    path = store.path
    store.close()
    result = CliRunner().invoke(main, ["themes", path, "--json", "--exclude", "@AcmeBank"])
    assert result.exit_code == 0, result.output
    found = orjson.loads(result.stdout)
    assert len(found) >= 3 and all(t["examples"] for t in found)
    table = CliRunner().invoke(main, ["themes", path])
    assert "Themes" in table.output and found[0]["label"].split(" · ")[0] in table.output


def test_big_stores_are_themed_from_a_sample_and_the_rest_assigned(store, embedder):
    figures = find_themes(store, embedder, max_posts=200)  # 450 posts: 250 assigned after
    assert figures["themes"] >= 3 and figures["noise"] <= 0.4
    rows = store.db.execute("SELECT count(*), count(theme_id) FROM post_themes").fetchone()
    assert rows[0] == 450 and rows[1] >= 0.6 * 450
    themed = dict(
        store.db.execute(
            "SELECT p.post_id, t.theme_id FROM post_themes t JOIN posts p ON p.rowid = t.post_rowid"
        ).fetchall()
    )
    # each theme holds one subject, whether its posts were in the sample or joined later
    for theme in {v for v in themed.values() if v is not None}:
        topics = [k.split("-")[0] for k, v in themed.items() if v == theme]
        assert max(topics.count(t) for t in set(topics)) >= 0.9 * len(topics)
