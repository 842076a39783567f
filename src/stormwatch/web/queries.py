"""What the console's pages and API read: filtered posts, the question queue, the live
feed and alerts — from the in-memory view of scored posts plus the store for text."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import orjson

from stormwatch.core.labels import Layout, hard_labels, labels_record
from stormwatch.core.triage import group_questions, priority, split_questions
from stormwatch.core.warning import describe
from stormwatch.replies import Outbox
from stormwatch.sources.timeparse import from_ms, iso, parse_time, to_ms
from stormwatch.store.base import StoredPost
from stormwatch.store.console import ConsoleStore, QuestionState
from stormwatch.store.sqlite import SQLiteStore
from stormwatch.web.live import View

_SCAN = 2000  # rows read per round while filtering by label
_MAX_ROUNDS = 50


def _row_of(view: View, rowid: int) -> int | None:
    i = int(np.searchsorted(view.rowids, rowid))
    return i if i < len(view.rowids) and view.rowids[i] == rowid else None


def post_item(stored: StoredPost, view: View, layout: Layout) -> dict[str, Any]:
    """One post as the API and the feed show it: text, author, time and label chips."""
    post = stored.post
    i = _row_of(view, stored.rowid)
    chips: list[str] = []
    labels: dict[str, Any] | None = None
    if i is not None:
        row = view.proba[i]
        labels = labels_record(row, layout)
        flags = hard_labels(row[None, :], layout)
        chips = [label for label in layout.labels if flags[label][0] and label != "neutral"]
    return {
        "rowid": stored.rowid,
        "id": post.id,
        "platform": post.platform,
        "text": post.text,
        "author": post.author_handle or post.author_id,
        "author_name": post.author_name,
        "time": iso(post.created_at),
        "repost": post.is_repost,
        "english": stored.english,
        "chips": chips,
        "labels": labels,
    }


def _time_ms(value: str | None, name: str) -> int | None:
    if not value:
        return None
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError(f"{name}={value!r} is not a time like 2013-11-13T19:00:00Z")
    return to_ms(parsed)


def find_posts(
    store: SQLiteStore,
    view: View,
    layout: Layout,
    flags: np.ndarray | None,
    author: str | None,
    text: str | None,
    since: str | None,
    until: str | None,
    before: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Newest first. `flags` (one label's hard labels over the view) filters by label;
    author, text and time filter in SQL. A label alone reads just the posts it returns."""
    since_ms, until_ms = _time_ms(since, "since"), _time_ms(until, "until")
    if flags is not None and not (author or text or since_ms or until_ms):
        chosen = view.rowids[flags]
        if before is not None:
            chosen = chosen[chosen < before]
        newest = chosen[::-1][:limit]
        return [post_item(s, view, layout) for s in store.posts_by_rowid(newest.tolist())]
    found: list[dict[str, Any]] = []
    cursor = before
    for _ in range(_MAX_ROUNDS):
        size = _SCAN if flags is not None else limit
        batch = store.search_posts(author, text, since_ms, until_ms, cursor, size)
        if not batch:
            break
        for stored in batch:
            if flags is not None:
                i = _row_of(view, stored.rowid)
                if i is None or not flags[i]:
                    continue
            found.append(post_item(stored, view, layout))
            if len(found) == limit:
                return found
        cursor = batch[-1].rowid
        if flags is None:
            break
    return found


def feed_items(
    store: SQLiteStore, view: View, layout: Layout, rowids: np.ndarray
) -> list[dict[str, Any]]:
    return [post_item(s, view, layout) for s in store.posts_by_rowid(rowids.tolist())]


def _state_dict(state: QuestionState | None) -> dict[str, Any]:
    if state is None:
        return {"answered": False, "hidden": False, "abusive": False, "pinned": False}
    return {
        "answered": state.answered,
        "answer": state.answer,
        "answered_by": state.answered_by,
        "answered_at": iso(from_ms(state.answered_ms)),
        "hidden": state.hidden,
        "abusive": state.abusive,
        "pinned": state.pinned,
        "history": state.history,
    }


def question_queue(
    store: SQLiteStore,
    console: ConsoleStore,
    view: View,
    flags: dict[str, np.ndarray],
    layout: Layout,
    limit: int = 100,
    candidates: int = 5000,
) -> dict[str, Any]:
    """Genuine questions grouped and ranked (pinned first), the answered and the set-aside
    ones, and the hostile or rhetorical questions — counted, the newest listed. Copies are
    grouped among the `candidates` best-ranked genuine questions."""
    originals = ~view.repost
    split = split_questions(flags, len(view))
    timed = view.created_ms[view.created_ms >= 0]
    now_ms = int(timed.max()) if len(timed) else 0
    genuine = np.flatnonzero(split.genuine & originals)
    scores = priority(
        view.proba[genuine], layout, view.created_ms[genuine], view.engagement[genuine], now_ms
    )
    order = np.argsort(-scores, kind="stable")[:candidates]
    score_of = dict(zip(view.rowids[genuine[order]].tolist(), scores[order].tolist(), strict=True))
    stored = store.posts_by_rowid(list(score_of))
    by_rowid = {s.rowid: s for s in stored}
    groups = group_questions(
        [s.rowid for s in stored],
        [s.post.text for s in stored],
        [score_of[s.rowid] for s in stored],
    )
    states = console.states()
    queue: list[dict[str, Any]] = []
    answered: list[dict[str, Any]] = []
    set_aside: list[dict[str, Any]] = []
    for group in groups:
        acted = [states[r] for r in group.rowids if r in states]
        state = states.get(group.lead) or (acted[0] if acted else None)
        item = post_item(by_rowid[group.lead], view, layout) | {
            "count": group.count,
            "score": round(group.score, 4),
            "copies": group.rowids[:20],
            "state": _state_dict(state),
        }
        if state is not None and (state.hidden or state.abusive):
            set_aside.append(item)
        elif state is not None and state.answered:
            answered.append(item)
        else:
            queue.append(item)
    queue.sort(key=lambda g: not g["state"]["pinned"])  # stable: pinned first, rank kept
    _attach_replies(store, answered[:limit])
    hostile = np.flatnonzero(split.hostile & originals)
    newest = view.rowids[hostile[-50:]][::-1]
    hostile_posts = feed_items(store, view, layout, newest)
    for post in hostile_posts:
        post["state"] = _state_dict(states.get(post["rowid"]))
    return {
        "counts": {
            "questions": int((split.question & originals).sum()),
            "genuine": len(genuine),
            "groups": len(groups),
            "hostile": len(hostile),
            "answered": len(answered),
            "set_aside": len(set_aside),
        },
        "queue": queue[:limit],
        "answered": answered[:limit],
        "set_aside": set_aside[:limit],
        "hostile": hostile_posts,
    }


def _https_or_none(url: Any) -> str | None:
    """A platform's link to a sent reply, if it is an https one: the server that answered
    chose it, and a page must never link to `javascript:` or plain http."""
    return url if isinstance(url, str) and url.startswith("https://") else None


def _attach_replies(store: SQLiteStore, items: list[dict[str, Any]]) -> None:
    """Each answered question's newest reply: draft, sent (with its link), failed (why)."""
    rowids = [item["rowid"] for item in items]
    if not rowids:
        return
    marks = ", ".join("?" * len(rowids))
    newest: dict[int, dict[str, Any]] = {}
    for rowid, status, url, error, attempts in store.db.execute(
        f"SELECT post_rowid, status, remote_url, last_error, attempts FROM replies "
        f"WHERE post_rowid IN ({marks}) ORDER BY reply_id",
        rowids,
    ):
        newest[rowid] = {
            "status": status,
            "url": _https_or_none(url),
            "error": error,
            "tries": attempts,
        }
    for item in items:
        item["reply"] = newest.get(item["rowid"])


def alerts(
    detected: list[dict[str, Any]],
    latest_ms: int | None,
    backlog: int,
    max_backlog: int,
    error: str | None,
    recent_minutes: int = 30,
) -> list[dict[str, Any]]:
    """What the team should look at now: a scorer failure, a filling queue, and the early
    warning's alerts of the last `recent_minutes` of the campaign's own clock (each with
    a one-line message; `detected` are the detector's alert records)."""
    out: list[dict[str, Any]] = []
    if error:
        out.append({"level": "error", "kind": "scorer", "message": error})
    if backlog > max_backlog // 2:
        out.append(
            {
                "level": "warning",
                "kind": "backlog",
                "message": f"{backlog:,} posts wait for labels (limit {max_backlog:,})",
            }
        )
    if latest_ms is None:
        return out
    for alert in detected:
        at_ms = to_ms(parse_time(alert["at"]))
        if at_ms is not None and at_ms >= latest_ms - recent_minutes * 60_000:
            out.append(alert | {"message": describe(alert)})
    return out


def source_status(store: SQLiteStore, sending: bool) -> dict[str, Any]:
    """The live sources' health as `listen` last wrote it (stale after 15 s: it writes every
    2 s), their resume points, and the reply outbox."""
    now_ms = int(time.time() * 1000)
    sources = []
    for _source, snapshot, updated_ms in store.source_health():
        item = orjson.loads(snapshot)
        item["updated"] = iso(from_ms(updated_ms))
        item["stale"] = now_ms - updated_ms > 15_000
        sources.append(item)
    outbox = Outbox(store)
    return {
        "sources": sources,
        "cursors": store.cursors(),
        "replies": {
            "counts": outbox.counts(),
            "recent": [
                r | {"remote_url": _https_or_none(r["remote_url"])}
                for r in outbox.list(newest_first=True, limit=50)
            ],
            "sending": sending,
        },
    }
