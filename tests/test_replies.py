"""Answers posted back as replies: the right reference fields per platform, length checks
before sending, retries that never post twice, and credentials that never leak."""

from __future__ import annotations

import os

import orjson
import pytest

from stormwatch.fakes.bluesky_pds import DID, FakePDS
from stormwatch.fakes.mastodon import FakeMastodon, make_status
from stormwatch.fakes.x import FakeX, make_tweet
from stormwatch.replies import (
    BlueskyReplier,
    MastodonReplier,
    Outbox,
    ReplyError,
    XReplier,
    graphemes,
    mastodon_length,
    x_length,
)
from stormwatch.sources.bluesky import posts_from_bluesky
from stormwatch.sources.credentials import CredentialsError, Secret, load, redact
from stormwatch.sources.mastodon import posts_from_status
from stormwatch.sources.x import posts_from_v2
from stormwatch.store.sqlite import SQLiteStore

ROOT = "at://did:plc:root/app.bsky.feed.post/3kroot"


@pytest.fixture(autouse=True)
def _close_repliers(monkeypatch):
    """Every replier a test makes is closed at its end (their HTTP clients hold sockets)."""
    made = []
    for cls in (XReplier, MastodonReplier, BlueskyReplier):
        original = cls.__init__

        def init(self, *args, _original=original, **kwargs):
            _original(self, *args, **kwargs)
            made.append(self)

        monkeypatch.setattr(cls, "__init__", init)
    yield
    for replier in made:
        replier.close()


def _bluesky_event() -> dict:
    return {
        "did": "did:plc:asker",
        "time_us": 1_795_000_000_000_000,
        "kind": "commit",
        "commit": {
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": "3kask",
            "cid": "bafyask",
            "record": {
                "$type": "app.bsky.feed.post",
                "text": "when will fees come down? #AskX",
                "createdAt": "2026-11-26T12:00:00Z",
                "reply": {
                    "root": {"uri": ROOT, "cid": "bafyroot"},
                    "parent": {"uri": ROOT, "cid": "bafyroot"},
                },
            },
        },
    }


@pytest.fixture
def store(tmp_path):
    with SQLiteStore(tmp_path / "r.db") as s:
        tweet = make_tweet(1)
        status = make_status(2)
        event = _bluesky_event()
        s.add_posts(
            posts_from_v2(tweet, raw=orjson.dumps(tweet).decode())
            + posts_from_status(status, raw=orjson.dumps(status).decode())
            + posts_from_bluesky(event, raw=orjson.dumps(event).decode())
        )
        yield s


def test_x_reply_carries_the_tweet_it_answers_and_survives_a_503(store):
    with FakeX([], fail_posts=[503]) as fake:
        outbox = Outbox(store)
        reply_id = outbox.draft(1, "We are on it: fees are reviewed in March.", "mod")
        repliers = {"x": XReplier(Secret("x-user-token-1"), api=fake.url)}
        first = outbox.send(reply_id, repliers, now_ms=0)
        assert first["status"] == "failed" and first["next_attempt_ms"] == 5000  # 5 s back-off
        assert outbox.send_due(repliers, now_ms=1000) == []  # not due yet
        [second] = outbox.send_due(repliers, now_ms=5000)
        assert second["status"] == "sent" and second["remote_id"].startswith("2")
        assert outbox.send(reply_id, repliers)["attempts"] == 2  # sent: never again
    assert fake.posted == [
        {
            "text": "We are on it: fees are reviewed in March.",
            "reply": {"in_reply_to_tweet_id": make_tweet(1)["data"]["id"]},
        }
    ]
    assert fake.auth == ["Bearer x-user-token-1", "Bearer x-user-token-1"]


def test_x_send_whose_answer_was_lost_is_uncertain_not_resent(store):
    with FakeX([], fail_posts=["cut"]) as fake:
        outbox = Outbox(store)
        reply_id = outbox.draft(1, "Thanks for asking.")
        repliers = {"x": XReplier(Secret("x-user-token-1"), api=fake.url)}
        result = outbox.send(reply_id, repliers)
        assert result["status"] == "uncertain"
        assert outbox.send_due(repliers, now_ms=10**13) == []
    assert len(fake.posted) == 1


def test_length_is_checked_before_anything_is_sent(store):
    with FakeX([]) as fake:
        outbox = Outbox(store)
        reply_id = outbox.draft(1, "x" * 281)
        result = outbox.send(reply_id, {"x": XReplier(Secret("x-user-token-1"), api=fake.url)})
    assert result["status"] == "failed" and "limit is 280" in result["last_error"]
    assert result["next_attempt_ms"] == -1 and fake.posted == []


def test_length_rules():
    assert x_length("a" * 280) == 280
    assert x_length("日本" * 70) == 280  # CJK weighs 2
    assert x_length("see https://example.com/a/very/long/path/indeed ok") == 4 + 23 + 3
    assert x_length("👍🏽") == 2  # one emoji with a skin tone: one cluster, weight 2
    assert graphemes("👨‍👩‍👧 é") == 3  # a family emoji, a space, e + combining accent
    assert mastodon_length("@alice@example.social hi https://x.y/zzzzzzzzzzzzzzzzzzzzzzzzzz") == (
        len("@alice hi ") + 23
    )


def test_mastodon_reply_uses_the_instance_id_a_mention_and_one_idempotency_key(store):
    with FakeMastodon([], fail_posts=["cut"], max_characters=60) as fake:
        outbox = Outbox(store)
        replier = MastodonReplier(fake.url, Secret("masto-token-1"))
        too_long = outbox.send(outbox.draft(2, "y" * 70), {"mastodon": replier})
        assert "limit is 60" in too_long["last_error"]  # the instance's own limit
        reply_id = outbox.draft(2, "Yes, in March.")
        first = outbox.send(reply_id, {"mastodon": replier}, now_ms=0)
        assert first["status"] == "failed"  # the answer was lost; the post landed
        [second] = outbox.send_due({"mastodon": replier}, now_ms=10**7)
        assert second["status"] == "sent"
    assert len(fake.posted) == 1  # the retry carried the same key: no second status
    keys = {c["key"] for c in fake.post_calls}
    assert len(fake.post_calls) == 2 and len(keys) == 1 and None not in keys
    assert fake.posted[0] == {
        "status": "@u2 Yes, in March.",
        "in_reply_to_id": make_status(2)["id"],
        "visibility": "public",
    }


def test_bluesky_reply_threads_under_root_and_parent_and_is_written_once(store):
    # first a 503 (nothing written), then the record is written but the answer is lost: the
    # retry reuses the record key, and getRecord shows the second try landed
    with FakePDS("app-pass-1", fail_posts=[503, "cut"]) as pds:
        outbox = Outbox(store)
        replier = BlueskyReplier("host.example", Secret("app-pass-1"), pds=pds.url)
        reply_id = outbox.draft(3, "We will publish the numbers on Friday.")
        assert outbox.send(reply_id, {"bluesky": replier}, now_ms=0)["status"] == "failed"
        [sent] = outbox.send_due({"bluesky": replier}, now_ms=10**7)
    assert sent["status"] == "sent" and sent["remote_id"].startswith(f"at://{DID}/")
    [record] = pds.records.values()
    assert record["reply"] == {
        "root": {"uri": ROOT, "cid": "bafyroot"},
        "parent": {"uri": "at://did:plc:asker/app.bsky.feed.post/3kask", "cid": "bafyask"},
    }
    assert len(pds.calls) == 2 and pds.calls[0]["rkey"] == pds.calls[1]["rkey"]


def test_dry_run_plan_shows_the_request_without_secrets(store):
    from stormwatch.replies import target_of

    planned = XReplier(Secret("x-user-token-1")).plan(target_of(store, 1), "Hello", "k")
    shown = orjson.dumps(planned.shown()).decode()
    assert "x-user-token-1" not in shown and "Bearer ***" in shown
    assert planned.json["reply"]["in_reply_to_tweet_id"] == make_tweet(1)["data"]["id"]


def test_credentials_file_must_be_private_and_secrets_never_reach_the_store(tmp_path, store):
    path = tmp_path / "creds.toml"
    path.write_text('[x]\nuser_token = "very-secret-token-42"\n[mastodon]\ntoken = "m-tok-42"\n')
    os.chmod(path, 0o644)
    with pytest.raises(CredentialsError, match="chmod 600"):
        load(path, environ={})
    os.chmod(path, 0o600)
    creds = load(path, environ={"STORMWATCH_MASTODON_TOKEN": "env-wins-77"})
    assert creds.get("mastodon", "token").reveal() == "env-wins-77"
    assert "very-secret-token-42" not in repr(creds.values)
    assert redact("failed with very-secret-token-42 in it") == "failed with *** in it"
    with FakeX([], fail_posts=[400]) as fake:
        outbox = Outbox(store)
        result = outbox.send(
            outbox.draft(1, "hi"), {"x": XReplier(creds.get("x", "user_token"), api=fake.url)}
        )
    assert result["status"] == "failed"
    store.db.execute("PRAGMA wal_checkpoint(FULL)")
    assert b"very-secret-token-42" not in (tmp_path / "r.db").read_bytes()


def test_deleted_post_cannot_be_answered(store):
    store.delete_posts("x", [make_tweet(1)["data"]["id"]])
    with pytest.raises(ReplyError, match="deleted"):
        Outbox(store).draft(1, "too late")
