"""`stormwatch eval quantify`: how right the prevalence estimates and their intervals are,
on the TweetEval test sets (never used for training or calibration).

Artificial-prevalence protocol (as in QuaPy's APP): for each sample size n and each true
prevalence 0.05, 0.10, ..., 0.95, draw `samples` test samples with exactly that share of
positives, estimate with every method, and record the absolute error, whether the 95%
interval contains the truth, and the interval's width. Natural-prevalence protocol: samples
drawn uniformly from the test set. The classifier labels the test set once; every sample
reuses those probabilities, exactly as the store does."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stormwatch.core.labelled import labelled_sample
from stormwatch.core.quantify import (
    METHODS,
    TASK_METHODS,
    binary_views,
    estimate_view,
    task_views,
)
from stormwatch.datasets import load_split

# label -> (task whose test split is used, index of the positive class)
VIEWS: dict[str, tuple[str, int]] = {
    "negative": ("sentiment", 0),
    "offensive": ("offensive", 1),
    "hate": ("hate", 1),
    "irony": ("irony", 1),
}
PREVALENCES = tuple(round(0.05 * k, 2) for k in range(1, 20))
# Posts of each sample that a person labels, for the labelled-sample estimator (shown as
# `labelled100`, ...): not a default, since it needs people's labels of the crowd.
LABELLED = (100, 200)
Log = Callable[[str], None]


def _draw(
    rng: np.random.Generator,
    positives: np.ndarray,
    negatives: np.ndarray,
    n: int,
    prevalence: float,
) -> np.ndarray:
    k = round(n * prevalence)
    pos = rng.choice(positives, k, replace=k > len(positives))
    neg = rng.choice(negatives, n - k, replace=(n - k) > len(negatives))
    return np.concatenate([pos, neg])


def run_quantify_eval(
    root: Path,
    tier: str,
    labels: Sequence[str] = ("negative", "offensive"),
    sizes: Sequence[int] = (100, 500, 5000),
    samples: int = 20,
    replicates: int = 200,
    seed: int = 0,
    log: Log = print,
) -> dict[str, Any]:
    from stormwatch.models import load_classifier, reference_for

    classifier = load_classifier(tier)
    validation, _ = reference_for(classifier.name, classifier.version)
    rng = np.random.default_rng(seed)
    # Its own generator, so the samples every other method sees are as they were.
    pick = np.random.default_rng(seed + 1)
    table: dict[str, Any] = {}
    for label in labels:
        task, positive = VIEWS[label]
        texts, truth = load_split(root, task, "test")
        proba = classifier.predict_proba(texts)
        scores, decisions, ref = binary_views(proba, classifier.layout, validation)[label]
        task_view = task_views(proba, classifier.layout, validation).get(label)
        is_pos = truth == positive
        positives, negatives = np.flatnonzero(is_pos), np.flatnonzero(~is_pos)
        methods = [
            m
            for m in METHODS
            if (ref is not None or m in ("cc", "pcc"))
            and (task_view is not None or m not in TASK_METHODS)
        ]
        for protocol in ("artificial", "natural"):
            for n in sizes:
                labelled = [m for m in LABELLED if m < n]
                methods_n = methods + [f"labelled{m}" for m in labelled]
                errors = {m: [] for m in methods_n}
                covered = {m: [] for m in methods_n}
                widths = {m: [] for m in methods_n}
                plan = PREVALENCES if protocol == "artificial" else (None,)
                for prevalence in plan:
                    for _ in range(samples):
                        if prevalence is None:
                            index = rng.choice(len(truth), n, replace=n > len(truth))
                        else:
                            index = _draw(rng, positives, negatives, n, prevalence)
                        true_share = float(is_pos[index].mean())
                        sample_task = (
                            None
                            if task_view is None
                            else (task_view[0][index], task_view[1], task_view[2])
                        )
                        for m in methods:
                            p = estimate_view(
                                m,
                                (scores[index], decisions[index], ref),
                                sample_task,
                                replicates=replicates,
                                seed=int(rng.integers(1 << 31)),
                            )
                            errors[m].append(abs(p.estimate - true_share))
                            covered[m].append(p.low <= true_share <= p.high)
                            widths[m].append(p.high - p.low)
                        for m in labelled:
                            chosen = pick.choice(n, m, replace=False)
                            p = labelled_sample(scores[index], chosen, is_pos[index][chosen])
                            errors[f"labelled{m}"].append(abs(p.estimate - true_share))
                            covered[f"labelled{m}"].append(p.low <= true_share <= p.high)
                            widths[f"labelled{m}"].append(p.high - p.low)
                key = f"{label}/{protocol}/n={n}"
                table[key] = {
                    m: {
                        "mae": round(float(np.mean(errors[m])), 4),
                        "coverage": round(float(np.mean(covered[m])), 3),
                        "width": round(float(np.mean(widths[m])), 4),
                        "samples": len(errors[m]),
                    }
                    for m in methods_n
                }
                best = min(methods, key=lambda m: table[key][m]["mae"])
                log(
                    f"{key}: best {best} MAE {table[key][best]['mae']:.3f} "
                    f"coverage {table[key][best]['coverage']:.2f}"
                )
    return {
        "tier": tier,
        "model_version": classifier.version,
        "replicates": replicates,
        "samples_per_point": samples,
        "table": table,
    }


def choose_methods(
    report: dict[str, Any], n: int = 500, min_coverage: float = 0.90
) -> dict[str, dict[str, Any]]:
    """Per label, the method to use by default: lowest mean absolute error over the
    artificial and natural protocols at sample size `n`, among methods whose intervals
    covered the truth at least `min_coverage` of the time in both; if none does, the method
    with the best coverage. Returns label -> {method, mae, coverage} (the evidence)."""
    chosen: dict[str, dict[str, Any]] = {}
    labels = sorted({key.split("/")[0] for key in report["table"]})
    for label in labels:
        rows = [report["table"].get(f"{label}/{p}/n={n}") for p in ("artificial", "natural")]
        if any(r is None for r in rows):
            continue
        # The labelled-sample rows need people's labels of the crowd: never a default.
        methods = [m for m in rows[0] if not m.startswith("labelled")]
        mae = {m: float(np.mean([r[m]["mae"] for r in rows])) for m in methods}
        coverage = {m: float(min(r[m]["coverage"] for r in rows)) for m in methods}
        qualified = [m for m in methods if coverage[m] >= min_coverage]
        best = (
            min(qualified, key=mae.__getitem__)
            if qualified
            else max(methods, key=coverage.__getitem__)
        )
        chosen[label] = {
            "method": best,
            "mae": round(mae[best], 4),
            "coverage": round(coverage[best], 3),
            "n": n,
        }
    return chosen
