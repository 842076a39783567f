"""Webhook deliveries against a local fake receiver on 127.0.0.1."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest
from click.testing import CliRunner

from stormwatch.cli import main
from stormwatch.webhooks import Webhook, deliver, signature, trial_alert

SECRET = "shared-secret"


@contextmanager
def receiver(fail_first: int = 0, status: int = 503) -> Iterator[tuple[str, list[dict]]]:
    """A receiver that answers `status` to the first `fail_first` requests, then 204, and
    records every request (headers, body, whether the signature checked out)."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            stamp = self.headers.get("X-Stormwatch-Timestamp", "")
            given = self.headers.get("X-Stormwatch-Signature", "")
            valid = hmac.compare_digest(given, signature(SECRET, stamp, body))
            seen.append({"body": orjson.loads(body), "signed": valid})
            self.send_response(status if len(seen) <= fail_first else 204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", seen
    finally:
        server.shutdown()
        server.server_close()


ALERT = {
    "level": "warning",
    "kind": "hostility",
    "at": "2013-11-13T20:09:00.000Z",
    "evidence": {"labels": {"negative": {"share": 0.8, "low": 0.52, "baseline": 0.47}}},
    "recommendation": "tighten moderation",
}


def test_a_json_delivery_is_signed_and_retried_until_it_lands(tmp_path):
    naps = []
    with receiver(fail_first=2) as (url, seen):
        result = deliver(Webhook(url, "json", SECRET), ALERT, tmp_path / "dead.jsonl", naps.append)
    assert result.ok and result.attempts == 3 and naps == [1, 2]
    assert all(r["signed"] for r in seen) and seen[-1]["body"] == {"alert": ALERT}
    assert not (tmp_path / "dead.jsonl").exists()


def test_slack_gets_its_own_shape():
    with receiver() as (url, seen):
        assert deliver(Webhook(url, "slack"), ALERT, None, lambda s: None).ok
    body = seen[0]["body"]
    assert body["text"].startswith("WARNING — Hostility beyond the baseline: negative 80%")
    assert body["blocks"][0]["text"]["text"] == body["text"]


def test_a_delivery_that_keeps_failing_goes_to_the_dead_letters(tmp_path):
    dead = tmp_path / "dead.jsonl"
    with receiver(fail_first=99) as (url, seen):
        result = deliver(Webhook(url, "json", SECRET, tries=3), ALERT, dead, lambda s: None)
    assert not result.ok and len(seen) == 3
    record = orjson.loads(dead.read_bytes().splitlines()[0])
    assert record["alert"] == ALERT and record["status"] == 503 and record["attempts"] == 3
    # A refusal (4xx other than 429) is not retried.
    with receiver(fail_first=99, status=400) as (url, seen):
        refused = deliver(Webhook(url, "json", SECRET), ALERT, dead, lambda s: None)
    assert not refused.ok and len(seen) == 1


def test_unsigned_json_hooks_and_odd_urls_are_refused():
    with pytest.raises(ValueError, match="secret"):
        Webhook("http://127.0.0.1:9/x", "json")
    with pytest.raises(ValueError, match="http"):
        Webhook("file:///etc/passwd", "slack")


def test_alerts_test_command(tmp_path):
    with receiver() as (url, seen):
        ok = CliRunner().invoke(main, ["alerts", "test", "--hook", url, "--secret", SECRET])
    assert ok.exit_code == 0 and seen[0]["signed"]
    assert seen[0]["body"]["alert"]["kind"] == trial_alert()["kind"] == "test"
    dead = tmp_path / "dead.jsonl"
    down = CliRunner().invoke(
        main,
        [
            *("alerts", "test", "--hook", "http://127.0.0.1:9/none"),
            *("--kind", "slack", "--dead-letters", str(dead)),
        ],
    )
    assert down.exit_code == 1 and "not delivered" in down.output and dead.exists()


def test_the_console_sends_a_new_warning_to_its_webhooks(tmp_path):
    import time

    from fastapi.testclient import TestClient

    from campaign import campaign_posts
    from stormwatch.core.quantify import Prevalence
    from stormwatch.models import load_classifier
    from stormwatch.web.app import Config, create_app
    from test_web_api import ndjson, setup_db, wait_labelled

    db = tmp_path / "live.db"
    token = setup_db(db)
    calm = {label: Prevalence(0.1, 0.08, 0.12, "acc", 5000) for label in ("negative", "offensive")}
    with receiver() as (url, seen):
        config = Config(
            max_wait=0.05,
            baseline=calm,
            webhooks=(Webhook(url, "json", SECRET),),
            dead_letters=tmp_path / "dead.jsonl",
        )
        with TestClient(create_app(db, load_classifier("fast"), config)) as client:
            while not client.get("/healthz").json()["warm"]:
                time.sleep(0.05)
            posted = client.post(
                "/api/v1/posts",
                content=ndjson(campaign_posts()),
                headers={"Authorization": f"Bearer {token}"},
            )
            assert posted.json()["accepted"] == 123
            wait_labelled(client, 123)
            deadline = time.monotonic() + 20
            while not seen and time.monotonic() < deadline:
                client.get("/api/v1/alerts", headers={"Authorization": f"Bearer {token}"})
                time.sleep(0.2)
    assert seen, "no alert reached the webhook"
    alert = seen[0]["body"]["alert"]
    assert seen[0]["signed"] and alert["level"] in ("warning", "critical")
    assert alert["at"] >= "2013-11-13T15:00"  # during the hostile hour, not before
