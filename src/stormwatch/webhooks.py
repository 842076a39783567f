"""Alerts sent where the team already looks: Slack-compatible incoming webhooks, and a
generic JSON body signed with HMAC-SHA256 for anything else.

Each delivery is retried with backoff; one that still fails is written, whole, to a
dead-letter file (JSON lines) so nothing is lost silently and it can be re-sent.

Generic deliveries carry `X-Stormwatch-Timestamp` (unix seconds) and
`X-Stormwatch-Signature: sha256=HEX`, the HMAC-SHA256 of `TIMESTAMP.BODY` under the shared
secret; a receiver recomputes it and rejects stale timestamps (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

KINDS = ("slack", "json")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def slack_body(alert: dict[str, Any]) -> dict[str, Any]:
    """Slack's incoming-webhook shape: a `text` fallback and one section block."""
    from stormwatch.core.warning import describe

    text = describe(alert)
    return {
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


@dataclass
class Webhook:
    url: str
    kind: str = "json"
    secret: str | None = None
    tries: int = 4
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"webhook kind must be one of {', '.join(KINDS)}")
        if self.kind == "json" and not self.secret:
            raise ValueError("a JSON webhook needs a secret to sign its deliveries")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"webhook URL {self.url!r} is not http(s)")


@dataclass
class Delivery:
    ok: bool
    attempts: int
    status: int | None
    error: str | None = None


def deliver(
    hook: Webhook,
    alert: dict[str, Any],
    dead_letters: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Send one alert; retry on network errors, 429 and 5xx (1, 2, 4 s ...); a delivery
    that fails for good goes to `dead_letters`."""
    import httpx

    payload = slack_body(alert) if hook.kind == "slack" else {"alert": alert}
    body = orjson.dumps(payload)
    status: int | None = None
    error: str | None = None
    attempt = 0
    with httpx.Client(timeout=hook.timeout) as client:
        for attempt in range(1, hook.tries + 1):
            headers = {"Content-Type": "application/json", "User-Agent": "stormwatch"}
            if hook.secret:
                stamp = str(int(time.time()))
                headers["X-Stormwatch-Timestamp"] = stamp
                headers["X-Stormwatch-Signature"] = signature(hook.secret, stamp, body)
            try:
                response = client.post(hook.url, content=body, headers=headers)
                status, error = response.status_code, None
                if response.status_code < 300:
                    return Delivery(True, attempt, status)
                error = f"HTTP {response.status_code}: {response.text[:200]}"
                if response.status_code < 500 and response.status_code != 429:
                    break  # the receiver refuses it: retrying will not help
            except httpx.TransportError as exc:
                error = f"{type(exc).__name__}: {exc}"
            if attempt < hook.tries:
                sleep(2 ** (attempt - 1))
    if dead_letters is not None:
        dead_letters.parent.mkdir(parents=True, exist_ok=True)
        with open(dead_letters, "ab") as handle:
            handle.write(
                orjson.dumps(
                    {
                        "url": hook.url,
                        "kind": hook.kind,
                        "alert": alert,
                        "attempts": attempt,
                        "status": status,
                        "error": error,
                        "failed_at": int(time.time()),
                    }
                )
                + b"\n"
            )
    return Delivery(False, attempt, status, error)


def trial_alert() -> dict[str, Any]:
    """What `stormwatch alerts test` sends: clearly a test, in the real shape."""
    from datetime import UTC, datetime

    from stormwatch.sources.timeparse import iso

    return {
        "level": "watch",
        "kind": "test",
        "at": iso(datetime.now(UTC)),
        "evidence": {"share": 0.0, "baseline": 0.0, "note": "a test alert from Stormwatch"},
        "recommendation": "nothing: this is a test",
    }
