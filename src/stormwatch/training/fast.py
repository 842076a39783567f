"""Train the fast tier: shared hashed n-gram features, a logistic-regression head per task
(hyper-parameters chosen on each task's validation split), calibrated on validation.

Seeded and deterministic: the same data and library versions rebuild identical files.
Each task's head is checkpointed, so an interrupted run resumes where it stopped."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from stormwatch.core.calibration import apply_scaling, fit_scaling
from stormwatch.core.cues import CUE_NAMES, question_cues
from stormwatch.core.features import HashedNgrams, fit_idf
from stormwatch.core.metrics import official_score
from stormwatch.core.normalize import normalize_all
from stormwatch.datasets import TASKS, load_split
from stormwatch.models.artifact import (
    digest,
    package_versions,
    read_npz,
    write_config,
    write_npz,
)

VERSION = "1.2.0"
# Second-stage heads: their features add the first-stage heads' calibrated probabilities
# and the question cues to the n-grams.
STACKED = ("question", "genuine_question")
FEATURIZER = {"bits": 18, "char_min": 3, "char_max": 5, "word_n": 2}
GRID_C = (0.5, 1.0, 2.0, 4.0, 8.0)
GRID_WEIGHT = (None, "balanced")
Log = Callable[[str], None]


def _fit(
    features: sp.csr_matrix, y: np.ndarray, c: float, weight: str | None
) -> LogisticRegression:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return LogisticRegression(C=c, class_weight=weight, max_iter=3000).fit(features, y)


def _full_logits(model: LogisticRegression, features: sp.csr_matrix) -> np.ndarray:
    """Per-class logits; a binary model's single score becomes [0, score]."""
    raw = model.decision_function(features)
    return np.column_stack([np.zeros_like(raw), raw]) if raw.ndim == 1 else raw


def _head(model: LogisticRegression, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(dim, n_classes) weights and (n_classes,) intercepts matching `_full_logits`."""
    if n_classes == 2:
        weights = np.column_stack([np.zeros(model.coef_.shape[1]), model.coef_[0]])
        return weights, np.array([0.0, model.intercept_[0]])
    return model.coef_.T, model.intercept_


def choose_decision(
    proba: np.ndarray, y: np.ndarray, metric: str, calibration_bias: np.ndarray | None = None
) -> tuple[list[float] | None, float]:
    """The decision rule that scores best on this held-out data: plain argmax, the balanced
    decision (weights 1/prior), or the classifier's own uncalibrated decision (weights
    exp(-calibration bias)). Returns (weights or None for argmax, score)."""
    n_classes = proba.shape[1]
    prior = np.bincount(y, minlength=n_classes) / len(y)
    candidates: list[list[float] | None] = [None, [float(1 / max(p, 1e-6)) for p in prior]]
    if calibration_bias is not None and np.any(calibration_bias):
        candidates.append([float(v) for v in np.exp(-np.asarray(calibration_bias))])
    best: tuple[list[float] | None, float] = (None, -1.0)
    for weights in candidates:
        scored = proba if weights is None else proba * np.asarray(weights)
        score = official_score(metric, y, scored.argmax(1), n_classes)
        if score > best[1] + 1e-9:
            best = (weights, score)
    return best


def train_task(
    task: str,
    featurizer: HashedNgrams,
    idf: np.ndarray,
    root: Path,
    log: Log,
    dense: Callable[[list[str]], np.ndarray] | None = None,
) -> dict[str, Any]:
    """One head: n-gram features (plus `dense` columns for a second-stage head), C and
    class weight chosen on validation, then calibrated and given its decision rule."""
    spec = TASKS[task]
    n_classes = len(spec.task.classes)
    train_x, train_y = load_split(root, task, "train")
    val_x, val_y = load_split(root, task, "val")
    x_train = featurizer.transform(normalize_all(train_x), idf)
    x_val = featurizer.transform(normalize_all(val_x), idf)
    if dense is not None:
        x_train = sp.hstack([x_train, sp.csr_matrix(dense(train_x))], format="csr")
        x_val = sp.hstack([x_val, sp.csr_matrix(dense(val_x))], format="csr")
    grid = [(c, w) for c in GRID_C for w in GRID_WEIGHT]
    with ThreadPoolExecutor(max_workers=2) as pool:
        models = list(pool.map(lambda p: _fit(x_train, train_y, *p), grid))
    scores = [official_score(spec.metric, val_y, m.predict(x_val), n_classes) for m in models]
    best = int(np.argmax(scores))
    c, weight = grid[best]
    model = models[best]
    val_logits = _full_logits(model, x_val)
    temperature, bias = fit_scaling(val_logits, val_y, with_bias=True)
    decision, val_score = choose_decision(
        apply_scaling(val_logits, temperature, bias), val_y, spec.metric, bias
    )
    weights, intercept = _head(model, n_classes)
    log(
        f"{task}: C={c} class_weight={weight} validation {spec.metric} {val_score:.1f} "
        f"(T={temperature:.2f}, {'balanced' if decision is not None else 'argmax'} decision)"
    )
    return {
        "weights": weights.astype(np.float32),
        "intercept": intercept.astype(np.float32),
        "temperature": np.float64(temperature),
        "calibration_bias": bias,
        "C": np.float64(c),
        "balanced": np.bool_(weight == "balanced"),
        "val_score": np.float64(val_score),
        "decision": np.asarray(decision if decision is not None else [], dtype=np.float64),
        "n_train": np.int64(len(train_y)),
    }


def train_fast(
    root: Path, out: Path, tasks: Sequence[str] = tuple(TASKS), log: Log = print
) -> dict[str, Any]:
    """Build the fast-tier artifact in `out` from the datasets under `root`."""
    featurizer = HashedNgrams(**FEATURIZER)
    checkpoints = out / ".checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    idf_path = checkpoints / "idf.npz"
    if idf_path.is_file():
        idf = read_npz(idf_path)["idf"]
    else:
        corpus: list[str] = []
        for task in tasks:
            corpus.extend(load_split(root, task, "train")[0])
        idf = fit_idf(featurizer.counts(normalize_all(corpus)))
        write_npz(idf_path, {"idf": idf})
    idf = idf.astype(np.float16).astype(np.float32)  # what inference will see

    stage_one = [t for t in tasks if t not in STACKED]
    heads: dict[str, dict[str, Any]] = {}
    for task in stage_one:
        heads[task] = _checkpointed(
            checkpoints / f"{task}.npz",
            log,
            task,
            lambda t=task: train_task(t, featurizer, idf, root, log),
        )
    for task in (t for t in tasks if t in STACKED):
        dense = _dense_inputs(featurizer, idf, stage_one, heads)
        heads[task] = _checkpointed(
            checkpoints / f"{task}.npz",
            log,
            task,
            lambda t=task, d=dense: train_task(t, featurizer, idf, root, log, dense=d),
        )

    dim = featurizer.dim
    weights = np.concatenate([heads[t]["weights"][:dim] for t in tasks], axis=1)
    intercept = np.concatenate([heads[t]["intercept"] for t in tasks])
    arrays = {
        "idf": idf.astype(np.float16),
        "weights": weights.astype(np.float16),
        "bias": intercept.astype(np.float32),
    }
    stacked = [t for t in tasks if t in STACKED]
    if stacked:
        arrays["stack"] = np.concatenate(
            [heads[t]["weights"][dim:] for t in stacked], axis=1
        ).astype(np.float32)
    write_npz(out / "weights.npz", arrays)
    config = {
        "name": "fast",
        "version": VERSION,
        "kind": "hashed word 1-2-grams + char 3-5-grams, TF-IDF, logistic regression per task "
        "(question and genuine question: a second stage over the first-stage probabilities "
        "and cues)",
        "featurizer": FEATURIZER,
        "tasks": [
            {
                "name": t,
                "classes": list(TASKS[t].task.classes),
                "metric": TASKS[t].metric,
                "C": float(heads[t]["C"]),
                "class_weight": "balanced" if bool(heads[t]["balanced"]) else None,
                "temperature": float(heads[t]["temperature"]),
                "calibration_bias": [float(v) for v in heads[t]["calibration_bias"]],
                "decision": [float(v) for v in heads[t]["decision"]] or None,
                "validation_score": round(float(heads[t]["val_score"]), 2),
                "train_size": int(heads[t]["n_train"]),
            }
            for t in tasks
        ],
        "stacked": {
            "tasks": stacked,
            "inputs": "calibrated probabilities of every first-stage task, then the question cues",
            "cues": list(CUE_NAMES),
        },
        "versions": package_versions("numpy", "scipy", "scikit-learn"),
    }
    write_config(out, config)
    _write_validation(out, tasks, root)
    config["files"] = {name: digest(out / name) for name in ("weights.npz", "validation.npz")}
    write_config(out, config)
    return config


def _checkpointed(
    path: Path, log: Log, task: str, train: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    if path.is_file():
        log(f"{task}: resumed from checkpoint")
        return read_npz(path)
    head = train()
    write_npz(path, head)
    return head


def stage_one_proba(
    features: sp.csr_matrix, stage_one: Sequence[str], heads: dict[str, dict[str, Any]]
) -> np.ndarray:
    """Calibrated probabilities of every first-stage task, side by side."""
    dim = features.shape[1]
    blocks = []
    for task in stage_one:
        head = heads[task]
        logits = np.asarray(features @ head["weights"][:dim]) + head["intercept"]
        blocks.append(
            apply_scaling(logits, float(head["temperature"]), np.asarray(head["calibration_bias"]))
        )
    return np.concatenate(blocks, axis=1).astype(np.float32)


def _dense_inputs(
    featurizer: HashedNgrams,
    idf: np.ndarray,
    stage_one: Sequence[str],
    heads: dict[str, dict[str, Any]],
) -> Callable[[list[str]], np.ndarray]:
    # Computed from float16-rounded weights, as inference will see them.
    rounded = {
        t: dict(heads[t], weights=heads[t]["weights"].astype(np.float16).astype(np.float32))
        for t in stage_one
    }

    def dense(texts: list[str]) -> np.ndarray:
        normalized = normalize_all(texts)
        features = featurizer.transform(normalized, idf)
        return np.hstack([stage_one_proba(features, stage_one, rounded), question_cues(normalized)])

    return dense


def _write_validation(out: Path, tasks: Sequence[str], root: Path) -> None:
    """Calibrated validation predictions of the shipped model (as inference computes them),
    for the adjusted prevalence estimators."""
    from stormwatch.models.linear import LinearTier

    model = LinearTier(out)
    slices = model.layout.slices()
    arrays: dict[str, np.ndarray] = {}
    for task in tasks:
        texts, labels = load_split(root, task, "val")
        arrays[f"{task}.proba"] = model.predict_proba(texts)[:, slices[task]]
        arrays[f"{task}.labels"] = labels.astype(np.int8)
    write_npz(out / "validation.npz", arrays)
