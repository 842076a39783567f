"""`stormwatch replay` against a real console: timing, resume after an interruption, 429s."""

from __future__ import annotations

import time

import orjson
import pytest
from click.testing import CliRunner

from campaign import campaign_posts
from live_server import running
from stormwatch.cli import main
from stormwatch.export import post_record
from stormwatch.models import load_classifier
from stormwatch.replay import ReplayError, _due_batches, replay_file
from stormwatch.store.sqlite import SQLiteStore
from test_web_api import setup_db


@pytest.fixture(scope="module")
def classifier():
    return load_classifier("fast")


@pytest.fixture
def recording(tmp_path):
    path = tmp_path / "campaign.jsonl"
    path.write_bytes(b"".join(orjson.dumps(post_record(p)) + b"\n" for p in campaign_posts()))
    return path


def test_batches_keep_relative_timing_sped_up():
    posts = campaign_posts()  # one post a minute, 127 minutes in all
    batches = list(_due_batches(iter(posts), speed=60.0, batch=100))
    # At 60x a minute of campaign is a second of replay: one post per batch, due 1 s apart.
    assert len(batches) == len(posts)
    assert [round(due) for due, _ in batches[:3]] == [0, 1, 2]
    assert batches[-1][0] == pytest.approx(127.0)
    # Sped up far enough, posts due together travel together, at most `batch` at a time.
    fast = list(_due_batches(iter(posts), speed=1e6, batch=50))
    assert [len(group) for _, group in fast] == [50, 50, 23]


def test_an_interrupted_replay_resumes_without_loss(tmp_path, recording, classifier):
    db = tmp_path / "live.db"
    token = setup_db(db)
    state = tmp_path / "campaign.replay"
    sent = []

    def stop_after_three(n: int) -> None:
        sent.append(n)
        if len(sent) == 3:
            raise KeyboardInterrupt

    with running(db, classifier) as url:
        with pytest.raises(KeyboardInterrupt):
            replay_file(recording, url, token, 1e6, 20, state, stop_after_three)
        assert orjson.loads(state.read_bytes()) == {"sent": 60}
        result = replay_file(recording, url, token, 1e6, 20, state)
        assert result.sent == 123 and result.accepted == 63 and result.duplicate == 0
        with SQLiteStore(db) as store:
            assert store.post_count() == 123
        with pytest.raises(ReplayError, match="refused the token"):
            replay_file(recording, url, "wrong", 1e6, 20, None)


def test_replay_waits_out_429_and_loses_nothing(tmp_path, recording, classifier):
    from stormwatch.web.app import Config

    db = tmp_path / "bp.db"
    token = setup_db(db)
    naps = []
    with running(db, classifier, Config(max_backlog=30, max_wait=0.5)) as url:
        result = replay_file(
            recording, url, token, 1e6, 20, None, sleep=lambda s: (naps.append(s), time.sleep(s))
        )
        assert result.retried > 0 and all(n >= 1 for n in naps if n >= 1)
        assert result.accepted == 123
    with SQLiteStore(db) as store:
        assert store.post_count() == 123


def test_token_and_user_commands(tmp_path):
    db = tmp_path / "c.db"
    runner = CliRunner()
    made = runner.invoke(main, ["token", "create", "--db", str(db), "--name", "collector"])
    assert made.exit_code == 0
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("sw_") and len(token) > 40
    with SQLiteStore(db) as store:
        from stormwatch.store.console import ConsoleStore

        console = ConsoleStore(store.db)
        assert console.token_name(token) == "collector"
        stored = store.db.execute("SELECT token_hash FROM api_tokens").fetchone()[0]
        assert token not in stored
    added = runner.invoke(
        main,
        ["user", "add", "ann", "--db", str(db), "--role", "admin", "--password-stdin"],
        input="a long enough secret\n",
    )
    assert added.exit_code == 0
    short = runner.invoke(
        main, ["user", "add", "bob", "--db", str(db), "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 1 and "8 characters" in short.output
    with SQLiteStore(db) as store:
        console = ConsoleStore(store.db)
        assert console.check_password("ann", "a long enough secret") == "admin"
        assert console.check_password("ann", "wrong") is None
        assert console.check_password("nobody", "a long enough secret") is None
        row = store.db.execute("SELECT password_hash FROM users").fetchone()[0]
        assert row.startswith("$argon2id$")
