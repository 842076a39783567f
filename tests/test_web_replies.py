"""The console with live sources: answers from the queue posted back as replies (to a fake
Mastodon on 127.0.0.1), and the sources' status page and JSON twin."""

from __future__ import annotations

import time

import orjson
import pytest
from fastapi.testclient import TestClient

from stormwatch.fakes.mastodon import FakeMastodon, make_status
from stormwatch.models import load_classifier
from stormwatch.replies import MastodonReplier
from stormwatch.sources.credentials import Secret
from stormwatch.sources.mastodon import posts_from_status
from stormwatch.store.sqlite import SQLiteStore
from stormwatch.web.app import Config, create_app
from test_web_api import PASSWORD, login, setup_db

HOSTILE = '<script>alert("x")</script>'
EVIL_LINK = "javascript:alert(document.cookie)"


@pytest.fixture(scope="module")
def classifier():
    return load_classifier("fast")


def _store_with_question(path) -> str:
    token = setup_db(path)
    status = make_status(7, "When will you refund the fees?")
    with SQLiteStore(path) as store:
        store.add_posts(posts_from_status(status, raw=orjson.dumps(status).decode()))
        store.db.execute(
            "INSERT INTO source_health (source, snapshot, updated_ms) VALUES (?, ?, ?)",
            (
                "mastodon",
                orjson.dumps(
                    {
                        "source": "mastodon",
                        "state": "waiting",
                        "connected_for_s": None,
                        "received": 5,
                        "posts": 4,
                        "posts_per_min": 4,
                        "reconnects": 2,
                        "last_error": HOSTILE,
                        "next_try_in_s": 0.5,
                        "lag_s": 1.5,
                        "backfilled": 3,
                        "dropped": {"malformed": 1},
                    }
                ).decode(),
                int(time.time() * 1000),
            ),
        )
    return token


def test_answer_in_the_queue_is_posted_as_a_reply(tmp_path, classifier):
    db = tmp_path / "c.db"
    _store_with_question(db)
    with FakeMastodon([]) as fake:
        replier = MastodonReplier(fake.url, Secret("masto-token-9"))
        config = Config(repliers={"mastodon": replier}, reply_every_s=0.1)
        with TestClient(create_app(db, classifier, config)) as client:
            csrf = login(client, "mod")
            answered = client.post(
                "/api/v1/questions/1/answer",
                json={"answer": "Refunds go out on Monday."},
                headers={"x-csrf-token": csrf},
            ).json()
            assert answered["reply"]["status"] == "draft" and answered["reply"]["will_send"]
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not fake.posted:
                time.sleep(0.05)
            time.sleep(0.3)
            status = client.get("/api/v1/sources").json()
        replier.close()
    assert fake.posted == [
        {
            "status": "@u7 Refunds go out on Monday.",
            "in_reply_to_id": make_status(7)["id"],
            "visibility": "public",
        }
    ]
    [reply] = status["replies"]["recent"]
    assert reply["status"] == "sent" and reply["remote_url"].startswith("https://fake.social/")
    assert status["replies"]["counts"] == {"sent": 1}


def test_without_repliers_answers_stay_drafts_and_the_status_page_escapes(tmp_path, classifier):
    db = tmp_path / "c.db"
    _store_with_question(db)
    with TestClient(create_app(db, classifier, Config())) as client:
        csrf = login(client, "mod")
        answered = client.post(
            "/api/v1/questions/1/answer",
            json={"answer": f"Soon {HOSTILE}"},
            headers={"x-csrf-token": csrf},
        ).json()
        assert answered["reply"] == {"reply_id": 1, "status": "draft", "will_send": False}
        page = client.get("/status").text
        data = client.get("/status", headers={"accept": "application/json"}).json()
    assert HOSTILE not in page and "&lt;script&gt;" in page
    assert "stormwatch reply DB --pending --send" in page
    [source] = data["sources"]
    assert source["source"] == "mastodon" and source["reconnects"] == 2 and not source["stale"]
    assert data["replies"]["counts"] == {"draft": 1}
    assert PASSWORD not in page


def test_a_reply_link_that_is_not_https_is_never_shown(tmp_path, classifier):
    db = tmp_path / "c.db"
    _store_with_question(db)
    with TestClient(create_app(db, classifier, Config())) as client:
        csrf = login(client, "mod")
        client.post(
            "/api/v1/questions/1/answer",
            json={"answer": "Refunds go out on Monday."},
            headers={"x-csrf-token": csrf},
        )
        with SQLiteStore(db) as store:  # as if the platform had answered with this link
            store.db.execute("UPDATE replies SET status = 'sent', remote_url = ?", (EVIL_LINK,))
        pages = [client.get(path).text for path in ("/status", "/queue")]
        data = client.get("/status", headers={"accept": "application/json"}).json()
    [reply] = data["replies"]["recent"]
    assert reply["status"] == "sent" and reply["remote_url"] is None
    assert all("javascript:" not in page for page in pages)
