"""Prevalence estimation: what share of a set of posts carries a label, with a confidence
interval — from per-post probabilities stored once, never by re-classifying.

Methods (Forman 2008; Saerens, Latinne & Decaestecker 2002; see QuaPy's aggregative
methods): classify-and-count (CC), probabilistic CC (PCC), adjusted CC (ACC), probabilistic
adjusted CC (PACC) and EM/SLD. The adjusted methods and EM need the classifier's behaviour
on labelled held-out data — the validation predictions shipped with every model.

Intervals come from a bootstrap that resamples both the posts (sampling error) and the
validation set (the error rates used by the adjustment were themselves estimated)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from stormwatch.core.labels import Layout, decide

METHODS = ("cc", "pcc", "acc", "pacc", "emq", "macc")
# Methods that need the whole task's output, not one class against the rest.
TASK_METHODS = ("macc",)
# Intervals that held the truth less often than this on shifted test samples are quoted with
# their measured coverage (the floor for honest 95% intervals).
COVERAGE_FLOOR = 0.92


@dataclass(frozen=True, slots=True)
class Reference:
    """A classifier's held-out behaviour for one binary view: P(positive) per validation
    post, the hard decision per post, and the true labels (0/1)."""

    scores: np.ndarray
    decisions: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True, slots=True)
class Prevalence:
    estimate: float
    low: float
    high: float
    method: str
    n: int

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "estimate": round(self.estimate, 4),
            "low": round(self.low, 4),
            "high": round(self.high, 4),
            "method": self.method,
            "n": self.n,
        }


def clip_share(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def _rates(values: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Mean of `values` on true positives and on true negatives (TPR, FPR when values are
    hard decisions; their soft versions when values are probabilities)."""
    pos, neg = labels == 1, labels == 0
    tpr = float(values[pos].mean()) if pos.any() else 1.0
    fpr = float(values[neg].mean()) if neg.any() else 0.0
    return tpr, fpr


def _adjust(observed: float, tpr: float, fpr: float) -> float:
    """Forman's correction, NOT clipped: the bootstrap needs the raw values so that an
    estimate pinned at 0 or 1 still gets an honest interval; `estimate` clips at the end."""
    if tpr - fpr < 1e-6:
        return observed  # a classifier no better than chance cannot be corrected
    return (observed - fpr) / (tpr - fpr)


Weights = np.ndarray | None


def _mean(values: np.ndarray, weights: Weights) -> float:
    if len(values) == 0:
        return 0.0
    return float(np.average(values, weights=weights))


def cc(
    scores: np.ndarray, decisions: np.ndarray, ref: Reference | None = None, weights: Weights = None
) -> float:
    return _mean(decisions.astype(np.float64), weights)


def pcc(
    scores: np.ndarray, decisions: np.ndarray, ref: Reference | None = None, weights: Weights = None
) -> float:
    return _mean(scores.astype(np.float64), weights)


def acc(
    scores: np.ndarray, decisions: np.ndarray, ref: Reference | None = None, weights: Weights = None
) -> float:
    if ref is None:
        raise ValueError("ACC needs validation predictions")
    tpr, fpr = _rates(ref.decisions.astype(float), ref.labels)
    return _adjust(cc(scores, decisions, None, weights), tpr, fpr)


def pacc(
    scores: np.ndarray, decisions: np.ndarray, ref: Reference | None = None, weights: Weights = None
) -> float:
    if ref is None:
        raise ValueError("PACC needs validation predictions")
    tpr, fpr = _rates(ref.scores, ref.labels)
    return _adjust(pcc(scores, decisions, None, weights), tpr, fpr)


def emq(
    scores: np.ndarray,
    decisions: np.ndarray,
    ref: Reference | None = None,
    weights: Weights = None,
) -> float:
    """EM / SLD: re-weight the posteriors towards a new prior until the prior they imply
    stops moving. The posteriors are calibrated on validation, so the prior they assume is
    the validation prior."""
    if ref is None:
        raise ValueError("EMQ needs validation predictions")
    if len(scores) == 0:
        return 0.0
    train_prior = np.array([np.clip(ref.labels.mean(), 1e-6, 1 - 1e-6)])
    w = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=np.float64)
    return clip_share(float(_em_priors(scores, w[None, :], train_prior)[0]))


def _em_priors(
    scores: np.ndarray,
    weights: np.ndarray,
    train_prior: np.ndarray,
    tolerance: float = 1e-6,
    max_iter: int = 1000,
) -> np.ndarray:
    """The EM of `emq` for many weightings of the same posts at once (a row of `weights`
    and an entry of `train_prior` per bootstrap replicate): one matrix product per step
    instead of a Python loop per replicate. A row stops when its prior stops moving."""
    p = np.clip(scores.astype(np.float64), 1e-9, 1 - 1e-9)
    prior = train_prior.astype(np.float64).copy()
    total = weights.sum(axis=1)
    active = np.flatnonzero(total > 0)
    for _ in range(max_iter):
        if len(active) == 0:
            break
        up = (prior[active] / train_prior[active])[:, None] * p
        down = ((1 - prior[active]) / (1 - train_prior[active]))[:, None] * (1 - p)
        new = (weights[active] * (up / (up + down))).sum(axis=1) / total[active]
        moving = np.abs(new - prior[active]) >= tolerance
        prior[active] = new
        active = active[moving]
    return prior


ESTIMATORS: dict[str, Callable[..., float]] = {
    "cc": cc,
    "pcc": pcc,
    "acc": acc,
    "pacc": pacc,
    "emq": emq,
}


_CELLS = 2048  # score bins per decision value for the bootstrap


@dataclass(frozen=True, slots=True)
class Cells:
    """Posts summarised as (score bin, decision) cells with counts: a bootstrap replicate
    only needs new counts (one multinomial draw), not a new sample of every post."""

    scores: np.ndarray
    decisions: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, scores: np.ndarray, decisions: np.ndarray) -> Cells:
        return cls.from_histogram(*histogram(scores, decisions))

    @classmethod
    def from_histogram(cls, counts: np.ndarray, sums: np.ndarray) -> Cells:
        """Cells from a histogram (`histogram`); histograms of disjoint sets of posts add
        up, so a window's cells can be built from its minutes' histograms."""
        used = counts > 0
        return cls(
            (sums[used] / counts[used]),
            (np.flatnonzero(used) % 2).astype(bool),
            counts[used].astype(np.float64),
        )


def histogram(
    scores: np.ndarray, decisions: np.ndarray, bins: int = _CELLS
) -> tuple[np.ndarray, np.ndarray]:
    """Post counts and score sums per (score bin, decision) cell: index = bin * 2 + decision.
    Exact for every count-based estimator (sums keep the mean score of each cell)."""
    index = np.minimum((scores * bins).astype(np.int64), bins - 1) * 2 + decisions.astype(np.int64)
    counts = np.bincount(index, minlength=2 * bins).astype(np.float64)
    sums = np.bincount(index, weights=scores, minlength=2 * bins)
    return counts, sums


def _weighted(
    fn: Callable[..., float], cells: Cells, weights: np.ndarray, ref: Reference | None
) -> float:
    """An estimator on cells with the given counts (cells with count 0 drop out)."""
    keep = weights > 0
    # Every estimator here is a weighted mean at heart: counts enter as weights.
    return fn(cells.scores[keep], cells.decisions[keep], ref, weights[keep])


_REFERENCE_DRAWS: dict[tuple[Any, ...], tuple[object, Any]] = {}


def _per_reference(ref: object, key: tuple[Any, ...], draw: Callable[[], Any]) -> Any:
    """Bootstrap replicates of a validation set's error rates do not depend on the posts
    being estimated, so they are drawn once per reference (seeded) and reused: a
    window-by-window detector then pays only for resampling its own posts."""
    full = (id(ref), *key)
    hit = _REFERENCE_DRAWS.get(full)
    if hit is not None and hit[0] is ref:
        return hit[1]
    value = draw()
    if len(_REFERENCE_DRAWS) > 64:
        _REFERENCE_DRAWS.clear()
    _REFERENCE_DRAWS[full] = (ref, value)
    return value


def _reference_rates(ref: Reference, soft: bool, replicates: int) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap replicates of the validation set's TPR and FPR (see `_per_reference`)."""
    return _per_reference(
        ref, ("rates", soft, replicates), lambda: _draw_rates(ref, soft, replicates)
    )


def _draw_rates(ref: Reference, soft: bool, replicates: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(12345)
    m = len(ref.labels)
    index = rng.integers(0, m, (replicates, m))
    labels = ref.labels[index].astype(np.float64)
    values = (ref.scores if soft else ref.decisions.astype(np.float64))[index]
    positives = labels.sum(axis=1)
    negatives = m - positives
    tpr = np.where(positives > 0, (values * labels).sum(axis=1) / np.maximum(positives, 1), 1.0)
    fpr = np.where(
        negatives > 0, (values * (1 - labels)).sum(axis=1) / np.maximum(negatives, 1), 0.0
    )
    return tpr, fpr


def _draws(
    method: str,
    cells: Cells,
    n: int,
    ref: Reference | None,
    replicates: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """All bootstrap replicates of an estimator at once: the posts resampled as one
    multinomial draw per replicate, the validation set as one index matrix."""
    # Counts may be fractional (histograms that fade old minutes): resample n posts with
    # the cells' shares.
    share = cells.counts / cells.counts.sum()
    counts = rng.multinomial(n, share, size=replicates).astype(np.float64)
    if method == "emq":
        if ref is None:
            raise ValueError("EMQ needs validation predictions")
        # Resampling the validation set moves EMQ only through its prior: draw that.
        m = len(ref.labels)
        train = np.clip(rng.binomial(m, ref.labels.mean(), replicates) / m, 1e-6, 1 - 1e-6)
        return _em_priors(cells.scores, counts, train)
    soft = method in ("pcc", "pacc")
    observed = counts @ (cells.scores if soft else cells.decisions.astype(np.float64)) / n
    if method in ("cc", "pcc"):
        return observed
    if ref is None:
        raise ValueError(f"{method.upper()} needs validation predictions")
    tpr, fpr = _reference_rates(ref, soft, replicates)
    gap = tpr - fpr
    # As in `_adjust`: a resampled classifier no better than chance is not corrected.
    return np.where(gap < 1e-6, observed, (observed - fpr) / np.where(gap < 1e-6, 1.0, gap))


def estimate(
    method: str,
    scores: np.ndarray,
    decisions: np.ndarray,
    ref: Reference | None = None,
    confidence: float = 0.95,
    replicates: int = 300,
    seed: int = 0,
) -> Prevalence:
    """Point estimate and a bootstrap percentile interval (posts and validation resampled
    together, `replicates` times; seeded, so the same data gives the same interval)."""
    if method not in ESTIMATORS:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if len(scores) == 0:
        return Prevalence(0.0, 0.0, 1.0, method, 0)
    point = clip_share(ESTIMATORS[method](scores, decisions, ref))
    cells = Cells.of(scores, decisions)
    return _with_interval(method, cells, point, ref, confidence, replicates, seed)


def estimate_cells(
    method: str,
    cells: Cells,
    ref: Reference | None = None,
    confidence: float = 0.95,
    replicates: int = 300,
    seed: int = 0,
    floor: bool = True,
) -> Prevalence:
    """`estimate` for posts already summarised as cells (e.g. summed minute histograms).
    `floor=False` drops the Wilson floor of the counting methods: a test of whether the
    mean score of one classifier rose wants the sampling interval of that mean alone (a
    Wilson interval assumes 0/1 values, far wider than the spread of scores)."""
    if method not in ESTIMATORS:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if cells.counts.sum() == 0:
        return Prevalence(0.0, 0.0, 1.0, method, 0)
    point = clip_share(_weighted(ESTIMATORS[method], cells, cells.counts, ref))
    return _with_interval(method, cells, point, ref, confidence, replicates, seed, floor)


def point_cells(method: str, cells: Cells, ref: Reference | None = None) -> float:
    """Just the point estimate of `estimate_cells` (no bootstrap)."""
    if cells.counts.sum() == 0:
        return 0.0
    return clip_share(_weighted(ESTIMATORS[method], cells, cells.counts, ref))


def _with_interval(
    method: str,
    cells: Cells,
    point: float,
    ref: Reference | None,
    confidence: float,
    replicates: int,
    seed: int,
    floor: bool = True,
) -> Prevalence:
    n = max(1, round(float(cells.counts.sum())))
    rng = np.random.default_rng(seed)
    draws = _draws(method, cells, n, ref, replicates, rng)
    bounds = wilson(point, n, confidence) if floor and method in ("cc", "pcc") else None
    return _percentile(draws, point, confidence, method, n, bounds)


def _percentile(
    draws: np.ndarray,
    point: float,
    confidence: float,
    method: str,
    n: int,
    floor: tuple[float, float] | None = None,
) -> Prevalence:
    """The percentile interval of bootstrap draws (unclipped adjusted values, clipped at the
    end), never narrower than `floor` and always holding the point estimate. Counting
    methods pass the Wilson interval as the floor: the percentile bootstrap collapses at 0
    and 1 (no positives: every draw is 0); the Wilson score interval does not."""
    tail = (1 - confidence) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    if floor is not None:
        low, high = min(low, floor[0]), max(high, floor[1])
    return Prevalence(point, min(clip_share(low), point), max(clip_share(high), point), method, n)


def two_sided_z(confidence: float) -> float:
    """The normal quantile of a two-sided interval at `confidence` (1.96 at 0.95)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def wilson(share: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion observed as `share` of `n`."""
    z = two_sided_z(confidence)
    denominator = 1 + z * z / n
    centre = (share + z * z / (2 * n)) / denominator
    half = z * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / denominator
    return float(centre - half), float(centre + half)


# --- one class of a multi-class task, adjusted over all its classes -----------------------


@dataclass(frozen=True, slots=True)
class TaskReference:
    """A multi-class task's held-out behaviour: the decided class and the true class of
    every validation post."""

    decisions: np.ndarray
    labels: np.ndarray
    classes: int


def _confusions(decisions: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """P(decided j | true i) as matrices [..., j, i], one per row of `decisions`/`labels`
    (2-D: bootstrap replicates). A class absent from a replicate keeps the identity column."""
    rows = decisions.shape[0]
    flat = (np.arange(rows)[:, None] * classes * classes + labels * classes + decisions).ravel()
    joint = np.bincount(flat, minlength=rows * classes * classes).reshape(
        rows, classes, classes
    )  # [row, true, decided]
    totals = joint.sum(axis=2, keepdims=True)
    rates = np.where(totals > 0, joint / np.maximum(totals, 1), np.eye(classes)[None])
    return np.swapaxes(rates, 1, 2)


def _solve_shares(confusion: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """The true class shares that would produce the observed decided shares: C @ pi = q.
    NOT clipped (as `_adjust`); a singular C (a replicate that cannot tell two classes
    apart) returns the observed shares, as an uncorrectable binary classifier does."""
    out = observed.copy()
    ok = np.abs(np.linalg.det(confusion)) > 1e-6
    if ok.any():
        out[ok] = np.linalg.solve(confusion[ok], observed[ok][..., None])[..., 0]
    return out


def macc(winners: np.ndarray, positive: int, ref: TaskReference) -> float:
    """Adjusted count over all classes of the task (Forman's ACC in its multi-class form,
    as QuaPy's ACC does for more than two classes): "negative vs rest" corrected with the
    rest's own classes, so a crowd whose non-negative posts are more neutral than the
    validation set's is not mistaken for a more negative one."""
    observed = np.bincount(winners, minlength=ref.classes) / max(len(winners), 1)
    confusion = _confusions(ref.decisions[None], ref.labels[None], ref.classes)
    return float(_solve_shares(confusion, observed[None])[0, positive])


def _reference_confusions(ref: TaskReference, replicates: int) -> np.ndarray:
    """Bootstrap replicates of the validation confusion matrix (see `_per_reference`)."""

    def draw() -> np.ndarray:
        index = np.random.default_rng(12345).integers(
            0, len(ref.labels), (replicates, len(ref.labels))
        )
        return _confusions(ref.decisions[index], ref.labels[index], ref.classes)

    return _per_reference(ref, ("confusions", replicates), draw)


def estimate_task(
    winners: np.ndarray,
    positive: int,
    ref: TaskReference,
    confidence: float = 0.95,
    replicates: int = 300,
    seed: int = 0,
) -> Prevalence:
    """`macc` with a bootstrap interval: the posts' decided classes redrawn (one multinomial
    draw per replicate) and the validation set redrawn, together."""
    n = len(winners)
    if n == 0:
        return Prevalence(0.0, 0.0, 1.0, "macc", 0)
    point = clip_share(macc(winners, positive, ref))
    counts = np.bincount(winners, minlength=ref.classes).astype(np.float64)
    rng = np.random.default_rng(seed)
    observed = rng.multinomial(n, counts / n, size=replicates) / n
    draws = _solve_shares(_reference_confusions(ref, replicates), observed)[:, positive]
    return _percentile(draws, point, confidence, "macc", n)


# --- binary views of a multi-task classifier's output -------------------------------------

# Without a measured reason to adjust (see `stormwatch eval quantify`), count.
DEFAULT_METHOD = "cc"


def binary_views(
    proba: np.ndarray, layout: Layout, validation: Mapping[str, np.ndarray] | None
) -> dict[str, tuple[np.ndarray, np.ndarray, Reference | None]]:
    """label -> (scores, decisions, reference) for every hard label of the layout: a
    binary task's positive class, or one class of a multi-class task against the rest.
    Decisions follow each task's decision rule; the reference comes from the validation
    predictions shipped with the model (None when there are none)."""
    views: dict[str, tuple[np.ndarray, np.ndarray, Reference | None]] = {}
    for task, block in zip(layout.tasks, layout.slices().values(), strict=True):
        part = proba[:, block]
        winner = decide(part, task)
        val_proba = val_labels = None
        if validation is not None and f"{task.name}.proba" in validation:
            val_proba = validation[f"{task.name}.proba"].astype(np.float64)
            val_labels = validation[f"{task.name}.labels"].astype(np.int64)
        for index, label in enumerate(task.classes):
            if label not in task.labels:
                continue
            ref = None
            if val_proba is not None and val_labels is not None:
                ref = Reference(
                    val_proba[:, index],
                    decide(val_proba, task) == index,
                    (val_labels == index).astype(np.int64),
                )
            views[label] = (part[:, index].astype(np.float64), winner == index, ref)
    return views


def prevalences(
    proba: np.ndarray,
    layout: Layout,
    validation: Mapping[str, np.ndarray] | None,
    methods: Mapping[str, str] | None = None,
    confidence: float = 0.95,
    replicates: int = 300,
    labels: tuple[str, ...] = (),
) -> dict[str, Prevalence]:
    """Every label's prevalence (or just `labels`') with its interval. `methods` names the
    method measured best per label (shipped with the model); other labels, and models
    without validation predictions, use classify-and-count with a sampling-only interval."""
    out: dict[str, Prevalence] = {}
    # Task views cost a second decision pass; only a method over a whole task needs them.
    wanted = (methods or {}).values()
    tasks = task_views(proba, layout, validation) if set(wanted) & set(TASK_METHODS) else {}
    for label, (scores, decisions, ref) in binary_views(proba, layout, validation).items():
        if labels and label not in labels:
            continue
        method = (methods or {}).get(label, DEFAULT_METHOD) if ref is not None else "cc"
        out[label] = estimate_view(
            method, (scores, decisions, ref), tasks.get(label), confidence, replicates
        )
    return out


TaskView = tuple[np.ndarray, int, TaskReference]


def estimate_view(
    method: str,
    binary: tuple[np.ndarray, np.ndarray, Reference | None],
    task: TaskView | None,
    confidence: float = 0.95,
    replicates: int = 300,
    seed: int = 0,
) -> Prevalence:
    """One label's prevalence by `method`, from its binary view (`binary_views`) or, for a
    method over all of a task's classes, from its task view (`task_views`)."""
    if method in TASK_METHODS:
        if task is None:
            raise ValueError(f"{method.upper()} needs a multi-class task with validation data")
        winners, positive, task_ref = task
        return estimate_task(winners, positive, task_ref, confidence, replicates, seed)
    scores, decisions, ref = binary
    return estimate(method, scores, decisions, ref, confidence, replicates, seed)


def task_views(
    proba: np.ndarray, layout: Layout, validation: Mapping[str, np.ndarray] | None
) -> dict[str, TaskView]:
    """label -> (decided class per post, the label's class index, the task's reference),
    for the labels of multi-class tasks that have validation predictions."""
    views: dict[str, TaskView] = {}
    for task, block in zip(layout.tasks, layout.slices().values(), strict=True):
        key = f"{task.name}.proba"
        if len(task.classes) < 3 or validation is None or key not in validation:
            continue
        val_proba = validation[key].astype(np.float64)
        ref = TaskReference(
            decide(val_proba, task),
            validation[f"{task.name}.labels"].astype(np.int64),
            len(task.classes),
        )
        winners = decide(proba[:, block], task)
        for index, label in enumerate(task.classes):
            if label in task.labels:
                views[label] = (winners, index, ref)
    return views


def statement(
    label: str, prevalence: Prevalence, confidence: float = 0.95, held: float | None = None
) -> str:
    """The sentence people quote: the lower bound first, the estimate beside it. `held`:
    the share of shifted test samples whose intervals of this method held the truth, where
    that fell short of the confidence claimed; a reader quoting the bound must see it."""
    caveat = (
        "" if held is None else f"; such intervals held the truth in {held:.0%} of test samples"
    )
    return (
        f"at least {prevalence.low:.1%} of {prevalence.n:,} posts are {label} "
        f"({confidence:.0%} confidence; estimate {prevalence.estimate:.1%}, "
        f"method {prevalence.method.upper()}{caveat})"
    )


def held_short(
    prevalence: Prevalence, evidence: dict[str, Any] | None, floor: float = COVERAGE_FLOOR
) -> float | None:
    """The measured coverage of this estimate's method, when it is the one measured and its
    intervals held the truth less often than `floor` (the model alone, under shift)."""
    if not evidence or evidence.get("method") != prevalence.method:
        return None
    coverage = float(evidence["coverage"])
    return coverage if coverage < floor else None
