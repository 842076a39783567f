"""Themes of a stored campaign: find them, name them, keep their ids, assign new posts.

`find_themes` runs the core pipeline (`core.themes`) over the store's English original
posts and writes the result back (`themes`, `post_themes`); `describe_themes` reads it into
the `themes` key of `analyze --json`, the report and the console; `ThemeTracker` assigns
posts that arrive later to the existing themes and proposes a new theme when enough
unassigned posts gather.

Ids are stable: a theme found again on a later run (its centroid close to an old one's)
keeps the old id; a theme that is gone is retired, never reused.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stormwatch.core import themes as core
from stormwatch.core.labels import hard_labels
from stormwatch.core.quantify import wilson
from stormwatch.models.embedding import Embedder
from stormwatch.sources.timeparse import from_ms, iso
from stormwatch.store.base import ModelRef
from stormwatch.store.sqlite import SQLiteStore
from stormwatch.store.themes import ThemeStore

SAME_THEME = 0.8  # centroid cosine at which a new theme is an old one found again
MIX = ("negative", "neutral", "positive", "offensive", "hate", "irony", "sarcastic")
Log = Callable[[str], None]


@dataclass
class Corpus:
    rowids: np.ndarray
    texts: list[str]
    created_ms: np.ndarray


def _corpus(store: SQLiteStore) -> Corpus:
    rows = store.db.execute(
        "SELECT rowid, text, coalesce(created_ms, -1) FROM posts WHERE repost_of IS NULL "
        "AND english = 1 AND deleted_ms IS NULL ORDER BY rowid"
    ).fetchall()
    return Corpus(
        np.fromiter((r[0] for r in rows), np.int64, len(rows)),
        [r[1] for r in rows],
        np.fromiter((r[2] for r in rows), np.int64, len(rows)),
    )


def _match_ids(old: list[dict[str, Any]], centroids: np.ndarray, next_id: int) -> list[int]:
    """Greedy one-to-one matching of new centroids to old themes by cosine >= SAME_THEME."""
    ids = [-1] * len(centroids)
    if old and len(centroids):
        sims = centroids @ np.stack([t["centroid"] for t in old]).T
        taken: set[int] = set()
        for flat in np.argsort(-sims, axis=None):
            i, j = divmod(int(flat), sims.shape[1])
            if sims[i, j] < SAME_THEME:
                break
            if ids[i] == -1 and j not in taken:
                ids[i] = int(old[j]["id"])
                taken.add(j)
    for i in range(len(ids)):
        if ids[i] == -1:
            ids[i] = next_id
            next_id += 1
    return ids


def find_themes(
    store: SQLiteStore,
    embedder: Embedder,
    pipeline: core.ThemePipeline | None = None,
    exclude: frozenset[str] = frozenset(),
    log: Log | None = None,
    max_posts: int = 150_000,
) -> dict[str, Any]:
    """Cluster the stored posts into themes and save them; returns timings and counts.
    Above `max_posts`, themes are found on a seeded sample of that many and every other
    post joins its nearest theme (or noise) batch by batch, so memory stays bounded."""
    started = time.perf_counter()
    corpus = _corpus(store)
    pipeline = pipeline or core.ThemePipeline()
    sampled = len(corpus.texts) > max_posts
    if sampled:
        rng = np.random.default_rng(pipeline.seed)
        fitted = np.sort(rng.choice(len(corpus.texts), max_posts, replace=False))
    else:
        fitted = np.arange(len(corpus.texts))
    embeddings = embedder.embed([corpus.texts[i] for i in fitted])
    embedded = time.perf_counter()
    fit = pipeline.fit(embeddings)
    del embeddings
    labels = np.full(len(corpus.texts), -1, dtype=np.int64)
    labels[fitted] = fit.labels
    if sampled and len(fit.centroids):
        rest = np.setdiff1d(np.arange(len(corpus.texts)), fitted)
        for start in range(0, len(rest), 20_000):
            chunk = rest[start : start + 20_000]
            vectors = core.common_direction_removed(
                embedder.embed([corpus.texts[i] for i in chunk]), fit.mean, fit.axis
            )
            sims = vectors @ fit.centroids.T
            best = sims.argmax(axis=1)
            close = sims[np.arange(len(chunk)), best] >= fit.threshold
            labels[chunk] = np.where(close, best, -1)
    fit.labels = labels
    clustered = time.perf_counter()
    exclude = exclude | core.campaign_terms(corpus.texts)
    words = core.keywords(corpus.texts, fit.labels, exclude)
    themes_store = ThemeStore(store.db)
    ids = _match_ids(themes_store.active(), fit.centroids, themes_store.next_id())
    themes = []
    for label in range(len(fit.centroids)):
        terms = words.get(label, [])
        themes.append(
            {
                "id": ids[label],
                "label": core.label_of(terms),
                "keywords": terms,
                "size": int((fit.labels == label).sum()),
                "centroid": fit.centroids[label],
            }
        )
    theme_of = np.array([ids[v] if v >= 0 else -1 for v in fit.labels], dtype=np.int64)
    state = {
        "mean": fit.mean.astype(np.float32).tobytes(),
        "axis": fit.axis.astype(np.float32).tobytes(),
        "threshold": np.float32(fit.threshold).tobytes(),
        "exclude": "\n".join(sorted(exclude)).encode(),
    }
    themes_store.save(themes, corpus.rowids, theme_of, state, f"{embedder.name} {embedder.version}")
    done = time.perf_counter()
    figures = {
        "posts": len(corpus.rowids),
        "themes": len(themes),
        "noise": round(float((theme_of < 0).mean()), 4) if len(theme_of) else None,
        "seconds": {
            "embed": round(embedded - started, 2),
            "cluster": round(clustered - embedded, 2),
            "describe_and_save": round(done - clustered, 2),
        },
    }
    if log:
        log(
            f"themes: {figures['themes']} over {figures['posts']:,} posts "
            f"({figures['noise'] or 0:.0%} noise) in {done - started:.1f} s"
        )
    return figures


def describe_themes(
    store: SQLiteStore, model: ModelRef | None, examples: int = 5, windows: int = 12
) -> list[dict[str, Any]]:
    """The `themes` key: each active theme with id, label, keywords, size, share (95%
    interval over every themed or noise post), sentiment and abuse mix, its rise over the
    campaign's time, and representative, diverse posts."""
    themes_store = ThemeStore(store.db)
    active = themes_store.active()
    if not active:
        return []
    rows = store.db.execute(
        "SELECT t.post_rowid, coalesce(t.theme_id, -1), p.text, coalesce(p.created_ms, -1) "
        "FROM post_themes t JOIN posts p ON p.rowid = t.post_rowid "
        "WHERE p.deleted_ms IS NULL ORDER BY t.post_rowid"
    ).fetchall()
    rowids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    labels = np.fromiter((r[1] for r in rows), np.int64, len(rows))
    texts = [r[2] for r in rows]
    created = np.fromiter((r[3] for r in rows), np.int64, len(rows))
    flags = _flags(store, model, rowids)
    mix = core.share_rows(flags, labels, MIX) if flags else {}
    rises = core.rise(created, labels, windows)
    state = themes_store.state()
    embedder_vectors = _vectors_for_examples(store, active, rowids, labels, texts, state)
    total = len(rowids)
    out = []
    for theme in active:
        tid = int(theme["id"])
        members = np.flatnonzero(labels == tid)
        size = len(members)
        low, high = wilson(size / total, total) if total else (0.0, 0.0)
        chosen = embedder_vectors(tid, members)
        timed = created[members][created[members] >= 0]
        out.append(
            {
                "id": tid,
                "label": theme["label"],
                "keywords": theme["keywords"],
                "size": size,
                "share": {
                    "estimate": round(size / total, 4) if total else 0.0,
                    "low": round(low, 4),
                    "high": round(high, 4),
                },
                "mix": mix.get(tid, {}),
                "rise": rises.get(tid, []),
                "first": iso(from_ms(int(timed.min()))) if len(timed) else None,
                "peak_window": int(np.argmax(rises[tid])) if rises.get(tid) else None,
                "examples": [
                    {"rowid": int(rowids[i]), "text": texts[i]} for i in chosen[:examples]
                ],
            }
        )
    out.sort(key=lambda t: -t["size"])
    return out


def _flags(store: SQLiteStore, model: ModelRef | None, rowids: np.ndarray) -> dict[str, np.ndarray]:
    if model is None or not len(rowids):
        return {}
    scored = store.scores(model, include_reposts=True, include_non_english=True)
    if not len(scored):
        return {}
    position = np.searchsorted(scored.rowids, rowids)
    position = np.minimum(position, len(scored.rowids) - 1)
    known = scored.rowids[position] == rowids
    hard = hard_labels(scored.proba[position], model.layout)
    return {name: np.where(known, flag, False) for name, flag in hard.items()}


def _vectors_for_examples(
    store: SQLiteStore,
    active: list[dict[str, Any]],
    rowids: np.ndarray,
    labels: np.ndarray,
    texts: list[str],
    state: dict[str, bytes],
) -> Callable[[int, np.ndarray], list[int]]:
    """Representative posts need embeddings; they are recomputed for the members only."""
    from stormwatch.models.embedding import load_embedder

    centroids = {int(t["id"]): t["centroid"] for t in active}
    embedder = load_embedder("static")
    mean = np.frombuffer(state.get("mean", b""), dtype=np.float32)
    axis = np.frombuffer(state.get("axis", b""), dtype=np.float32)

    def pick(tid: int, members: np.ndarray) -> list[int]:
        if not len(members):
            return []
        sample = members[:2000]
        vectors = embedder.embed([texts[i] for i in sample])
        if len(mean) == vectors.shape[1]:
            vectors = core.common_direction_removed(vectors, mean, axis)
        if centroids[tid].shape[0] != vectors.shape[1]:  # themes made by another embedder
            return [int(i) for i in sample[:5]]
        chosen = core.representatives(
            vectors, np.arange(len(sample)), centroids[tid], [texts[i] for i in sample]
        )
        return [int(sample[i]) for i in chosen]

    return pick


@dataclass
class ThemeTracker:
    """Live themes: posts are assigned to the nearest existing theme when close enough;
    the rest wait in a pool, and when `propose_at` have gathered they are clustered and any
    group unlike every existing theme becomes a new one (with a new id)."""

    store: SQLiteStore
    embedder: Embedder
    propose_at: int = 300
    pipeline: core.ThemePipeline = field(default_factory=core.ThemePipeline)
    pool: list[tuple[int, str]] = field(default_factory=list)

    def update(self, limit: int = 20_000) -> dict[str, int]:
        """Assign every post not yet themed; returns counts."""
        themes_store = ThemeStore(self.store.db)
        waiting = {r for r, _ in self.pool}
        posts = [p for p in themes_store.unthemed(limit + len(waiting)) if p[0] not in waiting]
        if not posts:
            return {"assigned": 0, "pooled": len(self.pool), "new_themes": 0}
        active = themes_store.active()
        state = themes_store.state()
        if not active or "mean" not in state:
            return {"assigned": 0, "pooled": len(posts), "new_themes": 0}
        mean = np.frombuffer(state["mean"], dtype=np.float32)
        axis = np.frombuffer(state["axis"], dtype=np.float32)
        threshold = float(np.frombuffer(state["threshold"], dtype=np.float32)[0])
        vectors = core.common_direction_removed(
            self.embedder.embed([t for _, t in posts]), mean, axis
        )
        centroids = np.stack([t["centroid"] for t in active])
        sims = vectors @ centroids.T
        best = sims.argmax(axis=1)
        close = sims[np.arange(len(posts)), best] >= threshold
        ids = np.array([active[b]["id"] for b in best], dtype=np.int64)
        assigned = [(posts[i][0], int(ids[i])) for i in np.flatnonzero(close)]
        self.pool.extend(posts[i] for i in np.flatnonzero(~close))
        new = (
            self._propose(themes_store, active, mean, axis)
            if len(self.pool) >= self.propose_at
            else 0
        )
        if assigned:
            with self.store.transaction() as db:
                db.executemany(
                    "INSERT INTO post_themes (post_rowid, theme_id) VALUES (?, ?) "
                    "ON CONFLICT (post_rowid) DO UPDATE SET theme_id = excluded.theme_id",
                    assigned,
                )
                db.executemany(
                    "UPDATE themes SET size = size + 1, updated_ms = ? WHERE theme_id = ?",
                    [(int(time.time() * 1000), tid) for _, tid in assigned],
                )
        return {"assigned": len(assigned), "pooled": len(self.pool), "new_themes": new}

    def _propose(
        self,
        themes_store: ThemeStore,
        active: list[dict[str, Any]],
        mean: np.ndarray,
        axis: np.ndarray,
    ) -> int:
        pool, self.pool = self.pool, []
        texts = [t for _, t in pool]
        vectors = core.common_direction_removed(self.embedder.embed(texts), mean, axis)
        fit = self.pipeline.fit(vectors)
        old = np.stack([t["centroid"] for t in active])
        exclude = frozenset(themes_store.state().get("exclude", b"").decode().split("\n")) - {""}
        words = core.keywords(texts, fit.labels, exclude)
        next_id = themes_store.next_id()
        fresh, theme_of = [], np.full(len(pool), -1, dtype=np.int64)
        for label in range(len(fit.centroids)):
            members = fit.labels == label
            similarity = old @ fit.centroids[label]
            if similarity.max() >= SAME_THEME:  # an existing theme, grown: not a new one
                theme_of[members] = int(active[int(similarity.argmax())]["id"])
                continue
            fresh.append(
                {
                    "id": next_id,
                    "label": core.label_of(words.get(label, [])),
                    "keywords": words.get(label, []),
                    "size": int(members.sum()),
                    "centroid": fit.centroids[label],
                }
            )
            theme_of[members] = next_id
            next_id += 1
        rowids = np.array([r for r, _ in pool], dtype=np.int64)
        themes_store.save(
            fresh,
            rowids,
            theme_of,
            {},
            f"{self.embedder.name} {self.embedder.version}",
            replace_all=False,
        )
        return len(fresh)
