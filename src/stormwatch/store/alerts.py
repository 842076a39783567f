"""Alerts in the store: each raised once, kept with when it was first seen and whether the
webhooks were told."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any

import orjson


class AlertStore:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def record(self, alerts: Sequence[dict[str, Any]], now_ms: int | None = None) -> int:
        """Store alerts not stored yet (by time, kind and level); returns how many were new."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        before = self.db.total_changes
        self.db.executemany(
            "INSERT OR IGNORE INTO alerts (at, kind, level, record, first_seen_ms) "
            "VALUES (?, ?, ?, ?, ?)",
            [(a["at"], a["kind"], a["level"], orjson.dumps(a).decode(), now_ms) for a in alerts],
        )
        return self.db.total_changes - before

    def to_notify(
        self, since_ms: int, levels: Sequence[str] = ("warning", "critical")
    ) -> list[dict[str, Any]]:
        """Alerts first seen since `since_ms` at these levels that no hook was sent yet."""
        marks = ", ".join("?" * len(levels))
        rows = self.db.execute(
            f"SELECT alert_id, record FROM alerts WHERE notified_ms IS NULL "
            f"AND first_seen_ms >= ? AND level IN ({marks}) ORDER BY alert_id",
            (since_ms, *levels),
        ).fetchall()
        return [orjson.loads(r[1]) | {"alert_id": r[0]} for r in rows]

    def notified(self, alert_id: int) -> None:
        self.db.execute(
            "UPDATE alerts SET notified_ms = ? WHERE alert_id = ?",
            (int(time.time() * 1000), alert_id),
        )

    def history(self, limit: int = 200) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT record, first_seen_ms, notified_ms FROM alerts ORDER BY at, alert_id LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            orjson.loads(r[0]) | {"first_seen_ms": r[1], "notified": r[2] is not None} for r in rows
        ]
