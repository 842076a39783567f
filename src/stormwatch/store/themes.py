"""Themes in the store: stable ids, each post's theme, and the state live assignment needs."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson


def _now_ms() -> int:
    return int(time.time() * 1000)


class ThemeStore:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def active(self) -> list[dict[str, Any]]:
        """Themes not retired: id, label, keywords, size, centroid (float32)."""
        rows = self.db.execute(
            "SELECT theme_id, label, keywords, size, centroid, embedder FROM themes "
            "WHERE retired_ms IS NULL ORDER BY size DESC, theme_id"
        ).fetchall()
        return [
            {
                "id": r[0],
                "label": r[1],
                "keywords": orjson.loads(r[2]),
                "size": r[3],
                "centroid": np.frombuffer(r[4], dtype=np.float32),
                "embedder": r[5],
            }
            for r in rows
        ]

    def next_id(self) -> int:
        return int(
            self.db.execute("SELECT coalesce(max(theme_id), 0) + 1 FROM themes").fetchone()[0]
        )

    def save(
        self,
        themes: Sequence[dict[str, Any]],
        rowids: np.ndarray,
        theme_of: np.ndarray,
        state: dict[str, bytes],
        embedder: str,
        replace_all: bool = True,
    ) -> None:
        """Write themes (ids already chosen), every given post's theme id (-1: noise), and
        the assignment state, in one transaction. With `replace_all`, active themes not in
        `themes` are retired."""
        now = _now_ms()
        keep = [int(t["id"]) for t in themes]
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if replace_all:
                marks = ", ".join("?" * len(keep)) or "NULL"
                self.db.execute(
                    f"UPDATE themes SET retired_ms = ? WHERE retired_ms IS NULL "
                    f"AND theme_id NOT IN ({marks})",
                    (now, *keep),
                )
            self.db.executemany(
                "INSERT INTO themes (theme_id, label, keywords, size, centroid, embedder, "
                "created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (theme_id) DO UPDATE SET label = excluded.label, "
                "keywords = excluded.keywords, size = excluded.size, "
                "centroid = excluded.centroid, embedder = excluded.embedder, "
                "updated_ms = excluded.updated_ms, retired_ms = NULL",
                [
                    (
                        int(t["id"]),
                        t["label"],
                        orjson.dumps(t["keywords"]).decode(),
                        int(t["size"]),
                        np.asarray(t["centroid"], dtype=np.float32).tobytes(),
                        embedder,
                        now,
                        now,
                    )
                    for t in themes
                ],
            )
            self.db.executemany(
                "INSERT INTO post_themes (post_rowid, theme_id) VALUES (?, ?) "
                "ON CONFLICT (post_rowid) DO UPDATE SET theme_id = excluded.theme_id",
                [
                    (int(r), int(t) if t >= 0 else None)
                    for r, t in zip(rowids.tolist(), theme_of.tolist(), strict=True)
                ],
            )
            self.db.executemany(
                "INSERT INTO theme_state (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                list(state.items()),
            )
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def state(self) -> dict[str, bytes]:
        return {r[0]: r[1] for r in self.db.execute("SELECT name, value FROM theme_state")}

    def version(self) -> tuple[int, int]:
        """Changes whenever themes are saved or posts are given one: a cache key."""
        row = self.db.execute(
            "SELECT (SELECT coalesce(max(updated_ms), 0) FROM themes), "
            "(SELECT count(*) FROM post_themes)"
        ).fetchone()
        return int(row[0]), int(row[1])

    def members(self, theme: int) -> list[int]:
        """The rowids of the posts given `theme`."""
        return [
            r[0]
            for r in self.db.execute(
                "SELECT post_rowid FROM post_themes WHERE theme_id = ?", (theme,)
            )
        ]

    def theme_of(self, rowids: Sequence[int]) -> dict[int, int | None]:
        found: dict[int, int | None] = {}
        ids = [int(r) for r in rowids]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            found.update(
                self.db.execute(
                    f"SELECT post_rowid, theme_id FROM post_themes WHERE post_rowid IN ({marks})",
                    chunk,
                ).fetchall()
            )
        return found

    def unthemed(self, limit: int = 50_000) -> list[tuple[int, str]]:
        """English originals not yet given a theme (nor noise), oldest first."""
        return self.db.execute(
            "SELECT p.rowid, p.text FROM posts p WHERE p.repost_of IS NULL AND p.english = 1 "
            "AND p.deleted_ms IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM post_themes t WHERE t.post_rowid = p.rowid) ORDER BY p.rowid LIMIT ?",
            (limit,),
        ).fetchall()
