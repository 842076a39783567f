"""The server's moving parts: per-thread store connections, the micro-batch scorer, and an
in-memory view of every scored post that grows as posts arrive.

Accepted posts are committed to the store before the request returns, so an accepted post
survives a crash; the scorer then labels whatever is stored but unscored, in batches of at
most `batch_size` posts or whatever arrived within `max_wait` seconds, so the model always
sees batches. When more than `max_backlog` posts wait for scoring, ingest answers 429 with
Retry-After instead of growing without bound.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stormwatch.core.labels import Classifier, hard_labels
from stormwatch.core.text import without_tags
from stormwatch.records import Post
from stormwatch.store.base import AddResult, ModelRef, Scored
from stormwatch.store.console import ConsoleStore
from stormwatch.store.sqlite import SQLiteStore


class Stores:
    """One SQLite connection per thread (a connection must stay in its thread)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._all: list[tuple[threading.Thread, SQLiteStore]] = []
        self._lock = threading.Lock()

    def get(self) -> SQLiteStore:
        store = getattr(self._local, "store", None)
        if store is None:
            # Used by this thread only; other threads may only close it at shutdown.
            store = SQLiteStore(self.path, check_same_thread=False)
            self._local.store = store
            with self._lock:
                self._all.append((threading.current_thread(), store))
        return store

    def console(self) -> ConsoleStore:
        return ConsoleStore(self.get().db)

    def close(self, busy: Iterable[threading.Thread] = ()) -> None:
        """Close every connection but those of `busy` threads (still running after the
        shutdown's wait): closing a connection under a running query crashes SQLite; those
        few are left to the process's exit."""
        skip = set(busy)
        with self._lock:
            for owner, store in self._all:
                if owner not in skip:
                    with contextlib.suppress(Exception):
                        store.close()
            self._all.clear()


@dataclass(frozen=True, slots=True)
class View:
    """Every scored post: rowid, time (ms, -1 unknown), probabilities, repost and English
    flags, engagement; in rowid order."""

    rowids: np.ndarray
    created_ms: np.ndarray
    proba: np.ndarray
    repost: np.ndarray
    english: np.ndarray
    engagement: np.ndarray

    def __len__(self) -> int:
        return len(self.rowids)

    def scored(self, include_reposts: bool = False, include_non_english: bool = False) -> Scored:
        keep = np.ones(len(self.rowids), dtype=bool)
        if not include_reposts:
            keep &= ~self.repost
        if not include_non_english:
            keep &= self.english
        return Scored(self.rowids[keep], self.created_ms[keep], self.proba[keep])


class _Columns:
    """Growable column arrays (capacity doubles). A View holds slices of the filled part,
    which later appends never touch, so readers need no lock."""

    def __init__(self, width: int, capacity: int = 4096) -> None:
        self.n = 0
        self.arrays = [
            np.zeros(capacity, np.int64),
            np.zeros(capacity, np.int64),
            np.zeros((capacity, width), np.float32),
            np.zeros(capacity, bool),
            np.zeros(capacity, bool),
            np.zeros(capacity, np.int64),
        ]

    def append(self, *columns: np.ndarray) -> None:
        end = self.n + len(columns[0])
        if end > len(self.arrays[0]):
            size = max(end, 2 * len(self.arrays[0]))
            grown = []
            for array in self.arrays:
                bigger = np.zeros((size, *array.shape[1:]), array.dtype)
                bigger[: self.n] = array[: self.n]
                grown.append(bigger)
            self.arrays = grown
        for array, column in zip(self.arrays, columns, strict=True):
            array[self.n : end] = column
        self.n = end

    def view(self) -> View:
        return View(*(array[: self.n] for array in self.arrays))


class Live:
    """The scorer thread and the growing view of scored posts."""

    def __init__(
        self,
        stores: Stores,
        classifier: Classifier,
        batch_size: int = 512,
        max_wait: float = 1.0,
        max_backlog: int = 20_000,
    ) -> None:
        self.stores = stores
        self.classifier = classifier
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.max_backlog = max_backlog
        self.model: ModelRef = stores.get().register_model(
            classifier.name, classifier.version, classifier.layout
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._view_lock = threading.Lock()
        self._columns = _Columns(classifier.layout.width)
        self._view = self._columns.view()
        self.backlog = self._count_unscored()
        self.ready = threading.Event()  # set once the view holds every stored score
        self._flags: tuple[int, dict[str, np.ndarray]] = (0, {})
        self._flags_lock = threading.Lock()
        self.scored_total = 0
        self.accepted_total = 0
        self.last_error: str | None = None

    # --- ingest ------------------------------------------------------------------------

    def _count_unscored(self) -> int:
        return int(
            self.stores.get()
            .db.execute(
                "SELECT count(*) FROM posts p WHERE NOT EXISTS (SELECT 1 FROM scores s "
                "WHERE s.model_id = ? AND s.post_rowid = p.rowid)",
                (self.model.id,),
            )
            .fetchone()[0]
        )

    def full(self) -> bool:
        return self.backlog >= self.max_backlog

    def retry_after(self) -> int:
        """Seconds until the backlog should have room, from the recent scoring rate."""
        return max(1, min(30, round(self.backlog / max(self._rate, 1.0))))

    _rate = 2_000.0  # posts/s, updated as batches are scored

    def accept(self, posts: Sequence[Post]) -> AddResult:
        """Store posts (committed before returning) and wake the scorer."""
        result = self.stores.get().add_posts(posts)
        self.notify(result.inserted)
        return result

    def notify(self, inserted: int, rescore: Sequence[int] = ()) -> None:
        """Another writer committed `inserted` new posts, and dropped the scores of the
        `rescore` rowids (edited posts): wake the scorer."""
        self.backlog += inserted + len(rescore)
        self.accepted_total += inserted
        if rescore:
            with self._view_lock:
                self._rescore_from = min(self._rescore_from or rescore[0], *rescore) - 1
        if inserted or rescore:
            self._wake.set()

    _rescore_from: int | None = None
    on_scored: Callable[[Sequence[int]], None] | None = None  # e.g. to measure lag

    # --- scoring -----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="stormwatch-scorer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        self.refresh()
        self.ready.set()
        after = 0
        while not self._stop.is_set():
            self._wake.wait(timeout=self.max_wait)
            self._wake.clear()
            # Micro-batch: give a trickle up to max_wait to fill a batch.
            deadline = time.monotonic() + self.max_wait
            while (
                self.backlog < self.batch_size
                and time.monotonic() < deadline
                and not self._stop.is_set()
            ):
                time.sleep(0.05)
            with self._view_lock:
                if self._rescore_from is not None:
                    after, self._rescore_from = min(after, self._rescore_from), None
            try:
                after = self.score_pending(after)
                self.last_error = None
            except Exception as exc:
                self.last_error = f"scoring failed: {exc!r}"
                time.sleep(1)

    def score_pending(self, after: int = 0) -> int:
        """Score every stored, unscored post (in batches); returns the last rowid seen."""
        store = self.stores.get()
        tags = store.campaign_tags()
        while True:
            pending = store.unscored(self.model, after, self.batch_size)
            if not pending:
                if not self._wake.is_set():  # caught up, nothing new since: the count is 0
                    self.backlog = 0  # (deleted posts were counted but are never scored)
                break
            started = time.perf_counter()
            rowids = [r[0] for r in pending]
            proba = self.classifier.predict_proba(without_tags([r[1] for r in pending], tags))
            store.add_scores(self.model, rowids, proba)
            elapsed = max(time.perf_counter() - started, 1e-6)
            self._rate = 0.8 * self._rate + 0.2 * (len(rowids) / elapsed)
            self.backlog = max(0, self.backlog - len(rowids))
            self.scored_total += len(rowids)
            after = rowids[-1]
            if self.on_scored is not None:
                self.on_scored(rowids)
            self.refresh()
        return after

    # --- the view ----------------------------------------------------------------------

    def refresh(self) -> View:
        """Append posts scored since the last refresh to the view."""
        with self._view_lock:
            view = self._view
            last = int(view.rowids[-1]) if len(view) else 0
            rows = (
                self.stores.get()
                .db.execute(
                    "SELECT s.post_rowid, coalesce(p.created_ms, -1), s.proba, "
                    "p.repost_of IS NOT NULL, p.english, "
                    "coalesce(p.like_count, 0) + coalesce(p.repost_count, 0) "
                    "FROM scores s JOIN posts p ON p.rowid = s.post_rowid "
                    "WHERE s.model_id = ? AND s.post_rowid > ? ORDER BY s.post_rowid",
                    (self.model.id, last),
                )
                .fetchall()
            )
            if not rows:
                return view
            n, width = len(rows), self.model.layout.width
            self._columns.append(
                np.fromiter((r[0] for r in rows), np.int64, n),
                np.fromiter((r[1] for r in rows), np.int64, n),
                np.frombuffer(b"".join(r[2] for r in rows), np.float32).reshape(n, width),
                np.fromiter((r[3] for r in rows), bool, n),
                np.fromiter((r[4] for r in rows), bool, n),
                np.fromiter((r[5] for r in rows), np.int64, n),
            )
            self._view = self._columns.view()
            return self._view

    @property
    def view(self) -> View:
        return self._view

    def flags(self) -> tuple[View, dict[str, np.ndarray]]:
        """The view and every post's hard labels, extended (not recomputed) as it grows."""
        view = self._view
        with self._flags_lock:
            done, flags = self._flags
            if done < len(view):
                fresh = hard_labels(view.proba[done:], self.model.layout)
                flags = {
                    label: np.concatenate([flags[label], fresh[label]]) if flags else fresh[label]
                    for label in fresh
                }
                self._flags = (len(view), flags)
            elif done > len(view):  # cannot happen: the view only grows
                raise RuntimeError("the view shrank")
        return view, {label: flag[: len(view)] for label, flag in flags.items()}


def track_themes(
    db: str | Path, live: Live, stopping: threading.Event, every_s: float, after: int
) -> None:
    """The console's themes worker: find themes once `after` posts are labelled; then assign
    new posts and propose new themes as they gather (ids stay stable), every `every_s`
    seconds until `stopping` is set. A failure is shown as the console's last error."""
    from stormwatch.models.embedding import load_embedder
    from stormwatch.store.themes import ThemeStore
    from stormwatch.themes import ThemeTracker, find_themes

    store = SQLiteStore(db)
    try:
        embedder = load_embedder("static")
        tracker = ThemeTracker(store, embedder)
        while not stopping.wait(every_s):
            try:
                if not ThemeStore(store.db).active():
                    if len(live.view) >= after:
                        find_themes(store, embedder)
                else:
                    tracker.update()
            except Exception as exc:  # keep the console up; say what failed
                live.last_error = f"themes: {exc!r}"
    finally:
        store.close()
