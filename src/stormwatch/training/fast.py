"""Train the fast tier: shared hashed n-gram features, a logistic-regression head per task
(hyper-parameters chosen on each task's validation split), calibrated on validation.

Knowledge distillation: the shipped accurate tier labels ~110,000 unlabelled tweets (the
TweetEval train texts of every task, emoji included, less anything in a test split); a
TweetEval head may learn from them too, each post counted once per class with the teacher's
probability as its weight. A head keeps the distilled data only when that gains on its
validation split (sentiment never does: see DISTIL_TASKS).

Seeded and deterministic: the same data and library versions rebuild identical files.
Each task's head and the teacher's labels are checkpointed, so an interrupted run resumes
where it stopped."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from stormwatch.core.calibration import (
    Calibration,
    apply_scaling,
    choose_calibration,
    fit_scaling,
)
from stormwatch.core.cues import CUE_NAMES, question_cues
from stormwatch.core.features import HashedNgrams, fit_idf
from stormwatch.core.metrics import official_score, stratified_folds
from stormwatch.core.normalize import normalize_all
from stormwatch.datasets import (
    TASKS,
    TWEETEVAL_TASKS,
    load_split,
    question_splits,
    tweet_texts,
)
from stormwatch.models.artifact import (
    digest,
    package_versions,
    read_npz,
    write_config,
    write_npz,
)

VERSION = "1.5.0"
# Second-stage heads: their features add the first-stage heads' calibrated probabilities
# and the question cues to the n-grams. Sentiment is one since 1.5.0: the offensive, hate,
# irony, emotion and sarcasm heads learnt from other tweets, most of later years than its
# own, and with their probabilities its validation score rose 68.5 -> 69.8 (test 62.3 ->
# 64.0; the negative share's MACC error on artificial samples of 500: 0.058 -> 0.048).
STACKED = ("sentiment", "question", "genuine_question")
FEATURIZER = {"bits": 18, "char_min": 3, "char_max": 5, "word_n": 2}
GRID_C = (0.5, 1.0, 2.0, 4.0, 8.0)
GRID_WEIGHT = (None, "balanced")
# Distillation: a teacher-labelled post weighs half a labelled one; a distilled head must beat
# the plain one by half a point on validation (small validation splits are noisy, and the
# teacher's view of unlabelled tweets can pull a head away from its own task's data).
DISTIL_WEIGHT = 0.5
DISTIL_MARGIN = 0.5
# Sentiment is not distilled: distilled, its test score rose (62.8 -> 64.9) but its error
# rates on validation stopped transferring to the test years, as the teacher's do, and the
# adjusted estimate of the negative share went three times as wrong (MACC mean abs. error
# 0.048 -> 0.155 on samples of 500; `stormwatch eval quantify`). Prevalence comes first.
DISTIL_TASKS = tuple(t for t in TWEETEVAL_TASKS if t != "sentiment")
# Heads of a few hundred hand-labelled posts are chosen and calibrated by k-fold cross-
# validation over train + validation posts (the test posts stay out of it).
CROSS_VALIDATED = ("question", "genuine_question")
CV_FOLDS = 5
CV_SEED = 13
TEACHER_CHUNK = 10_000
Log = Callable[[str], None]


def _fit(
    features: sp.csr_matrix,
    y: np.ndarray,
    c: float,
    weight: str | None,
    sample_weight: np.ndarray | None = None,
) -> LogisticRegression:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(C=c, class_weight=weight, max_iter=3000)
        return model.fit(features, y, sample_weight=sample_weight)


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


class Teacher:
    """Unlabelled tweets, their features, and the accurate tier's probabilities for them."""

    def __init__(
        self,
        texts: list[str],
        features: sp.csr_matrix,
        proba: np.ndarray,
        slices: dict[str, slice],
    ) -> None:
        self.texts, self.features, self.proba, self.slices = texts, features, proba, slices

    def for_task(
        self, task: str, exclude: set[str]
    ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """(features, labels, weights) of the distilled rows for `task`: each post once
        per class, weighted by the teacher's probability; posts in `exclude` (the task's
        own train and validation texts) are left out."""
        keep = np.fromiter((t not in exclude for t in self.texts), bool, len(self.texts))
        features, proba = self.features[keep], self.proba[keep][:, self.slices[task]]
        n_classes = proba.shape[1]
        rows = sp.vstack([features] * n_classes, format="csr")
        labels = np.repeat(np.arange(n_classes), features.shape[0])
        return rows, labels, DISTIL_WEIGHT * proba.T.ravel()


def _grid_fit(
    features: sp.csr_matrix,
    y: np.ndarray,
    grid: list[tuple[float, str | None]],
    sample_weight: np.ndarray | None = None,
) -> list[LogisticRegression]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda p: _fit(features, y, *p, sample_weight), grid))


def _held_out_score(logits: np.ndarray, y: np.ndarray, metric: str) -> float:
    """The score of held-out logits once calibrated (temperature and bias) and given their
    best decision rule: what the grid and the distillation choice compare."""
    temperature, bias = fit_scaling(logits, y, with_bias=True)
    return choose_decision(apply_scaling(logits, temperature, bias), y, metric, bias)[1]


def _finished(
    task: str,
    model: LogisticRegression,
    held_out: tuple[np.ndarray, np.ndarray, np.ndarray | None],
    hyper: tuple[float, str | None],
    sizes: tuple[int, int],
    log: Log,
) -> tuple[dict[str, Any], np.ndarray]:
    """A head as it ships: calibrated on held-out logits (`held_out`: logits, labels and the
    folds that decide whether an isotonic map follows temperature scaling, None for the
    default ones), given the decision rule that scores best there; and the held-out posts'
    calibrated probabilities."""
    spec = TASKS[task]
    logits, y, fold_of = held_out
    calibration = choose_calibration(logits, y, fold_of)
    proba = calibration.apply(logits)
    decision, score = choose_decision(proba, y, spec.metric, calibration.bias)
    weights, intercept = _head(model, len(spec.task.classes))
    c, weight = hyper
    log(
        f"{task}: C={c} class_weight={weight} held-out {spec.metric} {score:.1f} "
        f"(T={calibration.temperature:.2f}{', isotonic' if calibration.knots else ''}, "
        f"{'balanced' if decision is not None else 'argmax'} decision)"
    )
    return {
        "weights": weights.astype(np.float32),
        "intercept": intercept.astype(np.float32),
        **_calibration_arrays(calibration),
        "C": np.float64(c),
        "balanced": np.bool_(weight == "balanced"),
        "val_score": np.float64(score),
        "decision": np.asarray(decision if decision is not None else [], dtype=np.float64),
        "n_train": np.int64(sizes[0]),
        "n_distilled": np.int64(sizes[1]),
    }, proba


def _cross_validated(
    task: str,
    features: sp.csr_matrix,
    y: np.ndarray,
    grid: list[tuple[float, str | None]],
    log: Log,
) -> dict[str, Any]:
    """A head of few labelled posts: C and class weight chosen, and the head calibrated, on
    out-of-fold logits of all of them (k-fold), then refitted on all of them. With ~460
    posts a fifth held out for validation would leave ~90 posts to calibrate on."""
    fold_of = stratified_folds(y, CV_FOLDS, np.random.default_rng(CV_SEED))
    n_classes = len(TASKS[task].task.classes)
    held_out = [np.zeros((len(y), n_classes)) for _ in grid]
    for fold in range(CV_FOLDS):
        part = fold_of == fold
        for logits, model in zip(held_out, _grid_fit(features[~part], y[~part], grid), strict=True):
            logits[part] = _full_logits(model, features[part])
    scores = [_held_out_score(logits, y, TASKS[task].metric) for logits in held_out]
    best = int(np.argmax(scores))
    model = _fit(features, y, *grid[best])
    head, proba = _finished(task, model, (held_out[best], y, fold_of), grid[best], (len(y), 0), log)
    head["cross_validated"] = np.int64(CV_FOLDS)
    # Its validation predictions (validation.npz): out-of-fold, as calibrated.
    head["validation_proba"] = proba.astype(np.float32)
    head["validation_labels"] = y.astype(np.int8)
    return head


def train_task(
    task: str,
    featurizer: HashedNgrams,
    idf: np.ndarray,
    root: Path,
    log: Log,
    dense: Callable[[list[str]], np.ndarray] | None = None,
    teacher: Teacher | None = None,
) -> dict[str, Any]:
    """One head: n-gram features (plus `dense` columns for a second-stage head), C and
    class weight chosen on validation, with or without the teacher's distilled posts
    (kept only when validation says so), then calibrated and given its decision rule. A
    head of few hand-labelled posts (CROSS_VALIDATED) is cross-validated instead."""
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
    if task in CROSS_VALIDATED:
        features = sp.vstack([x_train, x_val], format="csr")
        return _cross_validated(task, features, np.concatenate([train_y, val_y]), grid, log)
    models = _grid_fit(x_train, train_y, grid)
    scores = [official_score(spec.metric, val_y, m.predict(x_val), n_classes) for m in models]
    best = int(np.argmax(scores))
    c, weight = grid[best]
    model = models[best]
    n_distilled = 0
    if teacher is not None:
        rows, labels, weights = teacher.for_task(task, set(train_x) | set(val_x))
        if rows.shape[0]:
            plain = _held_out_score(_full_logits(model, x_val), val_y, spec.metric)
            distil_grid = [(c_, weight) for c_ in GRID_C]
            distilled = _grid_fit(
                sp.vstack([x_train, rows], format="csr"),
                np.concatenate([train_y, labels]),
                distil_grid,
                np.concatenate([np.ones(len(train_y)), weights]),
            )
            # Scored after calibration and the decision rule: the teacher's labels move
            # the class prior, which the raw argmax would be judged on.
            options = [
                _held_out_score(_full_logits(m, x_val), val_y, spec.metric) for m in distilled
            ]
            d_best = int(np.argmax(options))
            log(
                f"{task}: validation {plain:.1f} plain, {options[d_best]:.1f} with "
                f"{rows.shape[0] // n_classes:,} distilled posts"
            )
            if options[d_best] >= plain + DISTIL_MARGIN:
                model, c = distilled[d_best], distil_grid[d_best][0]
                n_distilled = rows.shape[0] // n_classes
    head, _ = _finished(
        task,
        model,
        (_full_logits(model, x_val), val_y, None),
        (c, weight),
        (len(train_y), n_distilled),
        log,
    )
    return head


def _held_out_texts(root: Path) -> set[str]:
    """Every text of a test split the tiers are scored on: never a distillation post."""
    texts = set(tweet_texts(root, TWEETEVAL_TASKS, "test_text.txt"))
    return texts | set(question_splits("question")["test"][0])


def build_teacher(
    root: Path, cache: Path, featurizer: HashedNgrams, idf: np.ndarray, log: Log
) -> tuple[Teacher, dict[str, Any]]:
    """The accurate tier's probabilities for the unlabelled tweets, computed in chunks
    (~5 minutes on 2 cores) kept under `cache` in a folder named by the teacher model and
    the texts: a later build with the same teacher and data reuses them."""
    from stormwatch.models import artifact_dir, load_classifier

    held_out = _held_out_texts(root)
    texts = [t for t in tweet_texts(root, ("emoji", *TWEETEVAL_TASKS)) if t not in held_out]
    model = load_classifier("accurate")
    teacher_digest = digest(artifact_dir("accurate") / "model.onnx")
    key = hashlib.sha256("\n".join([teacher_digest, *texts]).encode("utf-8")).hexdigest()
    folder = cache / f"teacher-{key[:16]}"
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for start in range(0, len(texts), TEACHER_CHUNK):
        path = folder / f"{start // TEACHER_CHUNK:03d}.npz"
        if not path.is_file():
            log(f"teacher: labelling posts {start:,}-{min(start + TEACHER_CHUNK, len(texts)):,}")
            chunk = model.predict_proba(texts[start : start + TEACHER_CHUNK])
            write_npz(path, {"proba": chunk.astype(np.float32)})
        parts.append(read_npz(path)["proba"])
    proba = np.concatenate(parts) if parts else np.zeros((0, model.layout.width), np.float32)
    features = featurizer.transform(normalize_all(texts), idf)
    record = {
        "teacher": f"accurate {model.version}",
        "teacher_digest": teacher_digest,
        "posts": len(texts),
        "source": "TweetEval train texts of emoji, sentiment, offensive, hate, irony and emotion; "
        "the test texts of every task left out",
        "weight": DISTIL_WEIGHT,
        "margin": DISTIL_MARGIN,
    }
    return Teacher(texts, features, proba, model.layout.slices()), record


def train_fast(
    root: Path,
    out: Path,
    tasks: Sequence[str] = tuple(TASKS),
    log: Log = print,
    distil: bool = True,
    teacher_cache: Path | None = None,
    retrain: Sequence[str] | None = None,
    base: Path | None = None,
) -> dict[str, Any]:
    """Build the fast-tier artifact in `out` from the datasets under `root` (`distil`: let
    the TweetEval heads learn from the accurate tier's labels of unlabelled tweets too, kept
    in `teacher_cache`, by default beside the heads' checkpoints).

    `retrain` with `base` (an existing fast artifact): train only these heads, keeping the
    base's IDF and every other head as they are — after new labels for one task, the other
    heads (and their validated error rates, which prevalence estimates rest on) stay put."""
    featurizer = HashedNgrams(**FEATURIZER)
    checkpoints = out / ".checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    idf_path = checkpoints / "idf.npz"
    kept: dict[str, dict[str, Any]] = {}
    if base is not None:
        kept, base_idf, base_config = _heads_of(
            base, [t for t in tasks if t not in (retrain or ())]
        )
        if base_config["featurizer"] != FEATURIZER:
            raise ValueError(f"{base} was built with another featuriser: retrain every head")
        write_npz(idf_path, {"idf": base_idf})
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
    teacher, distillation = None, None
    if distil and any(t in DISTIL_TASKS and t not in kept for t in stage_one):
        teacher, distillation = build_teacher(
            root, teacher_cache or checkpoints, featurizer, idf, log
        )
    heads: dict[str, dict[str, Any]] = dict(kept)
    for task in (t for t in stage_one if t not in kept):
        heads[task] = _checkpointed(
            checkpoints / f"{task}.npz",
            log,
            task,
            lambda t=task: train_task(
                t, featurizer, idf, root, log, teacher=teacher if t in DISTIL_TASKS else None
            ),
        )
    for task in (t for t in tasks if t in STACKED and t not in kept):
        dense = _dense_inputs(featurizer, idf, stage_one, heads)
        heads[task] = _checkpointed(
            checkpoints / f"{task}.npz",
            log,
            task,
            lambda t=task, d=dense: train_task(t, featurizer, idf, root, log, dense=d),
        )

    distillation = _distillation_record(
        distillation,
        base_config.get("distillation") if kept else None,
        [t for t in tasks if t not in kept and heads[t]["n_distilled"]],
        [t for t in kept if heads[t]["n_distilled"]],
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
        "(TweetEval heads may also learn from the accurate tier's labels of unlabelled "
        "tweets; sentiment, question and genuine question: a second stage over the "
        "first-stage probabilities and cues)",
        "featurizer": FEATURIZER,
        "tasks": [
            {
                "name": t,
                "classes": list(TASKS[t].task.classes),
                "metric": TASKS[t].metric,
                "C": float(heads[t]["C"]),
                "class_weight": "balanced" if bool(heads[t]["balanced"]) else None,
                **_head_calibration(heads[t]).to_config(),
                "decision": [float(v) for v in heads[t]["decision"]] or None,
                "validation_score": round(float(heads[t]["val_score"]), 2),
                "train_size": int(heads[t]["n_train"]),
                "distilled_posts": int(heads[t].get("n_distilled", 0)),
                **_cross_validation_record(heads[t]),
            }
            for t in tasks
        ],
        "stacked": {
            "tasks": stacked,
            "inputs": "calibrated probabilities of every first-stage task, then the question cues",
            "cues": list(CUE_NAMES),
        },
        "distillation": distillation,
        "versions": package_versions("numpy", "scipy", "scikit-learn", "onnxruntime"),
    }
    if kept:
        config["base"] = {
            "version": base_config["version"],
            "files": base_config.get("files"),
            "retrained": [t for t in tasks if t not in kept],
        }
        # The base's measured prevalence defaults still hold for labels of heads kept as is.
        retrained = {label for t in tasks if t not in kept for label in TASKS[t].task.labels}
        for key in ("quantification", "quantification_evidence"):
            carried = {k: v for k, v in base_config.get(key, {}).items() if k not in retrained}
            if carried:
                config[key] = carried
    write_config(out, config)
    _write_validation(out, tasks, root, heads)
    config["files"] = {name: digest(out / name) for name in ("weights.npz", "validation.npz")}
    write_config(out, config)
    return config


def _heads_of(
    folder: Path, tasks: Sequence[str]
) -> tuple[dict[str, dict[str, Any]], np.ndarray, dict[str, Any]]:
    """Heads of an existing fast artifact in the form `train_task` returns them (weights
    as shipped, float16-rounded), with its IDF and config."""
    from stormwatch.models.linear import LinearTier

    model = LinearTier(folder)
    slices = model.layout.slices()
    stacked = model.config.get("stacked", {}).get("tasks", [])
    stack_at, start = {}, 0
    for name in (t["name"] for t in model.config["tasks"] if t["name"] in stacked):
        width = slices[name].stop - slices[name].start
        stack_at[name] = slice(start, start + width)
        start += width
    heads: dict[str, dict[str, Any]] = {}
    validation: dict[str, np.ndarray] | None = None
    for spec in model.config["tasks"]:
        name = spec["name"]
        if name not in tasks:
            continue
        block = model.weights[:, slices[name]]
        if name in stack_at and model.stack is not None:
            block = np.vstack([block, model.stack[:, stack_at[name]]])
        heads[name] = {
            "weights": block,
            "intercept": model.bias[slices[name]],
            **_calibration_arrays(Calibration.from_config(spec)),
            "C": np.float64(spec["C"]),
            "balanced": np.bool_(spec["class_weight"] == "balanced"),
            "val_score": np.float64(spec["validation_score"]),
            "decision": np.asarray(spec["decision"] or [], np.float64),
            "n_train": np.int64(spec["train_size"]),
            "n_distilled": np.int64(spec.get("distilled_posts", 0)),
        }
        if spec.get("cross_validated"):
            # Its validation predictions are out-of-fold ones: the shipped model has seen
            # those posts, so they are carried over rather than recomputed.
            if validation is None:
                validation = read_npz(folder / "validation.npz")
            heads[name]["cross_validated"] = np.int64(spec["cross_validated"]["folds"])
            heads[name]["validation_proba"] = validation[f"{name}.proba"]
            heads[name]["validation_labels"] = validation[f"{name}.labels"]
    missing = set(tasks) - set(heads)
    if missing:
        raise ValueError(f"{folder} has no head for {', '.join(sorted(missing))}")
    return heads, model.idf, model.config


def _distillation_record(
    new: dict[str, Any] | None,
    base: dict[str, Any] | None,
    retrained: list[str],
    kept: list[str],
) -> dict[str, Any] | None:
    """The teacher record of the heads that learnt from one: this build's teacher for the
    heads it trained, the base's for heads kept from it (both when they differ)."""
    if new and base and kept and new["teacher_digest"] != base["teacher_digest"]:
        if retrained:
            return dict(new, heads=retrained, earlier=dict(base, heads=kept))
        return dict(base, heads=kept)
    if new:
        return dict(new, heads=retrained + kept)
    if base and kept:
        return dict(base, heads=kept)
    return None


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
        blocks.append(_head_calibration(head).apply(logits))
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


def _calibration_arrays(calibration: Calibration) -> dict[str, np.ndarray]:
    """A calibration as a head's checkpoint holds it (empty knots: no isotonic map)."""
    knots = calibration.knots or (np.zeros(0), np.zeros(0))
    return {
        "temperature": np.float64(calibration.temperature),
        "calibration_bias": np.asarray(calibration.bias, np.float64),
        "isotonic_x": knots[0],
        "isotonic_y": knots[1],
    }


def _head_calibration(head: dict[str, Any]) -> Calibration:
    """The calibration a head's arrays hold (older checkpoints have no knots)."""
    knots = None
    if len(head.get("isotonic_x", ())):
        knots = (np.asarray(head["isotonic_x"]), np.asarray(head["isotonic_y"]))
    return Calibration(
        float(head["temperature"]), np.asarray(head["calibration_bias"], np.float64), knots
    )


def _cross_validation_record(head: dict[str, Any]) -> dict[str, Any]:
    """The config entry of a cross-validated head's folds and posts."""
    if not int(head.get("cross_validated", 0)):
        return {}
    return {
        "cross_validated": {
            "folds": int(head["cross_validated"]),
            "posts": len(head["validation_labels"]),
        }
    }


def _write_validation(
    out: Path, tasks: Sequence[str], root: Path, heads: dict[str, dict[str, Any]]
) -> None:
    """Calibrated validation predictions of the shipped model (as inference computes them),
    for the adjusted prevalence estimators; a cross-validated head's are its out-of-fold
    predictions of all its labelled posts (the shipped model was fitted on them)."""
    from stormwatch.models.linear import LinearTier

    model = LinearTier(out)
    slices = model.layout.slices()
    arrays: dict[str, np.ndarray] = {}
    for task in tasks:
        if int(heads[task].get("cross_validated", 0)):
            arrays[f"{task}.proba"] = heads[task]["validation_proba"].astype(np.float32)
            arrays[f"{task}.labels"] = heads[task]["validation_labels"].astype(np.int8)
            continue
        texts, labels = load_split(root, task, "val")
        arrays[f"{task}.proba"] = model.predict_proba(texts)[:, slices[task]]
        arrays[f"{task}.labels"] = labels.astype(np.int8)
    write_npz(out / "validation.npz", arrays)
