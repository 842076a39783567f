"""`stormwatch replay`: send a recorded campaign to a console as if it were happening now.

Posts keep their relative timing, sped up; each request carries the posts due in the next
moment (up to `batch`). Progress is saved after every accepted request, so an interrupted
replay resumes where it stopped; ingest is idempotent, so a repeated request is harmless.
A 429 from the server is honoured (wait Retry-After, send the same batch again).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from stormwatch.records import Post
from stormwatch.sources.files import only_posts, read_posts

_TICK = 0.05  # seconds: posts due within this of each other travel together
_RETRIES = 8


class ReplayError(RuntimeError):
    pass


@dataclass
class ReplayResult:
    sent: int = 0
    requests: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    retried: int = 0


def _wire(post: Post) -> bytes:
    """The post as the server should see it: its original record when there is one."""
    if post.raw:
        return post.raw.encode()
    from stormwatch.export import post_record

    return orjson.dumps(post_record(post))


def _due_batches(
    posts: Iterator[Post], speed: float, batch: int
) -> Iterator[tuple[float, list[Post]]]:
    """(seconds after the start when due, posts) in input order."""
    origin: float | None = None
    pending: list[Post] = []
    pending_due = 0.0
    for post in posts:
        stamp = post.created_at.timestamp() if post.created_at else None
        if stamp is not None and origin is None:
            origin = stamp
        due = max(0.0, (stamp - origin) / speed) if stamp is not None and origin else pending_due
        if pending and (len(pending) >= batch or due - pending_due > _TICK):
            yield pending_due, pending
            pending = []
        if not pending:
            pending_due = due
        pending.append(post)
    if pending:
        yield pending_due, pending


def _load_state(path: Path) -> int:
    try:
        return int(orjson.loads(path.read_bytes())["sent"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _save_state(path: Path, sent: int) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(orjson.dumps({"sent": sent}))
    os.replace(temporary, path)


def replay_file(
    path: Path,
    url: str,
    token: str,
    speed: float = 60.0,
    batch: int = 100,
    state: Path | None = None,
    progress: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayResult:
    import httpx

    if speed <= 0:
        raise ReplayError("--speed must be above 0")
    done = _load_state(state) if state else 0
    posts = only_posts(read_posts([str(path)]))
    for _ in range(done):
        next(posts, None)
    if progress is not None and done:
        progress(done)
    result = ReplayResult(sent=done)
    endpoint = url.rstrip("/") + "/api/v1/posts"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    start = time.monotonic()
    with httpx.Client(timeout=30.0) as client:
        for due, group in _due_batches(posts, speed, batch):
            wait = start + due - time.monotonic()
            if wait > 0:
                sleep(wait)
            body = b"\n".join(dict.fromkeys(_wire(p) for p in group)) + b"\n"
            data = _send(client, endpoint, headers, body, result, sleep)
            result.requests += 1
            result.accepted += data.get("accepted", 0)
            result.duplicate += data.get("duplicate", 0)
            result.rejected += data.get("rejected", 0)
            result.sent += len(group)
            if state:
                _save_state(state, result.sent)
            if progress is not None:
                progress(len(group))
    return result


def _send(
    client: object,
    endpoint: str,
    headers: dict[str, str],
    body: bytes,
    result: ReplayResult,
    sleep: Callable[[float], None],
) -> dict:
    import httpx

    assert isinstance(client, httpx.Client)
    for attempt in range(_RETRIES):
        try:
            response = client.post(endpoint, content=body, headers=headers)
        except httpx.TransportError as exc:
            if attempt == _RETRIES - 1:
                raise ReplayError(
                    f"cannot reach {endpoint}: {exc}; is `stormwatch serve` running?"
                ) from None
            sleep(min(2**attempt * 0.25, 5))
            continue
        if response.status_code == 429:
            result.retried += 1
            sleep(float(response.headers.get("retry-after", "1")))
            continue
        if response.status_code == 401:
            raise ReplayError(
                "the server refused the token (401); create one with "
                "`stormwatch token create --db DB`"
            )
        if response.status_code >= 400:
            raise ReplayError(f"the server answered {response.status_code}: {response.text[:300]}")
        return orjson.loads(response.content)
    raise ReplayError(f"gave up after {_RETRIES} tries: the server stayed busy")
