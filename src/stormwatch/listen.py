"""`stormwatch listen`: several live sources at once, one writer, the fast tier behind.

Sources run in their own threads and hand what they read to this hub (the `Sink`). One
writer thread owns the store's write connection: it commits posts in batches together with
each source's cursor, applies deletions and edits in arrival order, and keeps rejects in a
file. The scorer (`web.live.Live`) labels what was committed. Health goes to the store every
few seconds, for the console's status page.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from stormwatch.analysis import RejectsFile
from stormwatch.core.labels import Classifier
from stormwatch.records import Post, Reject
from stormwatch.sources.credentials import redact
from stormwatch.sources.live import LiveSource
from stormwatch.store.sqlite import SQLiteStore
from stormwatch.web.live import Live, Stores

_STOP = object()


@dataclass
class Totals:
    stored: int = 0
    duplicates: int = 0
    deleted: int = 0
    edited: int = 0
    rejects: int = 0
    commits: int = 0
    # one sample per commit / scored batch (a few per second): hours fit
    store_lag: deque[float] = field(default_factory=lambda: deque(maxlen=200_000))
    scored_lag: deque[float] = field(default_factory=lambda: deque(maxlen=200_000))


def _quantiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "max": None}
    array = np.asarray(values)
    return {
        "p50": round(float(np.quantile(array, 0.5)), 3),
        "p99": round(float(np.quantile(array, 0.99)), 3),
        "max": round(float(array.max()), 3),
    }


class Listener:
    """Implements `Sink` for every source; `start()`, then `stop()` (or `run(duration)`)."""

    def __init__(
        self,
        db: str | Path,
        sources: Sequence[LiveSource],
        classifier: Classifier | None = None,
        rejects: str | Path | None = None,
        batch: int = 2000,
        health_every_s: float = 2.0,
    ) -> None:
        names = [s.name for s in sources]
        if len(set(names)) != len(names):
            raise ValueError(f"two sources share a name: {names}")
        self.db = str(db)
        self.sources = list(sources)
        self.batch = batch
        self.health_every_s = health_every_s
        self.totals = Totals()
        self.rejects = RejectsFile(rejects or Path(self.db).with_suffix(".rejects.jsonl"))
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=200_000)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors: list[str] = []
        self.stores = Stores(self.db)
        self.live = Live(self.stores, classifier) if classifier is not None else None
        if self.live is not None:
            self.live.on_scored = self._scored
        store = self.stores.get()
        for source in self.sources:
            source.cursor = store.cursor(source.name)
        self._writer_ready = threading.Event()

    # --- Sink ------------------------------------------------------------------------------

    def posts(self, source: str, posts: Sequence[Post], cursor: str | None = None) -> None:
        self._queue.put(("posts", source, list(posts), cursor, time.time()))

    def deleted(self, platform: str, post_ids: Sequence[str]) -> None:
        self._queue.put(("deleted", platform, list(post_ids)))

    def deleted_where(self, platform: str, raw_key: str, value: str) -> None:
        self._queue.put(("deleted_where", platform, raw_key, value))

    def edited(self, posts: Sequence[Post]) -> None:
        self._queue.put(("edited", list(posts)))

    def reject(self, reject: Reject) -> None:
        self._queue.put(("reject", reject))

    # --- running ---------------------------------------------------------------------------

    def start(self) -> None:
        writer = threading.Thread(target=self._write_loop, name="stormwatch-writer", daemon=True)
        writer.start()
        self._threads.append(writer)
        self._writer_ready.wait(10)
        if self.live is not None:
            self.live.start()
        for source in self.sources:
            thread = threading.Thread(
                target=self._run_source, args=(source,), name=f"source-{source.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _run_source(self, source: LiveSource) -> None:
        try:
            source.run(self, self._stop)
        except Exception as exc:  # a bug, not a connection problem: keep it visible
            self.errors.append(redact(f"{source.name}: {type(exc).__name__}: {exc}"))

    def stop(self, drain_s: float = 30.0) -> None:
        """Stop the sources, commit everything they handed over, let the scorer catch up."""
        self._stop.set()
        for thread in self._threads[1:]:
            thread.join(timeout=10)
        self._queue.put(_STOP)
        self._threads[0].join(timeout=drain_s)
        if self.live is not None:
            deadline = time.monotonic() + drain_s
            while self.live.backlog > 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.live.stop()
        self._write_health(self.stores.get())
        self.rejects.close()
        self.stores.close()

    def run(self, duration: float | None = None) -> None:
        self.start()
        try:
            deadline = None if duration is None else time.monotonic() + duration
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.2)
                if all(not t.is_alive() for t in self._threads[1:]):
                    break
        finally:
            self.stop()

    # --- the single writer -----------------------------------------------------------------

    def _write_loop(self) -> None:
        store = SQLiteStore(self.db)
        self._writer_ready.set()
        last_health = 0.0
        try:
            while True:
                try:
                    item = self._queue.get(timeout=0.2)
                except queue.Empty:
                    item = None
                items = [] if item is None else [item]
                while len(items) < self.batch:
                    try:
                        items.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                done = self._apply(store, items)
                if time.monotonic() - last_health > self.health_every_s:
                    self._write_health(store)
                    last_health = time.monotonic()
                if done:
                    return
        finally:
            self.rejects.flush()
            store.close()

    def _apply(self, store: SQLiteStore, items: list[Any]) -> bool:
        """Apply items in order; consecutive post batches go in one transaction."""
        posts: list[Post] = []
        cursors: dict[str, str] = {}
        received: list[float] = []

        def commit() -> None:
            if not posts and not cursors:
                return
            result = store.add_posts(posts, cursors=cursors)
            now = time.time()
            self.totals.stored += result.inserted
            self.totals.duplicates += result.duplicates
            self.totals.commits += 1
            if received:  # one sample per commit: its oldest post's wait
                self.totals.store_lag.append(now - min(received))
            if self.live is not None:
                self.live.notify(result.inserted)
            posts.clear()
            cursors.clear()
            received.clear()

        for item in items:
            if item is _STOP:
                commit()
                return True
            kind = item[0]
            if kind == "posts":
                _, source, batch, cursor, at = item
                posts.extend(batch)
                received.extend([at] * len(batch))
                if cursor is not None:
                    cursors[source] = cursor
                continue
            commit()
            if kind == "deleted":
                self.totals.deleted += len(store.delete_posts(item[1], item[2]))
            elif kind == "deleted_where":
                post_id = store.post_id_where(item[1], item[2], item[3])
                if post_id is not None:
                    self.totals.deleted += len(store.delete_posts(item[1], [post_id]))
            elif kind == "edited":
                changed = store.edit_posts(item[1])
                self.totals.edited += len(changed)
                if changed and self.live is not None:
                    self.live.notify(0, rescore=changed)
            elif kind == "reject":
                self.totals.rejects += 1
                self.rejects.write(item[1])
        commit()
        return False

    def _scored(self, rowids: Sequence[int]) -> None:
        """Lag from the platform's time to scored, for the oldest post of each batch."""
        store = self.stores.get()
        row = store.db.execute(
            "SELECT min(created_ms) FROM posts WHERE rowid BETWEEN ? AND ?",
            (int(rowids[0]), int(rowids[-1])),
        ).fetchone()
        if row and row[0] is not None:
            self.totals.scored_lag.append(time.time() - row[0] / 1000)

    # --- health ----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        now = time.time()
        totals = self.totals
        return {
            "sources": [s.health.snapshot(now) for s in self.sources],
            "stored": totals.stored,
            "duplicates": totals.duplicates,
            "deleted": totals.deleted,
            "edited": totals.edited,
            "rejects": totals.rejects,
            "rejects_file": str(self.rejects.path) if totals.rejects else None,
            "queued": self._queue.qsize(),
            "scored": self.live.scored_total if self.live else None,
            "backlog": self.live.backlog if self.live else None,
            "store_lag_s": _quantiles(list(totals.store_lag)),
            "scored_lag_s": _quantiles(list(totals.scored_lag)),
            "errors": list(self.errors),
        }

    def _write_health(self, store: SQLiteStore) -> None:
        now = time.time()
        rows = [
            (s.name, orjson.dumps(s.health.snapshot(now)).decode(), int(now * 1000))
            for s in self.sources
        ]
        with store.transaction() as db:
            db.executemany(
                "INSERT INTO source_health (source, snapshot, updated_ms) VALUES (?, ?, ?) "
                "ON CONFLICT (source) DO UPDATE SET snapshot = excluded.snapshot, "
                "updated_ms = excluded.updated_ms",
                rows,
            )
