"""The main job for files: read every post, store it, label it, summarise the crowd.

Streaming and batched: memory stays flat whatever the input size. Posts are committed
batch by batch before they are scored, and scoring always sweeps for stored posts that the
model has not scored yet, so an interrupted run, re-run, resumes without loss or doubling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import orjson

from stormwatch.core.labels import Classifier, Layout, shares
from stormwatch.core.text import without_tags
from stormwatch.records import Post, Reject
from stormwatch.sources.timeparse import from_ms, iso
from stormwatch.store.base import ModelRef, Scored
from stormwatch.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from stormwatch.crowd import CrowdLabels

Progress = Callable[[int], None]
# The labels whose prevalence is stated in words (and tracked per window): those whose
# estimates `stormwatch eval quantify` measures. Weaker heads (sarcasm, genuine questions)
# are in the table with their method, never in a sentence someone might quote.
HEADLINE = ("negative", "offensive")


@dataclass
class RunCounts:
    """What one run saw. `read` = posts parsed; `inserted` + `duplicates` = `read`."""

    read: int = 0
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    skipped: int = 0
    scored: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "inserted": self.inserted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "scored": self.scored,
        }


class RejectsFile:
    """Appends every reject as one JSON line: source, line, kind, reason, raw text."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._handle: IO[bytes] | None = None

    def write(self, reject: Reject) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "ab")  # noqa: SIM115 - kept open across batches
        self._handle.write(
            orjson.dumps(
                {
                    "source": reject.source,
                    "line": reject.line,
                    "kind": reject.kind,
                    "reason": reject.reason,
                    "raw": reject.raw,
                }
            )
            + b"\n"
        )

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _batches(
    items: Iterable[Post | Reject], size: int, on_reject: Callable[[Reject], None]
) -> Iterator[list[Post]]:
    batch: list[Post] = []
    for item in items:
        if isinstance(item, Post):
            batch.append(item)
            if len(batch) >= size:
                yield batch
                batch = []
        else:
            on_reject(item)
    if batch:
        yield batch


def ingest_and_score(
    store: SQLiteStore,
    classifier: Classifier,
    items: Iterable[Post | Reject],
    rejects: RejectsFile | None,
    batch_size: int = 2048,
    run_id: int | None = None,
    progress: Progress | None = None,
) -> tuple[RunCounts, ModelRef]:
    """Store every post, keep every reject, and score whatever the model has not scored."""
    counts = RunCounts()
    model = store.register_model(classifier.name, classifier.version, classifier.layout)

    def on_reject(reject: Reject) -> None:
        if reject.kind == "skipped":
            counts.skipped += 1
        else:
            counts.rejected += 1
        if rejects is not None:
            rejects.write(reject)

    watermark = 0
    for batch in _batches(items, batch_size, on_reject):
        result = store.add_posts(batch, run_id)
        counts.read += len(batch)
        counts.inserted += result.inserted
        counts.duplicates += result.duplicates
        if rejects is not None:
            rejects.flush()
        watermark = _score_pending(store, classifier, model, watermark, batch_size, counts)
        if progress is not None:
            progress(len(batch))
    _score_pending(store, classifier, model, watermark, batch_size, counts)
    return counts, model


def _score_pending(
    store: SQLiteStore,
    classifier: Classifier,
    model: ModelRef,
    after: int,
    batch_size: int,
    counts: RunCounts,
) -> int:
    """Score every stored post after `after` that the model has not scored; returns the
    highest rowid seen so the next sweep starts there."""
    tags = store.campaign_tags()
    while True:
        pending = store.unscored(model, after, batch_size)
        if not pending:
            return after
        rowids = [r[0] for r in pending]
        proba = classifier.predict_proba(without_tags([r[1] for r in pending], tags))
        store.add_scores(model, rowids, proba)
        counts.scored += len(rowids)
        after = rowids[-1]


def parse_window(text: str) -> int:
    """`15m`, `1h`, `2d` -> milliseconds; says what it accepts otherwise."""
    units = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
    number, unit = text[:-1], text[-1:].lower()
    if unit not in units or not number.isdigit() or int(number) == 0:
        raise ValueError(f"window {text!r} is not like 15m, 1h or 1d")
    return int(number) * units[unit]


def window_counts(scored: Scored, flags: dict[str, np.ndarray], width_ms: int) -> dict[str, list]:
    """Counts of each flag per window, over the same windows `windows` uses."""
    timed = scored.created_ms >= 0
    if not timed.any():
        return {}
    bucket = scored.created_ms[timed] // width_ms
    first = int(bucket.min())
    size = int(bucket.max()) - first + 1
    out: dict[str, list] = {"posts": np.bincount(bucket - first, minlength=size).tolist()}
    for name, flag in flags.items():
        counts = np.bincount(bucket - first, weights=flag[timed].astype(np.float64), minlength=size)
        out[name] = [int(c) for c in counts]
    return out


def windows(
    scored: Scored,
    layout: Layout,
    validation: Any,
    methods: dict[str, str],
    width_ms: int,
    labels: tuple[str, ...] = (),
    crowd: CrowdLabels | None = None,
) -> list[dict[str, Any]]:
    """Prevalence per time window (posts without a time are left out), for `labels` or the
    headline labels the model has. Windows with no posts are listed with zero posts.
    `crowd`: people's labels of a random sample of the whole set; the labels it covers are
    estimated per window from it (`crowd.crowd_groups`), the others from the model alone."""
    from stormwatch.core.quantify import prevalences

    timed = scored.created_ms >= 0
    if not timed.any():
        return []
    bucket = scored.created_ms[timed] // width_ms
    proba = scored.proba[timed]
    wanted = labels or tuple(label for label in HEADLINE if label in layout.labels)
    first, last = int(bucket.min()), int(bucket.max())
    from_sheet: dict[str, list] = {}
    if crowd is not None:
        from stormwatch.crowd import crowd_groups

        # Every post takes part in the fit; those without a time form one extra group.
        groups = np.full(len(scored.created_ms), last - first + 1, np.int64)
        groups[timed] = bucket - first
        from_sheet = crowd_groups(scored, layout, crowd, groups)
    series = []
    for b in range(first, last + 1):
        members = bucket == b
        estimated = (
            prevalences(proba[members], layout, validation, methods, replicates=100, labels=wanted)
            if members.any()
            else {}
        )
        for label, per_window in from_sheet.items():
            if label in estimated and per_window[b - first] is not None:
                estimated[label] = per_window[b - first]
        series.append(
            {
                "start": iso(from_ms(b * width_ms)),
                "end": iso(from_ms((b + 1) * width_ms)),
                "posts": int(members.sum()),
                "prevalence": {
                    label: estimated[label].as_dict() for label in wanted if label in estimated
                },
            }
        )
    return series


def likely_campaign_tag(store: SQLiteStore) -> str | None:
    """With no campaign tag recorded, the hashtag on at least half of the posts, if any:
    likely the campaign's own, for a hint. (A scan of every post's hashtags: for `analyze`,
    not for the console's summaries.)"""
    if store.campaign_tags():
        return None
    top = store.top_hashtag()
    posts = store.post_count()
    return top[0] if top and posts and top[1] >= 0.5 * posts else None


def read_baseline(data: dict[str, Any]) -> dict[str, Any]:
    """The early warning's baseline from `preflight --json` output (its `baseline` key)."""
    from stormwatch.core.quantify import Prevalence

    try:
        return {
            label: Prevalence(p["estimate"], p["low"], p["high"], p["method"], p["n"])
            for label, p in data["baseline"].items()
        }
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a preflight result with a baseline ({exc})") from None


def detect_alerts(
    scored: Scored,
    layout: Layout,
    validation: Any,
    config: Any = None,
    baseline: Any = None,
    off_purpose: Any = None,
) -> list[Any]:
    """Run the early-warning detector over the posts in time order, minute by minute (empty
    minutes included), as it would have run live; returns its de-duplicated alerts.
    `off_purpose` (scores, decisions), aligned with `scored`, adds the hijack signal."""
    from stormwatch.core.quantify import binary_views
    from stormwatch.core.warning import LABELS, Detector, Minute

    timed = scored.created_ms >= 0
    if not timed.any() or validation is None:
        return []
    order = np.argsort(scored.created_ms[timed], kind="stable")
    created = scored.created_ms[timed][order]
    views = {
        label: (s, d, ref)
        for label, (s, d, ref) in binary_views(
            scored.proba[timed][order], layout, validation
        ).items()
        if label in LABELS
    }
    if off_purpose is not None:
        scores, decisions = off_purpose
        views["off_purpose"] = (scores[timed][order], decisions[timed][order], None)
    detector = Detector({label: ref for label, (_, _, ref) in views.items()}, config, baseline)
    minute = created // 60_000
    busy, starts = np.unique(minute, return_index=True)
    ends = np.append(starts[1:], len(minute))
    quiet_cap = detector.config.max_span + 1  # a longer silence is the same as this one
    previous = None
    for m, start, end in zip(busy.tolist(), starts.tolist(), ends.tolist(), strict=True):
        if previous is not None:
            for gap in range(previous + 1, min(m, previous + 1 + quiet_cap)):
                detector.update(
                    Minute.of(gap * 60_000, {k: (s[:0], d[:0]) for k, (s, d, _) in views.items()})
                )
        detector.update(
            Minute.of(
                m * 60_000, {k: (s[start:end], d[start:end]) for k, (s, d, _) in views.items()}
            )
        )
        previous = m
    return detector.alerts


def alert_records(
    store: SQLiteStore, scored: Scored, layout: Layout, alerts: list[Any], examples: int = 3
) -> list[dict[str, Any]]:
    """Alerts as records; hostility alerts carry the most negative posts of the five
    minutes before them, as evidence a person can read."""
    from stormwatch.core.quantify import binary_views

    views = binary_views(scored.proba, layout, None)
    out = []
    for alert in alerts:
        record = alert.as_dict()
        if alert.kind == "hostility" and "negative" in views:
            inside = np.flatnonzero(
                (scored.created_ms > alert.at_ms - 300_000)
                & (scored.created_ms < alert.at_ms + 60_000)
            )
            top = inside[np.argsort(-views["negative"][0][inside], kind="stable")][:examples]
            record["evidence"]["examples"] = [
                {"id": p.post.id, "author": p.post.author_handle, "text": p.post.text}
                for p in store.posts_by_rowid(scored.rowids[top].tolist())
            ]
        out.append(record)
    return out


def _themes(store: SQLiteStore, model: ModelRef) -> list[dict[str, Any]]:
    """The stored themes, described (`find_themes` makes them; `analyze` runs it)."""
    from stormwatch.themes import describe_themes

    return describe_themes(store, model)


def _coordination(store: SQLiteStore, model: ModelRef) -> dict[str, Any]:
    from stormwatch.coordination import coordination

    return coordination(store, model)


def summarize(
    store: SQLiteStore,
    model: ModelRef,
    counts: RunCounts,
    include_reposts: bool = False,
    window_ms: int | None = None,
    include_non_english: bool = False,
    scored: Scored | None = None,
    baseline: Any = None,
    with_coordination: bool = True,
    with_themes: bool = True,
    purpose: Any = None,
    crowd: CrowdLabels | None = None,
    warning: Any = None,
) -> dict[str, Any]:
    """The summary object of `analyze --json`. Keys are stable; later features add keys.
    `scored` may be passed in when the caller already holds the (filtered) probabilities;
    `crowd` (`crowd.read_sheet`): people's labels of a random sample, which then give the
    prevalence of the labels they cover; `warning`: the early warning's `WarningConfig`
    (None: as shipped)."""
    from stormwatch.core.quantify import held_short, prevalences, statement
    from stormwatch.core.warning import changed_settings
    from stormwatch.models import interval_evidence, reference_for

    stored = store.counts()
    if scored is None:
        scored = store.scores(
            model, include_reposts=include_reposts, include_non_english=include_non_english
        )
    proba = scored.proba
    validation, methods = reference_for(model.name, model.version)
    evidence = interval_evidence(model.name, model.version)
    estimated = prevalences(proba, model.layout, validation, methods) if len(proba) else {}
    if crowd is not None and len(proba):
        from stormwatch.crowd import crowd_prevalences

        estimated.update(crowd_prevalences(scored, model.layout, crowd))
    off_purpose = None
    purpose_summary = None
    if purpose is not None and len(proba):
        from stormwatch.core.quantify import estimate
        from stormwatch.purpose import off_purpose_view

        off_purpose = off_purpose_view(store, scored.rowids, purpose)
        share = estimate("cc", *off_purpose)
        purpose_summary = {
            "off_purpose": share.as_dict(),
            "threshold": purpose.tau,
            "statement": f"{share.estimate:.0%} of the posts read as off the campaign's "
            f"purpose (counted; 95% interval {share.low:.0%}-{share.high:.0%})",
        }
    first, last = stored["first"], stored["last"]
    span_hours = (last - first).total_seconds() / 3600 if first and last else None
    return {
        "posts": stored["posts"],
        "rejected": counts.rejected,
        "skipped": counts.skipped,
        "duplicates": counts.duplicates,
        "reposts": stored["reposts"],
        "non_english": stored["non_english"],
        "shares_include_non_english": include_non_english,
        "authors": stored["authors"],
        "first": iso(first),
        "last": iso(last),
        "span_hours": round(span_hours, 3) if span_hours is not None else None,
        "posts_per_hour": round(stored["posts"] / span_hours, 2) if span_hours else None,
        "labelled": len(proba),
        "campaign_tags": list(store.campaign_tags()),
        "shares_include_reposts": include_reposts,
        "shares": {k: round(v, 4) for k, v in shares(proba, model.layout).items()},
        "prevalence": {label: p.as_dict() for label, p in estimated.items()},
        "crowd_labels": crowd.counts() if crowd is not None else {},
        "statements": [
            statement(
                label, estimated[label], held=held_short(estimated[label], evidence.get(label))
            )
            for label in HEADLINE
            if label in estimated
        ],
        "model": {"name": model.name, "version": model.version},
        "run": counts.as_dict(),
        "windows": windows(scored, model.layout, validation, methods, window_ms, crowd=crowd)
        if window_ms
        else [],
        "coordination": _coordination(store, model) if with_coordination else None,
        "themes": _themes(store, model) if with_themes else None,
        "alerts": alert_records(
            store,
            scored,
            model.layout,
            detect_alerts(
                scored,
                model.layout,
                validation,
                warning,
                baseline=baseline,
                off_purpose=off_purpose,
            ),
        ),
        "warning_settings": changed_settings(warning),
        "purpose": purpose_summary,
    }
