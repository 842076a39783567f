"""Benchmark metrics (TweetEval's official ones) and calibration error, in plain numpy."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _per_class(y: np.ndarray, pred: np.ndarray, n_classes: int) -> tuple[np.ndarray, ...]:
    tp = np.bincount(y[pred == y], minlength=n_classes).astype(float)
    support = np.bincount(y, minlength=n_classes).astype(float)
    predicted = np.bincount(pred, minlength=n_classes).astype(float)
    return tp, support, predicted


def recall_per_class(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    tp, support, _ = _per_class(y, pred, n_classes)
    return np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)


def f1_per_class(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    tp, support, predicted = _per_class(y, pred, n_classes)
    denominator = support + predicted
    return np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)


def official_score(metric: str, y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    """TweetEval's metric, in percent: sentiment macro recall; irony (and sarcasm) F1 of the
    positive class; the others macro F1."""
    if metric == "macro_recall":
        return float(100 * recall_per_class(y, pred, n_classes).mean())
    if metric == "macro_f1":
        return float(100 * f1_per_class(y, pred, n_classes).mean())
    if metric == "f1_positive":
        return float(100 * f1_per_class(y, pred, n_classes)[1])
    raise ValueError(f"unknown metric {metric!r}")


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """Top-label ECE with equal-width confidence bins: the average gap between how sure the
    model says it is and how often it is right, weighted by bin size."""
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            total += members.sum() * abs(confidence[members].mean() - correct[members].mean())
    return float(total / len(y)) if len(y) else 0.0


def stratified_folds(labels: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """Each post's fold (0..folds-1), every class dealt round the folds in a random order, so
    each fold holds its share of every class."""
    fold_of = np.empty(len(labels), dtype=np.int64)
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        fold_of[members] = np.arange(len(members)) % folds
    return fold_of


def bootstrap_interval(
    statistic: Callable[[np.ndarray], float],
    n: int,
    replicates: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile-bootstrap interval of `statistic(indices)` over n items, seeded: how far
    the figure could move on another draw of items like these."""
    draws = np.random.default_rng(seed).integers(0, n, (replicates, n))
    values = [statistic(d) for d in draws]
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
