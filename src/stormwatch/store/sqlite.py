"""The embedded default store: one SQLite file in WAL mode.

Writes go in batched transactions (one per batch of posts, one per batch of scores), so a
crash loses at most the batch in flight and a re-run picks up where it stopped: posts are
keyed on (platform, id) and inserted idempotently, and any stored post without scores for
the current model is scored on the next run.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from stormwatch.core.labels import Layout
from stormwatch.core.language import english_mask
from stormwatch.records import Post
from stormwatch.sources.timeparse import from_ms, to_ms
from stormwatch.store import migrations
from stormwatch.store.base import AddResult, ModelRef, Scored, StoredPost

_INSERT_POST = (
    "INSERT OR IGNORE INTO posts (platform, post_id, author_id, created_ms, text, lang, "
    "reply_to, quote_of, repost_of, hashtags, mentions, urls, like_count, repost_count, raw, "
    "run_id, english) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPSERT_AUTHOR = (
    "INSERT INTO authors (platform, author_id, handle, name, created_ms, followers) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, author_id) DO UPDATE SET "
    "handle = coalesce(excluded.handle, handle), name = coalesce(excluded.name, name), "
    "created_ms = coalesce(excluded.created_ms, created_ms), "
    "followers = coalesce(excluded.followers, followers)"
)


_POST_COLUMNS = (
    "p.rowid, p.platform, p.post_id, p.author_id, a.handle, a.name, a.created_ms, "
    "a.followers, p.created_ms, p.text, p.lang, p.reply_to, p.quote_of, p.repost_of, "
    "p.hashtags, p.mentions, p.urls, p.like_count, p.repost_count, p.english"
)
_POST_JOIN = "posts p LEFT JOIN authors a ON a.platform = p.platform AND a.author_id = p.author_id"


def _stored_post(r: Sequence[Any]) -> StoredPost:
    """A row selected with `_POST_COLUMNS` as a StoredPost."""
    post = Post(
        id=r[2],
        platform=r[1],
        text=r[9],
        created_at=from_ms(r[8]),
        author_id=r[3],
        author_handle=r[4],
        author_name=r[5],
        author_created_at=from_ms(r[6]),
        author_followers=r[7],
        lang=r[10],
        reply_to=r[11],
        quote_of=r[12],
        repost_of=r[13],
        hashtags=tuple(orjson.loads(r[14])) if r[14] else (),
        mentions=tuple(orjson.loads(r[15])) if r[15] else (),
        urls=tuple(orjson.loads(r[16])) if r[16] else (),
        like_count=r[17],
        repost_count=r[18],
    )
    return StoredPost(r[0], post, bool(r[19]))


def _json_list(values: tuple[str, ...]) -> str | None:
    return orjson.dumps(values).decode() if values else None


class SQLiteStore:
    """Posts, authors, per-post scores (one float32 blob per post and model) and runs."""

    def __init__(
        self, path: str | Path, timeout: float = 30.0, check_same_thread: bool = True
    ) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=check_same_thread
        )
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA temp_store = MEMORY")
        migrations.apply(self.db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- posts ------------------------------------------------------------------------

    def add_posts(
        self,
        posts: Sequence[Post],
        run_id: int | None = None,
        cursors: Mapping[str, str] | None = None,
    ) -> AddResult:
        """Insert posts not already stored (by platform and id); returns how many were new.

        `cursors` (live source -> resume point) are committed in the same transaction, so a
        source never resumes past a post that was not stored."""
        if not posts:
            if cursors:
                with self.transaction() as db:
                    self._save_cursors(db, cursors)
            return AddResult(0, 0)
        english = english_mask([p.text for p in posts], [p.lang for p in posts])
        rows = [
            (
                p.platform,
                p.id,
                p.author_id,
                to_ms(p.created_at),
                p.text,
                p.lang,
                p.reply_to,
                p.quote_of,
                p.repost_of,
                _json_list(p.hashtags),
                _json_list(p.mentions),
                _json_list(p.urls),
                p.like_count,
                p.repost_count,
                p.raw,
                run_id,
                int(is_english),
            )
            for p, is_english in zip(posts, english, strict=True)
        ]
        authors: dict[tuple[str, str], tuple[Any, ...]] = {}
        for p in posts:
            if p.author_id is not None:
                authors[(p.platform, p.author_id)] = (
                    p.platform,
                    p.author_id,
                    p.author_handle,
                    p.author_name,
                    to_ms(p.author_created_at),
                    p.author_followers,
                )
        with self.transaction() as db:
            before = db.total_changes
            db.executemany(_INSERT_POST, rows)
            inserted = db.total_changes - before
            if authors:
                db.executemany(_UPSERT_AUTHOR, list(authors.values()))
            if cursors:
                self._save_cursors(db, cursors)
        return AddResult(inserted, len(rows) - inserted)

    # --- live sources: resume points, deletions, edits -----------------------------------

    @staticmethod
    def _save_cursors(db: sqlite3.Connection, cursors: Mapping[str, str]) -> None:
        now = int(time.time() * 1000)
        db.executemany(
            "INSERT INTO source_cursors (source, cursor, updated_ms) VALUES (?, ?, ?) "
            "ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, "
            "updated_ms = excluded.updated_ms",
            [(name, value, now) for name, value in cursors.items()],
        )

    def cursors(self) -> dict[str, str]:
        """Every live source's resume point."""
        return dict(self.db.execute("SELECT source, cursor FROM source_cursors").fetchall())

    def source_health(self) -> list[tuple[str, bytes | str, int]]:
        """(source, health snapshot JSON, when it was written in ms), as `listen` left them."""
        return self.db.execute(
            "SELECT source, snapshot, updated_ms FROM source_health ORDER BY source"
        ).fetchall()

    def cursor(self, source: str) -> str | None:
        """Where a live source may resume from, as it last committed it."""
        row = self.db.execute(
            "SELECT cursor FROM source_cursors WHERE source = ?", (source,)
        ).fetchone()
        return None if row is None else str(row[0])

    def delete_posts(self, platform: str, post_ids: Sequence[str]) -> list[int]:
        """Honour deletions: the text, original and scores go, a tombstone stays (so a
        repeated event cannot bring the post back). Returns the rowids tombstoned now."""
        now = int(time.time() * 1000)
        done: list[int] = []
        with self.transaction() as db:
            for post_id in post_ids:
                row = db.execute(
                    "SELECT rowid FROM posts WHERE platform = ? AND post_id = ? "
                    "AND deleted_ms IS NULL",
                    (platform, post_id),
                ).fetchone()
                if row is None:
                    continue
                db.execute(
                    "UPDATE posts SET text = '', raw = NULL, deleted_ms = ? WHERE rowid = ?",
                    (now, row[0]),
                )
                db.execute("DELETE FROM scores WHERE post_rowid = ?", (row[0],))
                done.append(int(row[0]))
        return done

    def post_id_where(self, platform: str, raw_key: str, value: str) -> str | None:
        """The stored id of a post whose original has `raw_key` == value (Mastodon deletes
        name the instance-local id, while posts are keyed on their global uri)."""
        row = self.db.execute(
            "SELECT post_id FROM posts WHERE platform = ? AND json_valid(raw) "
            "AND json_extract(raw, ?) = ? LIMIT 1",
            (platform, f"$.{raw_key}", value),
        ).fetchone()
        return None if row is None else str(row[0])

    def edit_posts(self, posts: Sequence[Post]) -> list[int]:
        """Apply edits to stored posts (new text, tags, original); their scores are dropped
        so they are scored again. Posts not stored are left alone. Returns rowids changed."""
        changed: list[int] = []
        english = english_mask([p.text for p in posts], [p.lang for p in posts])
        with self.transaction() as db:
            for post, is_english in zip(posts, english, strict=True):
                row = db.execute(
                    "SELECT rowid, text FROM posts WHERE platform = ? AND post_id = ? "
                    "AND deleted_ms IS NULL",
                    (post.platform, post.id),
                ).fetchone()
                if row is None:
                    continue
                db.execute(
                    "UPDATE posts SET text = ?, lang = ?, hashtags = ?, mentions = ?, urls = ?, "
                    "raw = ?, english = ? WHERE rowid = ?",
                    (
                        post.text,
                        post.lang,
                        _json_list(post.hashtags),
                        _json_list(post.mentions),
                        _json_list(post.urls),
                        post.raw,
                        int(is_english),
                        row[0],
                    ),
                )
                if row[1] != post.text:
                    db.execute("DELETE FROM scores WHERE post_rowid = ?", (row[0],))
                    changed.append(int(row[0]))
        return changed

    def existing(self, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (platform, post id) pairs are stored already."""
        wanted = list(dict.fromkeys(keys))
        found: set[tuple[str, str]] = set()
        for start in range(0, len(wanted), 400):
            chunk = wanted[start : start + 400]
            marks = ", ".join("(?, ?)" for _ in chunk)
            flat = [v for pair in chunk for v in pair]
            found.update(
                self.db.execute(
                    f"SELECT platform, post_id FROM posts WHERE (platform, post_id) IN "
                    f"(VALUES {marks})",
                    flat,
                ).fetchall()
            )
        return found

    def counts(self) -> dict[str, Any]:
        row = self.db.execute(
            "SELECT count(*), count(repost_of), min(created_ms), max(created_ms), "
            "count(DISTINCT platform || ':' || author_id), "
            "coalesce(sum(english = 0), 0) FROM posts"
        ).fetchone()
        return {
            "posts": row[0],
            "reposts": row[1],
            "first": from_ms(row[2]),
            "last": from_ms(row[3]),
            "authors": row[4],
            "non_english": row[5],
        }

    def post_count(self) -> int:
        """Stored posts, in constant time: posts are never deleted and rowids are assigned
        densely (max + 1; ignored duplicates and rolled-back batches take none), so the
        highest rowid is the count. count(*) would scan the table."""
        return int(self.db.execute("SELECT coalesce(max(rowid), 0) FROM posts").fetchone()[0])

    # --- the campaign -------------------------------------------------------------------

    def campaign_tags(self) -> tuple[str, ...]:
        """The campaign's own hashtags (`set_campaign_tags`), which scoring leaves out."""
        row = self.db.execute("SELECT value FROM campaign WHERE key = 'tags'").fetchone()
        return tuple(orjson.loads(row[0])) if row else ()

    def top_hashtag(self) -> tuple[str, int] | None:
        """The hashtag most posts carry (lower-case) and how many carry it: a likely
        campaign tag, for a hint when none was given."""
        row = self.db.execute(
            "SELECT lower(j.value), count(DISTINCT p.rowid) FROM posts p, json_each(p.hashtags) j "
            "WHERE p.hashtags IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
        ).fetchone()
        return (row[0], int(row[1])) if row else None

    def set_campaign_tags(self, tags: Sequence[str]) -> int:
        """Record the campaign's own hashtags (`core.text.campaign_tags` form). When they
        change, every stored score is dropped, as it was computed reading the old ones: the
        next scoring pass labels those posts again. Returns how many scores were dropped."""
        value = orjson.dumps(list(tags)).decode()
        with self.transaction() as db:
            row = db.execute("SELECT value FROM campaign WHERE key = 'tags'").fetchone()
            if (row[0] if row else "[]") == value:
                return 0
            dropped = db.execute("DELETE FROM scores").rowcount
            db.execute("INSERT OR REPLACE INTO campaign (key, value) VALUES ('tags', ?)", (value,))
        return dropped

    # --- models and scores -------------------------------------------------------------

    def register_model(self, name: str, version: str, layout: Layout) -> ModelRef:
        layout_json = orjson.dumps(layout.to_json()).decode()
        self.db.execute(
            "INSERT OR IGNORE INTO models (name, version, layout) VALUES (?, ?, ?)",
            (name, version, layout_json),
        )
        row = self.db.execute(
            "SELECT model_id, layout FROM models WHERE name = ? AND version = ?", (name, version)
        ).fetchone()
        stored = Layout.from_json(orjson.loads(row[1]))
        if stored != layout:
            raise RuntimeError(
                f"model {name} {version} is stored with another label layout; "
                "bump the model version when its outputs change"
            )
        return ModelRef(row[0], name, version, stored)

    def latest_model(self) -> ModelRef | None:
        """The model that scored posts most recently (the highest id with any scores)."""
        row = self.db.execute(
            "SELECT m.model_id, m.name, m.version, m.layout FROM models m "
            "WHERE EXISTS (SELECT 1 FROM scores s WHERE s.model_id = m.model_id) "
            "ORDER BY m.model_id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return ModelRef(row[0], row[1], row[2], Layout.from_json(orjson.loads(row[3])))

    def unscored(self, model: ModelRef, after_rowid: int, limit: int) -> list[tuple[int, str]]:
        """Up to `limit` posts after a rowid that this model has not scored, in rowid order."""
        return self.db.execute(
            "SELECT p.rowid, p.text FROM posts p WHERE p.rowid > ? AND p.deleted_ms IS NULL "
            "AND NOT EXISTS "
            "(SELECT 1 FROM scores s WHERE s.model_id = ? AND s.post_rowid = p.rowid) "
            "ORDER BY p.rowid LIMIT ?",
            (after_rowid, model.id, limit),
        ).fetchall()

    def add_scores(self, model: ModelRef, rowids: Sequence[int], proba: np.ndarray) -> None:
        if len(rowids) != len(proba) or proba.shape[1:] != (model.layout.width,):
            raise ValueError(
                f"scores of shape {proba.shape} do not fit {len(rowids)} posts x "
                f"{model.layout.width} outputs"
            )
        blobs = np.ascontiguousarray(proba, dtype=np.float32)
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO scores (model_id, post_rowid, proba) VALUES (?, ?, ?)",
                [(model.id, rowid, blobs[i].tobytes()) for i, rowid in enumerate(rowids)],
            )

    def scores(
        self, model: ModelRef, include_reposts: bool = False, include_non_english: bool = False
    ) -> Scored:
        where = "" if include_reposts else " AND p.repost_of IS NULL"
        if not include_non_english:
            where += " AND p.english = 1"
        rows = self.db.execute(
            "SELECT s.post_rowid, coalesce(p.created_ms, -1), s.proba FROM scores s "
            "JOIN posts p ON p.rowid = s.post_rowid "
            f"WHERE s.model_id = ?{where} ORDER BY s.post_rowid",
            (model.id,),
        ).fetchall()
        width = model.layout.width
        if not rows:
            empty = np.zeros(0, dtype=np.int64)
            return Scored(empty, empty, np.zeros((0, width), dtype=np.float32))
        rowids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        created = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        proba = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(-1, width)
        return Scored(rowids, created, proba)

    # --- reading posts back --------------------------------------------------------------

    def iter_posts(
        self, model: ModelRef | None, batch: int = 5000
    ) -> Iterator[tuple[StoredPost, np.ndarray | None]]:
        """Every stored post in rowid order with its scores under `model` (None if unscored)."""
        after = 0
        model_id = model.id if model else -1
        while True:
            rows = self.db.execute(
                f"SELECT {_POST_COLUMNS}, s.proba FROM {_POST_JOIN} "
                "LEFT JOIN scores s ON s.model_id = ? AND s.post_rowid = p.rowid "
                "WHERE p.rowid > ? AND p.deleted_ms IS NULL ORDER BY p.rowid LIMIT ?",
                (model_id, after, batch),
            ).fetchall()
            if not rows:
                return
            for r in rows:
                proba = np.frombuffer(r[20], dtype=np.float32) if r[20] is not None else None
                yield _stored_post(r), proba
            after = rows[-1][0]

    def posts_by_rowid(self, rowids: Sequence[int]) -> list[StoredPost]:
        """The stored posts with these rowids, in the order asked (missing ones left out)."""
        found: dict[int, StoredPost] = {}
        ids = [int(r) for r in rowids]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for r in self.db.execute(
                f"SELECT {_POST_COLUMNS} FROM {_POST_JOIN} WHERE p.rowid IN ({marks})", chunk
            ):
                found[r[0]] = _stored_post(r)
        return [found[r] for r in ids if r in found]

    def search_posts(
        self,
        author: str | None = None,
        text: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        before_rowid: int | None = None,
        limit: int = 50,
    ) -> list[StoredPost]:
        """Posts newest first (by rowid), filtered by author (handle or id), a text
        substring (case-insensitive for ASCII), and a time range [since, until)."""
        clauses, params = [], []
        if author:
            clauses.append("(a.handle = ? OR p.author_id = ?)")
            params += [author.lstrip("@"), author]
        if text:
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("p.text LIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
        if since_ms is not None:
            clauses.append("p.created_ms >= ?")
            params.append(since_ms)
        if until_ms is not None:
            clauses.append("p.created_ms < ?")
            params.append(until_ms)
        if before_rowid is not None:
            clauses.append("p.rowid < ?")
            params.append(before_rowid)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.execute(
            f"SELECT {_POST_COLUMNS} FROM {_POST_JOIN} {where} ORDER BY p.rowid DESC LIMIT ?",
            [*params, limit],
        ).fetchall()
        return [_stored_post(r) for r in rows]

    def top_authors(self, limit: int = 10) -> list[dict[str, Any]]:
        """The accounts with most posts (reposts included, counted apart)."""
        rows = self.db.execute(
            "SELECT p.platform, p.author_id, a.handle, a.name, a.followers, count(*), "
            "count(p.repost_of) FROM posts p LEFT JOIN authors a "
            "ON a.platform = p.platform AND a.author_id = p.author_id "
            "WHERE p.author_id IS NOT NULL GROUP BY p.platform, p.author_id "
            "ORDER BY count(*) DESC, p.author_id LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            {
                "platform": r[0],
                "author_id": r[1],
                "handle": r[2],
                "name": r[3],
                "followers": r[4],
                "posts": r[5],
                "reposts": r[6],
            }
            for r in rows
        ]

    def originals(self) -> list[tuple[int, str, str, int | None, int | None]]:
        """Every original post (no reposts): rowid, text, `platform:author`, post time and
        author-account creation time (epoch ms, None when unknown), in rowid order."""
        return self.db.execute(
            "SELECT p.rowid, p.text, p.platform || ':' || coalesce(p.author_id, '?' || p.rowid), "
            "p.created_ms, a.created_ms FROM posts p LEFT JOIN authors a "
            "ON a.platform = p.platform AND a.author_id = p.author_id "
            "WHERE p.repost_of IS NULL ORDER BY p.rowid"
        ).fetchall()

    def authors_of(self, rowids: Sequence[int]) -> list[str]:
        """`platform:author_id` of each post (in the order asked; unknown authors as
        `platform:?rowid` so they never merge)."""
        found: dict[int, str] = {}
        ids = [int(r) for r in rowids]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for rowid, platform, author in self.db.execute(
                f"SELECT rowid, platform, author_id FROM posts WHERE rowid IN ({marks})", chunk
            ):
                found[rowid] = f"{platform}:{author}" if author else f"{platform}:?{rowid}"
        return [found.get(r, f"?{r}") for r in ids]

    def author_rowids(self, platform: str, author_id: str) -> np.ndarray:
        rows = self.db.execute(
            "SELECT rowid FROM posts WHERE platform = ? AND author_id = ? ORDER BY rowid",
            (platform, author_id),
        ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    # --- runs ----------------------------------------------------------------------------

    def start_run(self, command: str, args: Mapping[str, Any]) -> int:
        cursor = self.db.execute(
            "INSERT INTO runs (command, started_ms, status, args) VALUES (?, ?, 'running', ?)",
            (command, int(time.time() * 1000), orjson.dumps(args, default=str).decode()),
        )
        return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, status: str, counts: Mapping[str, Any]) -> None:
        self.db.execute(
            "UPDATE runs SET finished_ms = ?, status = ?, counts = ? WHERE run_id = ?",
            (int(time.time() * 1000), status, orjson.dumps(counts, default=str).decode(), run_id),
        )
