"""`stormwatch eval warning`: does the early warning fire early on hijacks and stay quiet
on calm streams? Streams are built from real labelled posts (TweetEval sentiment), minute
by minute, and the classifier labels them once; the detector sees only its probabilities.

- Calm streams: 15 days each (the first teaches the baseline), 1-6 posts a minute with a
  daily rhythm (quiet nights), a baseline negative share between 10% and 40% drifting a
  little.
- Hijack streams: calm for days, then at a random moment volume ramps up 10-50x over
  10-60 minutes while the negative share climbs to 55-80%, and stays there until the
  stream ends (12-29 hours later).
- Viral streams: the same volume surge with the mood unchanged (a friendly viral moment);
  a warning or critical there is a false alarm (a `watch` is the right answer).

Delays are counted from the onset, in minutes and in posts. Beside the detector, the
spike rule listening tools document (alarm when the last 24 hours' mean of hourly
negative posts exceeds the trailing 7 days' mean by k standard deviations, checked
hourly) runs on the same streams. Thresholds were chosen on streams built from the
validation split (`--split validation`); the reported figures use the test split.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stormwatch.core.labels import Layout
from stormwatch.core.metrics import bootstrap_interval
from stormwatch.core.quantify import binary_views
from stormwatch.core.warning import LEVELS, Detector, Minute, WarningConfig

Log = Callable[[str], None]
DAY = 1440  # minutes
CALM_DAYS = 15
_SPIKE_START = 24 + 168  # hours: the spike rule needs a day and the week before it
START_MS = 1_700_006_400_000  # a midnight UTC: the streams' clock starts here


@dataclass(frozen=True)
class Pool:
    """Labelled posts to draw from: per label (scores, decisions) and the truth."""

    negative: np.ndarray  # indices of truly negative posts
    other: np.ndarray
    views: dict[str, tuple[np.ndarray, np.ndarray]]


def build_pool(proba: np.ndarray, layout: Layout, truth: np.ndarray) -> Pool:
    views = {
        label: (scores, decisions)
        for label, (scores, decisions, _) in binary_views(proba, layout, None).items()
        if label in ("negative", "offensive")
    }
    return Pool(np.flatnonzero(truth == 0), np.flatnonzero(truth != 0), views)


def _minute(rng: np.random.Generator, pool: Pool, start_ms: int, n: int, share: float) -> Minute:
    k = int(rng.binomial(n, share))
    index = np.concatenate([rng.choice(pool.negative, k), rng.choice(pool.other, n - k)]).astype(
        np.int64
    )
    return Minute.of(
        start_ms, {label: (s[index], d[index]) for label, (s, d) in pool.views.items()}
    )


def _rhythm(minute: int) -> float:
    """Daily rhythm: busiest mid-afternoon UTC, quietest before dawn (x0.4 .. x1.6)."""
    hour = (minute % DAY) / 60
    return 1 + 0.6 * np.sin(2 * np.pi * (hour - 9) / 24)


@dataclass
class Stream:
    minutes: list[Minute]
    negatives: np.ndarray  # classifier-counted negative posts per minute (for the k-sigma rule)
    onset: int | None  # minute of the hijack's onset
    posts: np.ndarray  # posts per minute


def make_stream(
    rng: np.random.Generator, pool: Pool, days: float, hijack: bool, hostile: bool = True
) -> Stream:
    """A calm stream, or one with a surge at a random moment: hostile (a hijack) or, with
    `hostile=False`, the same volume surge with the mood as it was (a viral moment)."""
    total = int(days * DAY)
    rate = rng.uniform(1, 6)
    base = rng.uniform(0.10, 0.40)
    onset = int(rng.uniform(total - 1.2 * DAY, total - 0.5 * DAY)) if hijack else None
    ramp = rng.uniform(10, 60)
    surge = rng.uniform(10, 50)
    peak = rng.uniform(0.55, 0.80) if hostile else base
    drift = 0.0
    minutes, negatives, posts = [], np.zeros(total), np.zeros(total, dtype=np.int64)
    for t in range(total):
        drift = float(np.clip(drift + rng.normal(0, 0.002), -0.04, 0.04))
        share = float(np.clip(base + drift, 0.02, 0.95))
        volume = rate * _rhythm(t)
        if onset is not None and t >= onset:
            progress = min(1.0, (t - onset + 1) / ramp)
            volume *= 1 + (surge - 1) * progress
            share = share + (peak - share) * progress
        n = int(rng.poisson(volume))
        minute = _minute(rng, pool, START_MS + t * 60_000, n, share)
        minutes.append(minute)
        negatives[t] = minute.hist["negative"][0][1::2].sum()
        posts[t] = n
    return Stream(minutes, negatives, onset, posts)


def run_detector(stream: Stream, references: dict, config: WarningConfig) -> dict[str, list[int]]:
    """Minutes at which each level was first raised (de-duplicated alerts)."""
    detector = Detector(references, config)
    fired: dict[str, list[int]] = {level: [] for level in LEVELS}
    for t, minute in enumerate(stream.minutes):
        for alert in detector.update(minute).raised:
            fired[alert.level].append(t)
    return fired


def spike_rule(stream: Stream, k: float) -> list[int]:
    """Minutes (hour ends) at which the k-sigma rule alarms, checked hourly."""
    hours = len(stream.negatives) // 60
    hourly = stream.negatives[: hours * 60].reshape(hours, 60).sum(axis=1)
    fired = []
    for h in range(_SPIKE_START, hours + 1):
        recent = hourly[h - 24 : h]
        history = hourly[h - 24 - 168 : h - 24]
        if recent.mean() > history.mean() + k * history.std():
            fired.append(h * 60 - 1)
    return fired


def _delays(stream: Stream, fired: list[int]) -> tuple[float | None, float | None]:
    after = [t for t in fired if stream.onset is not None and t >= stream.onset]
    if not after:
        return None, None
    t = after[0]
    return float(t - stream.onset + 1), float(stream.posts[stream.onset : t + 1].sum())


def _summarise(values: list[float | None], replicates: int = 2000) -> dict[str, Any]:
    """Median and 90th percentile of the detected streams' delays, each with a 95% interval
    (a bootstrap over those streams, seeded): twenty hijacks pin a median down to a few
    minutes and a 90th percentile much less well, and a reader comparing two settings
    should see that."""
    found = np.array([v for v in values if v is not None], dtype=np.float64)
    summary: dict[str, Any] = {"detected": f"{len(found)}/{len(values)}"}
    if not len(found):
        return summary | {"median": None, "p90": None, "median_ci": None, "p90_ci": None}
    for name, q in (("median", 50), ("p90", 90)):
        low, high = bootstrap_interval(
            lambda d, q=q: float(np.percentile(found[d], q)), len(found), replicates
        )
        summary[name] = round(float(np.percentile(found, q)), 1)
        summary[f"{name}_ci"] = [round(low, 1), round(high, 1)]
    return summary


def run_warning_eval(
    root: Path,
    tier: str = "fast",
    split: str = "test",
    calm_streams: int = 8,
    hijack_streams: int = 20,
    seed: int = 0,
    config: WarningConfig | None = None,
    log: Log = print,
    viral_streams: int = 20,
) -> dict[str, Any]:
    from stormwatch.datasets import load_split
    from stormwatch.models import load_classifier, reference_for

    config = config or WarningConfig()
    classifier = load_classifier(tier)
    validation, _ = reference_for(classifier.name, classifier.version)
    texts, truth = load_split(root, "sentiment", split)
    proba = classifier.predict_proba(texts)
    pool = build_pool(proba, classifier.layout, truth)
    empty = np.zeros((0, classifier.layout.width), dtype=np.float32)
    references = {
        label: ref
        for label, (_, _, ref) in binary_views(empty, classifier.layout, validation).items()
        if label in ("negative", "offensive")
    }
    rng = np.random.default_rng(seed)
    levels_plus = {"watch": LEVELS, "warning": LEVELS[1:], "critical": LEVELS[2:]}
    calm: dict[str, list[int]] = {level: [] for level in LEVELS}
    calm_spike: dict[float, list[int]] = {k: [] for k in (1.5, 2.0, 3.0)}
    started = time.perf_counter()
    minutes_run = 0
    for i in range(calm_streams):
        stream = make_stream(rng, pool, CALM_DAYS, hijack=False)
        fired = run_detector(stream, references, config)
        # The first day teaches the baseline and the rhythm; count alarms over the week after.
        for level in LEVELS:
            calm[level].append(sum(1 for lv in levels_plus[level] for t in fired[lv] if t >= DAY))
        for k in calm_spike:
            calm_spike[k].append(len(spike_rule(stream, k)))
        minutes_run += len(stream.minutes)
        log(f"calm stream {i + 1}/{calm_streams}: { ({lv: calm[lv][-1] for lv in LEVELS}) }")
    delays: dict[str, list] = {level: [] for level in LEVELS}
    posts_after: dict[str, list] = {level: [] for level in LEVELS}
    spike_delays: dict[float, list] = {k: [] for k in (1.5, 2.0, 3.0)}
    early: dict[str, int] = dict.fromkeys(LEVELS, 0)
    for i in range(hijack_streams):
        stream = make_stream(rng, pool, 8.5, hijack=True)
        fired = run_detector(stream, references, config)
        for level in LEVELS:
            times = sorted(t for lv in levels_plus[level] for t in fired[lv])
            minutes, posts = _delays(stream, times)
            delays[level].append(minutes)
            posts_after[level].append(posts)
            early[level] += sum(1 for t in times if DAY <= t < (stream.onset or 0))
        for k in spike_delays:
            spike_delays[k].append(_delays(stream, spike_rule(stream, k))[0])
        minutes_run += len(stream.minutes)
        log(f"hijack stream {i + 1}/{hijack_streams}: warning after {delays['warning'][-1]} min")
    # Drawn after the hijacks, so adding them left the calm and hijack streams as they were.
    viral: dict[str, int] = dict.fromkeys(LEVELS, 0)
    for i in range(viral_streams):
        stream = make_stream(rng, pool, 8.5, hijack=True, hostile=False)
        fired = run_detector(stream, references, config)
        for level in LEVELS:
            viral[level] += any(
                t >= (stream.onset or 0) for lv in levels_plus[level] for t in fired[lv]
            )
        minutes_run += len(stream.minutes)
        log(f"viral stream {i + 1}/{viral_streams}: warning+ {viral['warning']} so far")
    elapsed = time.perf_counter() - started
    calm_weeks = calm_streams * (CALM_DAYS - 1) / 7  # the first day teaches the baseline
    spike_weeks = calm_streams * (CALM_DAYS * 24 - _SPIKE_START) / 168
    pre_onset_weeks = hijack_streams * 6.4 / 7  # about 6.4 calm days after learning, each
    return {
        "tier": tier,
        "split": split,
        "seed": seed,
        "config": config.__dict__,
        "calm": {
            "weeks": round(calm_weeks, 1),
            "false_alarms_per_week": {
                level: round(sum(calm[level]) / calm_weeks, 3) for level in LEVELS
            },
            "false_alarms_before_onset_per_week": {
                level: round(early[level] / pre_onset_weeks, 3) for level in LEVELS
            },
        },
        "hijack": {
            level: {
                "minutes": _summarise(delays[level]),
                "posts": _summarise(posts_after[level]),
            }
            for level in LEVELS
        },
        # Streams with a friendly viral surge (mood unchanged) on which each level (or
        # higher) was raised after the surge began: watch is right, warning+ is false.
        "viral": {"streams": viral_streams, "raised": viral},
        "spike_rule": {
            f"k={k}": {
                "false_alarms_per_week": round(sum(calm_spike[k]) / spike_weeks, 3),
                "minutes": _summarise(spike_delays[k]),
            }
            for k in calm_spike
        },
        "minutes_per_second": round(minutes_run / elapsed, 1),
    }
