"""Early warning: is a backlash starting? A detector over the scored stream, minute by
minute, that works on per-minute aggregates (histograms of probabilities that add up), so
its cost does not grow with the post rate.

Evidence it weighs, each on a trailing window of `span` minutes:
- hostility beyond the baseline, judged with intervals: the lower bound of the negative
  (or offensive, or off-purpose when the organiser stated a purpose) share above the
  baseline's upper bound plus a margin. The share compared is the mean score (PCC) by
  default: a post's probability says more than its 0/1 decision, so a rise is beyond
  doubt sooner; it is compared with the baseline's mean score, never read as a
  prevalence of its own;
- a slow build-up: a one-sided CUSUM on each minute's share against the baseline;
- volume: posts against the expected count (an hour-of-day rhythm learned as it goes).

Levels: `watch` (volume alone, or hostility not yet beyond doubt), `warning` (hostility
beyond the baseline, beyond doubt), `critical` (hostility held for `critical_minutes` and
either a majority negative or a volume surge). A friendly viral moment never goes beyond
`watch`. The baseline is the pre-flight one when given, else learned from the first
`learn_minutes` of the stream.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from stormwatch.core.quantify import (
    Cells,
    Prevalence,
    Reference,
    estimate_cells,
    histogram,
    point_cells,
    wilson,
)

LEVELS = ("watch", "warning", "critical")
MEASURES = {"pcc": "mean probability", "cc": "share of posts"}  # what an alert's `share` is
COMPARED = ("cc", "pcc")  # what the detector can compare: counted shares or mean scores
LABELS = ("negative", "offensive", "off_purpose")  # off_purpose: only with a stated purpose
BINS = 32  # score bins per decision in a minute's histogram (exact for CC/ACC)
RECOMMENDATIONS = {
    "watch": "continue, and keep someone watching the stream",
    "warning": (
        "tighten moderation: hold questions for review before they are shown, stop "
        "displaying the raw hashtag feed, prepare a holding statement"
    ),
    "critical": (
        "pause the session; answer only pre-collected questions or cancel, and say why in "
        "one plain post"
    ),
}


@dataclass(frozen=True, slots=True)
class Minute:
    """One minute of scored posts: its start (epoch ms), post count, and per label the
    (counts, sums) histogram of its probabilities and decisions."""

    start_ms: int
    n: int
    hist: Mapping[str, tuple[np.ndarray, np.ndarray]]

    @classmethod
    def of(
        cls,
        start_ms: int,
        views: Mapping[str, tuple[np.ndarray, np.ndarray]],
    ) -> Minute:
        """From label -> (scores, decisions) of the minute's posts."""
        n = len(next(iter(views.values()))[0]) if views else 0
        return cls(
            start_ms,
            n,
            {label: histogram(s, d, BINS) for label, (s, d) in views.items()},
        )


@dataclass(frozen=True)
class WarningConfig:
    span: int = 5  # minutes in the trailing window, at least
    max_span: int = 60  # ... stretched back until it holds min_posts posts
    learn_minutes: int = 360
    memory_minutes: int = 2880  # the baseline keeps learning from calm minutes, this long
    # How far beyond the baseline's upper bound counts as hostile, in points of the true
    # share: the detector converts it into the points of what it compares (a counted
    # share or a mean score moves by the classifier's validated gap per point of the true
    # share: TPR - FPR, or the mean score of positives minus that of negatives), so one
    # setting means the same for every tier.
    margin: float = 0.14
    confidence: float = 0.999
    # The same for a `watch` that a share is rising (val calm weeks, mean scores: 218 watch
    # alerts with none, 33 with 0.05; counting had 47).
    watch_margin: float = 0.05
    persist: int = 3  # minutes beyond the margin before it counts (one noisy window won't)
    min_posts: int = 60  # in the trailing window, before hostility is judged
    cusum_k: float = 1.0  # allowance, in standard errors per minute
    cusum_h: float = 12.0  # alarm threshold of the CUSUM
    burst_ratio: float = 2.0  # volume / expected for a burst (val: 2x warned sooner than 3x)
    burst_p: float = 1e-4  # and the Poisson tail probability below this
    critical_minutes: int = 10  # hostility held this long, plus majority or surge
    critical_share: float = 0.5
    surge_ratio: float = 5.0
    surge_confidence: float = 0.9  # val: 0.9 warned sooner (p90 16.3 -> 12 min), no new alarms
    surge_posts: int = 30
    # The newest minutes whose share the surge test judges (val streams: 3 gave warning
    # 9.0 / 21.3 min and 2 viral warnings; 8 gave 10.0 / 25.2; 5 gives 9.5 / 24.1, none).
    surge_span: int = 5
    # ... and above the baseline's upper bound by this much, and only in the first
    # `surge_minutes` of a burst: a friendly viral moment lasting hours otherwise meets a
    # per-minute test at 90% by chance sooner or later (eval warning's viral streams, val:
    # warning+ on 20 of 20 without these two limits).
    surge_margin: float = 0.05
    surge_minutes: int = 60
    burst_gap: int = 10  # minutes without a burst before a new one starts
    clear_minutes: int = 30  # quiet this long before the same alert is raised again
    # What is compared: mean scores (pcc) or counted shares (cc), each against the
    # baseline's own. A change in the true share moves either the same way, and neither
    # has the noise of adjusting (ACC divides by TPR - FPR; on val streams it warned
    # later than counting: median 12 vs 9 min). Mean scores use the probabilities, not
    # just the decisions: on the fast tier's val predictions, 1.3-1.4x the information
    # per post about a change in the negative share; on the val streams, warning median
    # 12.5 -> 9.5 min, p90 26.1 -> 24.1, warning+ on 1 -> 0 of 20 viral surges, none in
    # the calm weeks. Summaries and reports still show the adjusted estimates.
    method: str = "pcc"
    replicates: int = 200


def with_settings(config: WarningConfig, assignments: Sequence[str]) -> WarningConfig:
    """`config` with some fields set from `NAME=VALUE` strings (`margin=0.1`), each value
    read as its field's type: how `--warning-set` and STORMWATCH_WARNING tune the detector
    without editing code."""
    types = {f.name: type(getattr(config, f.name)) for f in fields(config)}
    changes: dict[str, Any] = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        name = name.strip()
        if not sep or name not in types:
            raise ValueError(
                f"{assignment!r}: expected NAME=VALUE with NAME one of {', '.join(types)}"
            )
        try:
            changes[name] = types[name](value.strip())
        except ValueError:
            raise ValueError(
                f"{assignment!r}: {name} takes a {types[name].__name__}, not {value.strip()!r}"
            ) from None
    for name, value in changes.items():
        if isinstance(value, int | float) and not (
            0 < value < 1 if name.endswith("confidence") else value >= 0
        ):
            bound = "between 0 and 1" if name.endswith("confidence") else "0 or more"
            raise ValueError(f"{name} must be {bound}, not {value}")
    if "method" in changes and changes["method"] not in COMPARED:
        raise ValueError(f"method must be one of {', '.join(COMPARED)}")
    return replace(config, **changes)


def changed_settings(config: WarningConfig | None) -> dict[str, Any]:
    """The settings that differ from the shipped ones (empty if none): what a summary,
    report or table states when the detector was tuned."""
    if config is None:
        return {}
    shipped = WarningConfig()
    return {
        f.name: getattr(config, f.name)
        for f in fields(shipped)
        if getattr(config, f.name) != getattr(shipped, f.name)
    }


def settings_text(changed: Mapping[str, Any]) -> str:
    """`margin=0.2, persist=5`: changed settings as a person would type them again."""
    return ", ".join(f"{name}={value}" for name, value in changed.items())


@dataclass
class Alert:
    level: str
    kind: str
    at_ms: int
    evidence: dict[str, Any]
    recommendation: str

    def as_dict(self) -> dict[str, Any]:
        from stormwatch.sources.timeparse import from_ms, iso

        return {
            "level": self.level,
            "kind": self.kind,
            "at": iso(from_ms(self.at_ms)),
            "evidence": self.evidence,
            "recommendation": self.recommendation,
        }


@dataclass
class _Rhythm:
    """Expected posts per minute: an hour-of-day profile over a slow overall level."""

    level: float | None = None
    slots: np.ndarray = field(default_factory=lambda: np.ones(24))
    seen: np.ndarray = field(default_factory=lambda: np.zeros(24))

    def expected(self, start_ms: int) -> float | None:
        if self.level is None:
            return None
        slot = (start_ms // 3_600_000) % 24
        factor = self.slots[slot] if self.seen[slot] >= 30 else 1.0
        return max(float(self.level * factor), 0.05)

    def learn(self, start_ms: int, n: int) -> None:
        slot = (start_ms // 3_600_000) % 24
        self.level = n if self.level is None else 0.995 * self.level + 0.005 * n
        ratio = n / max(self.level, 0.05)
        self.slots[slot] = 0.98 * self.slots[slot] + 0.02 * ratio
        self.seen[slot] += 1


class Detector:
    """`update(minute) -> self`; `alarm` is the alert that update raised (or None);
    `alerts` keeps every alert raised, de-duplicated."""

    def __init__(
        self,
        references: Mapping[str, Reference | None],
        config: WarningConfig | None = None,
        baseline: Mapping[str, Prevalence] | None = None,
    ) -> None:
        self.config = config or WarningConfig()
        self.references = dict(references)
        # With a given baseline, only the labels it covers are judged (it cannot be learned
        # for the rest without giving up the point of a given one).
        self.labels = tuple(
            label
            for label in LABELS
            if label in self.references and (not baseline or label in baseline)
        )
        self.baseline: dict[str, Prevalence] = dict(baseline or {})
        self._given = bool(baseline)
        self._gaps = {label: self._gap(label) for label in self.labels}
        self._learning = {label: (np.zeros(2 * BINS), np.zeros(2 * BINS)) for label in self.labels}
        self._window: deque[Minute] = deque(maxlen=self.config.max_span)
        self._rhythm = _Rhythm()
        self._cusum = dict.fromkeys(self.labels, 0.0)
        self._beyond = dict.fromkeys(self.labels, 0)  # consecutive minutes beyond the margin
        self._hostile_since: int | None = None
        self._burst_start_ms = 0
        self._burst_last_ms: int | None = None
        self._last_raised: dict[tuple[str, str], int] = {}
        self._last_active: dict[tuple[str, str], int] = {}
        self.minutes = 0
        self._learned = 0
        self.alarm: Alert | None = None
        self.raised: list[Alert] = []  # the alerts the latest update raised
        self.alerts: list[Alert] = []
        self.level: str | None = None  # the level of the latest minute

    # --- the stream ----------------------------------------------------------------------

    def update(self, minute: Minute) -> Detector:
        self.alarm = None
        self.raised = []
        self.level = None
        self._window.append(minute)
        self.minutes += 1
        learning = self.minutes <= self.config.learn_minutes and not self._given
        if learning:
            self._learn(minute)
            self._rhythm.learn(minute.start_ms, minute.n)
            return self
        findings = self._judge(minute)
        level = max((f["level"] for f in findings), key=LEVELS.index, default=None)
        self.level = level
        if not findings:
            # Calm minutes keep teaching the rhythm and (unless given) the baseline.
            self._rhythm.learn(minute.start_ms, minute.n)
            if not self._given:
                self._learn(minute)
        for finding in findings:
            self._raise(minute.start_ms, finding)
        return self

    def _learn(self, minute: Minute) -> None:
        """Add a minute to the baseline histograms (older minutes fade out over
        `memory_minutes`); re-estimate the baseline after learning and every 30 minutes."""
        keep = 1 - 1 / self.config.memory_minutes
        for label in self.labels:
            counts, sums = self._learning[label]
            c, s = minute.hist[label]
            self._learning[label] = (counts * keep + c, sums * keep + s)
        self._learned += 1
        if self.minutes >= self.config.learn_minutes and (not self.baseline or self._learned >= 30):
            self._learned = 0
            for label in self.labels:
                cells = Cells.from_histogram(*self._learning[label])
                self.baseline[label] = self._estimate(label, cells, self.config.confidence)

    def _span(self) -> list[Minute]:
        """The newest `span` minutes, stretched back until they hold `min_posts` posts."""
        chosen: list[Minute] = []
        posts = 0
        for minute in reversed(self._window):
            if len(chosen) >= self.config.span and posts >= self.config.min_posts:
                break
            chosen.append(minute)
            posts += minute.n
        return chosen

    @staticmethod
    def _cells(minutes: list[Minute], label: str) -> Cells:
        counts = sum(m.hist[label][0] for m in minutes)
        sums = sum(m.hist[label][1] for m in minutes)
        return Cells.from_histogram(counts, sums)

    # --- evidence ------------------------------------------------------------------------

    def _judge(self, minute: Minute) -> list[dict[str, Any]]:
        cfg = self.config
        span = self._span()
        n_window = sum(m.n for m in span)
        findings: list[dict[str, Any]] = []
        recent = list(self._window)[-cfg.span :]
        burst = self._volume(minute, sum(m.n for m in recent), len(recent))
        early_burst = self._early_burst(minute.start_ms, burst is not None)
        hostile: dict[str, dict[str, float]] = {}
        shares: dict[str, Prevalence] = {}
        for label in self.labels:
            base = self.baseline[label]
            # The CUSUM: each minute's share (counted, or mean score) against the
            # baseline's, in standard errors, so a build-up too slow for any one window
            # still accumulates.
            if minute.n:
                mean, spread = self._base_unit(label)
                z = (self._unit_mean(label, minute.hist[label], minute.n) - mean) / (
                    spread / math.sqrt(minute.n)
                )
                z = min(max(z, -3.0), 3.0)  # few posts a minute: keep one from dominating
                self._cusum[label] = max(0.0, self._cusum[label] + z - cfg.cusum_k)
            if n_window < cfg.min_posts:
                continue
            cells = self._cells(span, label)
            point = point_cells(self._method(label), cells, self.references[label])
            if self._cusum[label] <= cfg.cusum_h and (
                point <= base.high or (not early_burst and self._settled(label, point, n_window))
            ):
                self._beyond[label] = 0
                continue  # no finding is possible: skip the bootstrap
            now = self._estimate(label, cells, cfg.confidence, seed=minute.start_ms)
            shares[label] = now
            beyond = now.low > base.high + cfg.margin * self._gaps[label]
            self._beyond[label] = self._beyond[label] + 1 if beyond else 0
            surging = early_burst and self._surging(label, base)
            detail = {
                # What `share` is: the window's mean probability (pcc), which is compared
                # with the baseline's own, or its counted share (cc); never a prevalence.
                "measure": MEASURES[self._method(label)],
                "share": round(now.estimate, 3),
                "low": round(now.low, 3),
                "high": round(now.high, 3),
                "baseline": round(base.estimate, 3),
                "baseline_high": round(base.high, 3),
                "cusum": round(self._cusum[label], 1),
                "posts": n_window,
            }
            because = [
                reason
                for reason, held in (
                    (
                        f"above the baseline beyond doubt {self._beyond[label]} minutes running",
                        self._beyond[label] >= cfg.persist,
                    ),
                    (
                        f"a volume burst's newest {cfg.surge_span} minutes above it at "
                        f"{cfg.surge_confidence:.0%}",
                        surging,
                    ),
                    ("a slow build-up (CUSUM)", self._cusum[label] > cfg.cusum_h),
                )
                if held
            ]
            if because:
                hostile[label] = detail | {"because": because}
            elif now.low > base.high + cfg.watch_margin * self._gaps[label]:
                findings.append({"level": "watch", "kind": f"{label}_rising", "evidence": detail})
        if burst:
            findings.append({"level": "watch", "kind": "volume_burst", "evidence": burst})
        if hostile:
            self._hostile_since = (
                minute.start_ms if self._hostile_since is None else self._hostile_since
            )
            held = (minute.start_ms - self._hostile_since) / 60_000 + 1
            negative = shares.get("negative")
            majority = negative is not None and negative.low >= cfg.critical_share
            surge = bool(burst) and burst["ratio"] >= cfg.surge_ratio
            level = (
                "critical" if held >= cfg.critical_minutes and (majority or surge) else "warning"
            )
            evidence: dict[str, Any] = {"labels": hostile, "minutes_hostile": int(held)}
            if burst:
                evidence["volume"] = burst
            findings.append({"level": level, "kind": "hostility", "evidence": evidence})
        else:
            self._hostile_since = None
        return findings

    def _settled(self, label: str, point: float, n: int) -> bool:
        """Can the window's interval not clear the baseline? For counting, whose lower
        bound is never above Wilson's, that is known without the bootstrap (most calm
        minutes: the detector's cost)."""
        base = self.baseline[label]
        if self._method(label) != "cc" or base.high >= self.config.critical_share:
            return False
        return wilson(point, n, self.config.confidence)[0] <= base.high

    def _early_burst(self, at_ms: int, bursting: bool) -> bool:
        """Is this minute in a volume burst that began at most `surge_minutes` ago? (A
        lull of `burst_gap` minutes ends a burst.)"""
        if not bursting:
            return False
        gap_ms = self.config.burst_gap * 60_000
        if self._burst_last_ms is None or at_ms - self._burst_last_ms > gap_ms:
            self._burst_start_ms = at_ms
        self._burst_last_ms = at_ms
        return at_ms - self._burst_start_ms < self.config.surge_minutes * 60_000

    def _surging(self, label: str, base: Prevalence) -> bool:
        """During a volume burst: is the share in just the newest `span` minutes above the
        baseline beyond doubt (at `surge_confidence`)? Volume corroborates, so a smaller
        rise, judged sooner and on fewer posts, is enough for a warning."""
        recent = list(self._window)[-self.config.surge_span :]
        if sum(m.n for m in recent) < self.config.surge_posts:
            return False
        now = self._estimate(
            label, self._cells(recent, label), self.config.surge_confidence, recent[-1].start_ms
        )
        return now.low > base.high + self.config.surge_margin * self._gaps[label]

    def _method(self, label: str) -> str:
        """The configured estimator, or the one a given baseline was measured with (a
        pre-flight file from a version that counted stays comparable); counting (CC) for a
        label without held-out predictions (off-purpose: its error rates measured
        elsewhere do not transfer to a campaign, and the detector compares the share with
        the stream's own baseline anyway)."""
        if self.references.get(label) is None:
            return "cc"
        given = self.baseline.get(label) if self._given else None
        if given is not None and given.method in COMPARED:
            return given.method
        return self.config.method

    def _gap(self, label: str) -> float:
        """How far what the detector compares moves per point of the true share, measured
        on the validation predictions; 1 for a label without them (its counted share is
        taken at face value)."""
        ref = self.references.get(label)
        if ref is None:
            return 1.0
        soft = self._method(label) == "pcc"
        values = ref.scores if soft else ref.decisions.astype(np.float64)
        positive = ref.labels.astype(bool)
        if positive.all() or not positive.any():
            return 1.0
        return float(np.clip(values[positive].mean() - values[~positive].mean(), 0.05, 1.0))

    def _estimate(self, label: str, cells: Cells, confidence: float, seed: int = 0) -> Prevalence:
        """The share with its interval, by the label's method. A mean score is compared
        with the baseline's mean score, so its interval is that mean's sampling interval
        alone (no Wilson floor: see `estimate_cells`)."""
        return compared_share(
            self._method(label),
            cells,
            self.references[label],
            confidence,
            self.config.replicates,
            seed,
        )

    def _unit_mean(self, label: str, hist: tuple[np.ndarray, np.ndarray], n: float) -> float:
        """Mean per post of what the label's method counts: decisions, or scores (PCC)."""
        counts, sums = hist
        total = sums.sum() if self._method(label) == "pcc" else counts[1::2].sum()
        return float(total) / n

    def _base_unit(self, label: str) -> tuple[float, float]:
        """The baseline's mean and spread per post of what the CUSUM compares: counted
        share and its Bernoulli spread, or mean score and the scores' spread. A given
        baseline has no histograms: its estimate with the Bernoulli spread (the wider, so
        the CUSUM climbs no faster than it should)."""
        counts, sums = self._learning[label]
        total = counts.sum()
        if total and self._method(label) == "pcc":
            mean = float(sums.sum() / total)
            cells = Cells.from_histogram(counts, sums)  # each used cell's mean score
            spread = float(cells.counts @ (cells.scores - mean) ** 2 / total) + 1 / (12 * BINS**2)
            return mean, max(math.sqrt(spread), 0.02)
        p0 = float(counts[1::2].sum() / total) if total else self.baseline[label].estimate
        p0 = min(max(p0, 0.02), 0.98)
        return p0, math.sqrt(p0 * (1 - p0))

    def _volume(self, minute: Minute, n_window: int, minutes: int) -> dict[str, Any] | None:
        expected = self._rhythm.expected(minute.start_ms)
        if expected is None:
            return None
        mean = expected * minutes
        ratio = n_window / mean
        if ratio < self.config.burst_ratio or _poisson_tail(n_window, mean) > self.config.burst_p:
            return None
        return {"posts": n_window, "expected": round(mean, 1), "ratio": round(ratio, 1)}

    # --- alerts --------------------------------------------------------------------------

    def _raise(self, at_ms: int, finding: dict[str, Any]) -> None:
        """Raise unless the same kind and level was raised and has not been clear for
        `clear_minutes` since; an escalation is always raised."""
        key = (finding["kind"], finding["level"])
        last_active = self._last_active.get(key)
        self._last_active[key] = at_ms
        if (
            last_active is not None
            and (at_ms - last_active) / 60_000 <= self.config.clear_minutes
            and key in self._last_raised
        ):
            return
        alert = Alert(
            finding["level"],
            finding["kind"],
            at_ms,
            finding["evidence"],
            RECOMMENDATIONS[finding["level"]],
        )
        self._last_raised[key] = at_ms
        self.alerts.append(alert)
        self.raised.append(alert)
        if self.alarm is None or LEVELS.index(alert.level) > LEVELS.index(self.alarm.level):
            self.alarm = alert


def compared_share(
    method: str,
    cells: Cells,
    ref: Reference | None,
    confidence: float = 0.95,
    replicates: int = 200,
    seed: int = 0,
) -> Prevalence:
    """The share the detector compares with its baseline, with its interval: a counted
    share (Wilson floor), or a mean score (PCC) with the sampling interval of that mean
    alone, as a rise in one classifier's mean score is what it tests, not a calibrated
    prevalence. The pre-flight baseline is measured with this too."""
    if method not in COMPARED:
        raise ValueError(f"the early warning compares {' or '.join(COMPARED)}, not {method!r}")
    return estimate_cells(
        method, cells, ref, confidence, replicates, seed=seed % (1 << 31), floor=method != "pcc"
    )


def _poisson_tail(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean)."""
    from scipy.stats import poisson

    return float(poisson.sf(k - 1, mean))


def describe(alert: dict[str, Any]) -> str:
    """One line a person can act on: what, how much, and what to do."""
    evidence = alert["evidence"]
    if alert["kind"] == "hostility":
        parts = [evidence_phrase(label, e) for label, e in evidence["labels"].items()]
        what = "Hostility beyond the baseline: " + ", ".join(parts)
    elif alert["kind"] == "volume_burst":
        what = f"Volume burst: {evidence['posts']:,} posts, {evidence['ratio']}x the expected"
    elif alert["kind"].endswith("_rising"):
        label = alert["kind"].removesuffix("_rising")
        what = f"{label.replace('_', '-').capitalize()} rising: {evidence_phrase(label, evidence)}"
    else:  # `alerts test`'s trial alert
        what = (
            f"{alert['kind'].replace('_', ' ').capitalize()}: {evidence['share']:.0%} "
            f"(baseline {evidence['baseline']:.0%})"
        )
    return f"{alert['level'].upper()} — {what}. Recommended: {alert['recommendation']}."


def evidence_phrase(label: str, evidence: dict[str, Any]) -> str:
    """`negative mean probability 41% (at least 32%; baseline 30%)`: what was compared,
    named, so nobody quotes a mean probability as the share of negative posts. (Alerts
    stored before `measure` existed read `negative 41% (...)`.)"""
    measure = evidence.get("measure")
    because = evidence.get("because")
    return (
        f"{label.replace('_', '-')}{' ' + measure if measure else ''} {evidence['share']:.0%} "
        f"(at least {evidence['low']:.0%}; baseline {evidence['baseline']:.0%}"
        + (f"; why: {' and '.join(because)}" if because else "")
        + ")"
    )
