"""`stormwatch listen` and `stormwatch reply` end to end, against fakes on 127.0.0.1."""

from __future__ import annotations

import orjson
from click.testing import CliRunner

from stormwatch.cli import main
from stormwatch.fakes.jetstream import FakeJetstream
from stormwatch.fakes.x import FakeX, make_tweet
from stormwatch.sources.x import posts_from_v2
from stormwatch.store.sqlite import SQLiteStore


def test_listen_follows_a_bluesky_tag_into_the_store(tmp_path):
    db = tmp_path / "askx.db"
    with FakeJetstream([[("send", 6), ("noise", 4), ("malformed",)]]) as fake:
        result = CliRunner().invoke(
            main,
            [
                "listen",
                "--db",
                str(db),
                "--bluesky-tag",
                "AskX",
                "--jetstream-url",
                fake.url,
                "--duration",
                "3",
                "--json",
            ],
        )
    assert result.exit_code == 0, result.output
    status = orjson.loads(result.stdout[result.stdout.index("{") :])
    assert status["stored"] == 6 and status["rejects"] == 1
    assert status["sources"][0]["dropped"] == {"not tagged": 4, "malformed": 1}
    assert status["scored"] == 6
    with SQLiteStore(db) as store:
        assert store.post_count() == 6 and store.cursor("bluesky") is not None


def test_listen_without_credentials_says_which_variable_to_set(tmp_path):
    result = CliRunner().invoke(
        main, ["listen", "--db", str(tmp_path / "x.db"), "--x-rule", "#AskX"], env={}
    )
    assert result.exit_code == 2
    assert "STORMWATCH_X_BEARER_TOKEN" in result.output


def test_reply_is_a_dry_run_until_send(tmp_path):
    db = tmp_path / "r.db"
    tweet = make_tweet(3)
    with SQLiteStore(db) as store:
        store.add_posts(posts_from_v2(tweet, raw=orjson.dumps(tweet).decode()))
    env = {"STORMWATCH_X_USER_TOKEN": "user-token-555"}
    with FakeX([]) as fake:
        args = [
            "reply",
            str(db),
            "--post",
            tweet["data"]["id"],
            "--text",
            "Monday.",
            "--x-api",
            fake.url,
            "--json",
        ]
        dry = CliRunner().invoke(main, args, env=env)
        assert dry.exit_code == 0, dry.output
        plan = orjson.loads(dry.stdout)
        assert plan["dry_run"] and fake.posted == []
        assert plan["json"] == {
            "text": "Monday.",
            "reply": {"in_reply_to_tweet_id": tweet["data"]["id"]},
        }
        assert "user-token-555" not in dry.output
        sent = CliRunner().invoke(main, [*args, "--send"], env=env)
        again = CliRunner().invoke(main, [*args, "--send"], env=env)
    assert sent.exit_code == 0 and again.exit_code == 0, sent.output
    assert len(fake.posted) == 1  # the same answer twice is one reply
    [row] = orjson.loads(again.stdout)
    assert row["status"] == "sent" and row["attempts"] == 1
