"""Is the wave a broad crowd or a coordinated few? Evidence, never an accusation.

Copy-paste groups (near-duplicates, `core.duplicates`) with how many accounts posted them,
within how long, and how many of those accounts were days old; how much of the negativity
the loudest accounts produce. A group is flagged as *looks coordinated* only when several
signals line up (many accounts, near-identical text, a tight time window), and the flag
carries the numbers behind it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stormwatch.core.duplicates import near_duplicate_groups
from stormwatch.core.labels import hard_labels
from stormwatch.sources.timeparse import from_ms, iso
from stormwatch.store.base import ModelRef
from stormwatch.store.sqlite import SQLiteStore

YOUNG_DAYS = 30
FLAG_ACCOUNTS = 5
FLAG_MINUTES = 60


def copy_paste_groups(store: SQLiteStore, top: int = 10, min_size: int = 3) -> list[dict[str, Any]]:
    rows = store.originals()
    groups = near_duplicate_groups([r[1] for r in rows])
    out = []
    for members in groups:
        if len(members) < min_size:
            continue
        posts = [rows[i] for i in members]
        accounts = {p[2] for p in posts}
        times = [p[3] for p in posts if p[3] is not None]
        span = (max(times) - min(times)) / 60_000 if times else None
        young = [
            p
            for p in posts
            if p[3] is not None and p[4] is not None and (p[3] - p[4]) < YOUNG_DAYS * 86_400_000
        ]
        known_age = sum(1 for p in posts if p[4] is not None)
        signals = []
        if len(accounts) >= FLAG_ACCOUNTS:
            signals.append(f"{len(accounts)} accounts posted near-identical text")
        if span is not None and span <= FLAG_MINUTES and len(accounts) >= FLAG_ACCOUNTS:
            signals.append(f"within {span:.0f} minutes")
        if known_age and len(young) / known_age >= 0.5:
            signals.append(f"{len(young)} of {known_age} accounts were under {YOUNG_DAYS} days old")
        out.append(
            {
                "size": len(members),
                "accounts": len(accounts),
                "first": iso(from_ms(min(times))) if times else None,
                "last": iso(from_ms(max(times))) if times else None,
                "minutes": round(span, 1) if span is not None else None,
                "young_accounts": len(young),
                "accounts_with_known_age": known_age,
                "text": posts[0][1],
                "looks_coordinated": len(signals) >= 2,
                "signals": signals,
            }
        )
        if len(out) == top:
            break
    return out


def repost_cascades(store: SQLiteStore, top: int = 10, min_size: int = 3) -> list[dict[str, Any]]:
    """The most reposted posts: how many reposts, by how many accounts, how fast (minutes
    to half of them and to the last), and the original's text when it is stored."""
    rows = store.db.execute(
        "SELECT r.repost_of, count(*), count(DISTINCT r.platform || ':' || r.author_id), "
        "min(r.created_ms), max(r.created_ms), o.text, o.created_ms, o.rowid "
        "FROM posts r LEFT JOIN posts o ON o.platform = r.platform AND o.post_id = r.repost_of "
        "WHERE r.repost_of IS NOT NULL AND r.deleted_ms IS NULL GROUP BY r.repost_of "
        "HAVING count(*) >= ? ORDER BY count(*) DESC, r.repost_of LIMIT ?",
        (min_size, top),
    ).fetchall()
    out = []
    for original, n, accounts, first, last, text, created, rowid in rows:
        times = np.array(
            [
                t
                for (t,) in store.db.execute(
                    "SELECT created_ms FROM posts WHERE repost_of = ? AND created_ms IS NOT NULL "
                    "ORDER BY created_ms",
                    (original,),
                )
            ],
            dtype=np.int64,
        )
        start = created if created is not None else (int(times[0]) if len(times) else None)
        half = (
            round((int(times[len(times) // 2]) - start) / 60_000, 1)
            if start is not None and len(times)
            else None
        )
        out.append(
            {
                "original": original,
                "rowid": rowid,
                "text": text,
                "reposts": n,
                "accounts": accounts,
                "first": iso(from_ms(first)),
                "minutes_to_half": half,
                "minutes_to_last": round((last - start) / 60_000, 1)
                if start is not None and last is not None
                else None,
            }
        )
    return out


def burstiness(times_ms: np.ndarray) -> float | None:
    """Goh and Barabási's B = (sd - mean) / (sd + mean) of the gaps between one account's
    posts: -1 clockwork, 0 random, toward 1 bursts (many posts at once, then silence)."""
    if len(times_ms) < 3:
        return None
    gaps = np.diff(np.sort(times_ms)).astype(np.float64)
    mean, sd = gaps.mean(), gaps.std()
    return round(float((sd - mean) / (sd + mean)), 3) if sd + mean > 0 else None


def account_figures(
    store: SQLiteStore, model: ModelRef | None, top: int = 20
) -> list[dict[str, Any]]:
    """The loudest accounts: posts, share of the campaign, share of all negative posts,
    account age when it first posted here (days, where the platform says), burstiness, and
    the most posts it sent within any 10 minutes."""
    rows = store.db.execute(
        "SELECT p.rowid, p.platform || ':' || p.author_id, coalesce(p.created_ms, -1), "
        "a.created_ms, a.handle FROM posts p LEFT JOIN authors a ON a.platform = p.platform "
        "AND a.author_id = p.author_id WHERE p.author_id IS NOT NULL AND p.deleted_ms IS NULL "
        "ORDER BY p.rowid"
    ).fetchall()
    if not rows:
        return []
    rowids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    keys = np.array([r[1] for r in rows], dtype=object)
    created = np.fromiter((r[2] for r in rows), np.int64, len(rows))
    negative = np.zeros(len(rows), dtype=bool)
    if model is not None:
        scored = store.scores(model, include_reposts=True, include_non_english=True)
        flags = hard_labels(scored.proba, model.layout).get("negative")
        if flags is not None and len(scored):
            position = np.minimum(np.searchsorted(scored.rowids, rowids), len(scored.rowids) - 1)
            negative = (scored.rowids[position] == rowids) & flags[position]
    names, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    negatives = np.bincount(inverse, weights=negative, minlength=len(names))
    total_negative = max(int(negative.sum()), 1)
    info = {r[1]: (r[3], r[4]) for r in rows}
    out = []
    for index in np.argsort(-counts, kind="stable")[:top]:
        mine = created[(inverse == index) & (created >= 0)]
        account_ms, handle = info[names[index]]
        first = int(mine.min()) if len(mine) else None
        window = 0
        if len(mine):
            ordered = np.sort(mine)
            window = int(
                (np.searchsorted(ordered, ordered + 600_000) - np.arange(len(ordered))).max()
            )
        out.append(
            {
                "account": names[index],
                "handle": handle,
                "posts": int(counts[index]),
                "share_of_posts": round(float(counts[index] / len(rows)), 4),
                "share_of_negative": round(float(negatives[index] / total_negative), 4),
                "account_age_days": round((first - account_ms) / 86_400_000, 1)
                if first is not None and account_ms is not None
                else None,
                "burstiness": burstiness(mine),
                "most_in_10_minutes": window,
            }
        )
    return out


def coordination(store: SQLiteStore, model: ModelRef) -> dict[str, Any]:
    """The `coordination` key of `analyze --json`."""
    from stormwatch.preflight import concentration

    groups = copy_paste_groups(store)
    return {
        "copy_paste_groups": groups,
        "flagged_groups": sum(1 for g in groups if g["looks_coordinated"]),
        "repost_cascades": repost_cascades(store),
        "accounts": account_figures(store, model),
        "negativity_concentration": concentration(store, model),
        "note": "evidence for a person to weigh, not a finding about any account",
    }
