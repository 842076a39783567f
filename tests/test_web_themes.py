"""The console's themes: found live once enough posts are labelled, a page and its JSON
twin, a page per theme, and the posts filter by theme."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from stormwatch.models import load_classifier
from stormwatch.records import Post
from stormwatch.store.sqlite import SQLiteStore
from stormwatch.web.app import Config, create_app
from test_themes import _posts
from test_web_api import login, setup_db

HOSTILE = "<img src=x onerror=alert(1)> why did my huge fees go up again"


@pytest.fixture(scope="module")
def classifier():
    return load_classifier("fast")


def test_themes_found_live_shown_escaped_and_filterable(tmp_path, classifier):
    db = tmp_path / "w.db"
    setup_db(db)
    posts = [
        p for i, t in enumerate(("fees", "bailout", "climate")) for p in _posts(t, 120, i * 1000, i)
    ]
    posts += [
        Post(id=f"hostile-{i}", platform="x", text=f"{HOSTILE} {i}", lang="en", author_id=str(i))
        for i in range(40)
    ]  # enough to form a theme of their own, so the pages show them
    with SQLiteStore(db) as store:
        store.add_posts(posts)
    config = Config(themes_every_s=0.2, themes_after=100, max_wait=0.05)
    with TestClient(create_app(db, classifier, config)) as client:
        login(client, "mod")
        deadline = time.monotonic() + 30
        themes = []
        while time.monotonic() < deadline and not themes:
            themes = client.get("/api/v1/themes").json()["themes"]
            time.sleep(0.2)
        assert len(themes) >= 3
        page = client.get("/themes").text
        fees = next(
            t
            for t in themes
            if any("hostile" in e["text"] or "onerror" in e["text"] for e in t["examples"])
        )
        detail = client.get(f"/themes/{fees['id']}").text
        filtered = client.get("/api/v1/posts", params={"theme": fees["id"], "limit": 500}).json()
        missing = client.get("/themes/999")
    for html in (page, detail):
        assert "<img src=x" not in html, html[html.index("<img src=x") - 300 :][:600]
    assert "&lt;img src=x" in page + detail
    assert all(t["label"] in page for t in themes)
    ids = {p["id"] for p in filtered["posts"]}
    with SQLiteStore(db) as store:
        members = {
            r[0]
            for r in store.db.execute(
                "SELECT p.post_id FROM post_themes t JOIN posts p ON p.rowid = t.post_rowid "
                "WHERE t.theme_id = ?",
                (fees["id"],),
            )
        }
    assert ids and ids <= members and len(ids) == min(len(members), 500)
    assert missing.status_code == 404
