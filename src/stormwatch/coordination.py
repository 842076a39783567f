"""Is the wave a broad crowd or a coordinated few? Evidence, never an accusation.

Copy-paste groups (near-duplicates, `core.duplicates`) with how many accounts posted them,
within how long, and how many of those accounts were days old; how much of the negativity
the loudest accounts produce. A group is flagged as *looks coordinated* only when several
signals line up (many accounts, near-identical text, a tight time window), and the flag
carries the numbers behind it.
"""

from __future__ import annotations

from typing import Any

from stormwatch.core.duplicates import near_duplicate_groups
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


def coordination(store: SQLiteStore, model: ModelRef) -> dict[str, Any]:
    """The `coordination` key of `analyze --json`."""
    from stormwatch.preflight import concentration

    groups = copy_paste_groups(store)
    return {
        "copy_paste_groups": groups,
        "flagged_groups": sum(1 for g in groups if g["looks_coordinated"]),
        "negativity_concentration": concentration(store, model),
        "note": "evidence for a person to weigh, not a finding about any account",
    }
