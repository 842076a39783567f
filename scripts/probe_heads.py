"""Probes of ways to lift the classifier targets that were measured and not shipped (see
docs/experiments.md). Each prints validation and test figures side by side; none writes
an artifact.

    python scripts/probe_heads.py blend        # fast + accurate probabilities, blended
    python scripts/probe_heads.py encoder      # new heads on the accurate tier's pooled vectors
    python scripts/probe_heads.py irony-emoji  # irony reading an emoji-prediction head
    python scripts/probe_heads.py irony-sarcasm  # irony learning from iSarcasmEval's posts too

Needs the shipped artifacts and ../shared/data (or STORMWATCH_DATA_DIR); no PyTorch.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from stormwatch.core.calibration import apply_scaling, fit_scaling, log_loss
from stormwatch.core.metrics import expected_calibration_error, official_score
from stormwatch.core.normalize import normalize_all
from stormwatch.datasets import TASKS, _stratified_val, load_split, load_tweeteval, question_splits
from stormwatch.models import artifact_dir, load_classifier
from stormwatch.models.artifact import read_npz
from stormwatch.models.onnx_tier import OnnxTier
from stormwatch.settings import data_dir
from stormwatch.training.fast import _fit, _full_logits, choose_decision

TWEETEVAL = ("sentiment", "offensive", "hate", "irony", "emotion")
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)


def _score(task: str, y: np.ndarray, proba: np.ndarray, decision: list[float] | None) -> float:
    weights = np.ones(proba.shape[1]) if decision is None else np.asarray(decision)
    return official_score(TASKS[task].metric, y, (proba * weights).argmax(1), proba.shape[1])


def _blend(accurate: np.ndarray, fast: np.ndarray, weight: float) -> np.ndarray:
    """Weighted geometric mean of two tiers' calibrated probabilities, renormalised."""
    logp = (1 - weight) * np.log(accurate + 1e-9) + weight * np.log(fast + 1e-9)
    p = np.exp(logp - logp.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


def probe_blend(root: Path) -> None:
    """Per task, the blend weight with the lowest validation log-loss, then its test score
    and ECE beside the accurate tier's own (its decision rule kept, and re-chosen)."""
    tiers = {name: load_classifier(name) for name in ("fast", "accurate")}
    val = {name: read_npz(artifact_dir(name) / "validation.npz") for name in tiers}
    decisions = {t.name: t.decision for t in tiers["accurate"].layout.tasks}
    slices = tiers["accurate"].layout.slices()
    for task in TWEETEVAL:
        yv = val["accurate"][f"{task}.labels"]
        pav, pfv = val["accurate"][f"{task}.proba"], val["fast"][f"{task}.proba"]
        weights = np.linspace(0, 0.6, 13)
        weight = float(weights[np.argmin([log_loss(_blend(pav, pfv, w), yv) for w in weights])])
        texts, y = load_split(root, task, "test")
        pa, pf = (tiers[n].predict_proba(texts)[:, slices[task]] for n in ("accurate", "fast"))
        pb = _blend(pa, pf, weight)
        own, _ = choose_decision(_blend(pav, pfv, weight), yv, TASKS[task].metric)
        extra = (
            f"; negative-vs-rest AUC {roc_auc_score(y == 0, pa[:, 0]):.4f} -> "
            f"{roc_auc_score(y == 0, pb[:, 0]):.4f}"
            if task == "sentiment"
            else ""
        )
        print(
            f"{task:10s} weight {weight:.2f}: accurate {_score(task, y, pa, decisions[task]):.1f}"
            f" (ECE {expected_calibration_error(pa, y):.3f}) -> blend "
            f"{_score(task, y, pb, decisions[task]):.1f}, own rule {_score(task, y, pb, own):.1f}"
            f" (ECE {expected_calibration_error(pb, y):.3f}){extra}"
        )


def _pooled_encoder(folder: Path) -> OnnxTier:
    """A copy of the accurate tier whose graph also returns the pooled sentence vector
    (the heads' input, `/Div_output_0`)."""
    import onnx

    model = onnx.load(str(artifact_dir("accurate") / "model.onnx"))
    model.graph.output.append(
        onnx.helper.make_tensor_value_info("/Div_output_0", onnx.TensorProto.FLOAT, None)
    )
    for name in ("config.json", "tokenizer.json"):
        shutil.copy(artifact_dir("accurate") / name, folder / name)
    onnx.save(model, str(folder / "model.onnx"))
    return OnnxTier(folder)


def _pooled(tier: OnnxTier, texts: list[str]) -> np.ndarray:
    encodings = tier.tokenizer.encode_batch(normalize_all(texts))
    lengths = np.array([len(e.ids) for e in encodings])
    order = np.argsort(lengths, kind="stable")
    out = np.zeros((len(texts), 384), dtype=np.float32)
    for start in range(0, len(order), 64):
        picked = order[start : start + 64]
        ids = np.zeros((len(picked), int(lengths[picked].max())), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, index in enumerate(picked):
            ids[row, : lengths[index]] = encodings[index].ids
            mask[row, : lengths[index]] = 1
        out[picked] = tier.session.run(
            ["/Div_output_0"], {"input_ids": ids, "attention_mask": mask}
        )[0]
    return out


def _threshold_head(
    x: np.ndarray, y: np.ndarray, extra: tuple[np.ndarray, np.ndarray] | None, c: float
) -> tuple[LogisticRegression, float, float]:
    """Logistic regression with its F1-best threshold from 5-fold out-of-fold scores on the
    training posts (`extra` rows, e.g. rephrases, join every training fold, never a
    scored one). Returns (model fitted on all, threshold, out-of-fold F1)."""
    from stormwatch.core.metrics import stratified_folds

    folds = stratified_folds(y, 5, np.random.default_rng(0))
    oof = np.zeros(len(y))

    def fit(rows: np.ndarray, labels: np.ndarray) -> LogisticRegression:
        if extra is not None:
            rows, labels = np.vstack([rows, extra[0]]), np.concatenate([labels, extra[1]])
        model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
        return model.fit(rows, labels)

    for fold in range(5):
        held = folds == fold
        oof[held] = fit(x[~held], y[~held]).predict_proba(x[held])[:, 1]
    thresholds = np.linspace(0.05, 0.95, 91)
    f1s = [official_score("f1_positive", y, (oof > t).astype(int), 2) for t in thresholds]
    best = int(np.argmax(f1s))
    return fit(x, y), float(thresholds[best]), f1s[best]


def probe_encoder(root: Path) -> None:
    """Heads retrained on the accurate tier's (fine-tuned) pooled vectors: sarcasm with
    iSarcasmEval's non-sarcastic rephrases as extra negatives, and genuine question with
    labelling round 2 added; scored on the posts the shipped heads are judged on."""
    with tempfile.TemporaryDirectory() as folder:
        tier = _pooled_encoder(Path(folder))
        path = root / "isarcasmeval" / "train" / "train.En.csv"
        with open(path, encoding="utf-8", newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if (r.get("tweet") or "").strip()]
        y = np.array([int(r["sarcastic"]) for r in rows])
        held = _stratified_val(y, 13, 0.2)  # the split the shipped head was calibrated on
        x = _pooled(tier, [r["tweet"].strip() for r in rows])
        rephrased = np.array([bool((r.get("rephrase") or "").strip()) for r in rows]) & ~held
        x_re = _pooled(tier, [rows[i]["rephrase"].strip() for i in np.flatnonzero(rephrased)])
        for name, extra in (("plain", None), ("+ rephrases", (x_re, np.zeros(len(x_re))))):
            for c in C_GRID:
                model, t, f1_oof = _threshold_head(x[~held], y[~held], extra, c)
                p = model.predict_proba(x[held])[:, 1]
                f1 = official_score("f1_positive", y[held], (p > t).astype(int), 2)
                print(f"sarcasm {name:12s} C={c}: out-of-fold F1 {f1_oof:.1f}, held-out {f1:.1f}")
        for rounds in (("1",), ("1", "2")):
            parts = question_splits("genuine_question", rounds=rounds)
            texts = parts["train"][0] + parts["val"][0]
            labels = np.concatenate([parts["train"][1], parts["val"][1]])
            x_train, x_test = _pooled(tier, texts), _pooled(tier, parts["test"][0])
            for c in C_GRID:
                model, t, f1_oof = _threshold_head(x_train, labels, None, c)
                p = model.predict_proba(x_test)[:, 1]
                f1 = official_score("f1_positive", parts["test"][1], (p > t).astype(int), 2)
                print(
                    f"genuine rounds {'+'.join(rounds)} C={c}: out-of-fold F1 {f1_oof:.1f}, "
                    f"test {f1:.1f}, AUC {roc_auc_score(parts['test'][1], p):.3f}"
                )


def probe_irony_emoji(root: Path) -> None:
    """The irony head with an emoji-prediction head's 20 probabilities beside its n-grams
    (TweetEval emoji train, distant supervision in the manner of DeepMoji), C and class
    weight chosen on validation as `stormwatch train` does."""
    fast = load_classifier("fast")

    def features(texts: list[str]) -> sp.csr_matrix:
        return fast.featurizer.transform(normalize_all(texts), fast.idf)

    emoji_texts, emoji_y = load_tweeteval(root, "emoji", "train")
    emoji = LogisticRegression(C=2.0, max_iter=300).fit(features(emoji_texts), emoji_y)
    splits = {}
    for split in ("train", "val", "test"):
        texts, y = load_split(root, "irony", split)
        x = features(texts)
        splits[split] = (x, y, emoji.predict_proba(x))
    for scale in (None, 1.0, 3.0, 10.0):

        def stack(split: str, scale: float | None = scale) -> sp.csr_matrix:
            x, _, p = splits[split]
            return x if scale is None else sp.hstack([x, sp.csr_matrix(p * scale)], "csr")

        best = None
        for c in (0.5, 1.0, 2.0, 4.0, 8.0):
            for weight in (None, "balanced"):
                model = _fit(stack("train"), splits["train"][1], c, weight)
                logits = _full_logits(model, stack("val"))
                temperature, bias = fit_scaling(logits, splits["val"][1], with_bias=True)
                proba = apply_scaling(logits, temperature, bias)
                rule, score = choose_decision(proba, splits["val"][1], "f1_positive", bias)
                if best is None or score > best[0]:
                    best = (score, model, temperature, bias, rule)
        score, model, temperature, bias, rule = best
        proba = apply_scaling(_full_logits(model, stack("test")), temperature, bias)
        test = _score("irony", splits["test"][1], proba, rule)
        label = "n-grams alone" if scale is None else f"+ emoji x{scale:g}"
        print(f"irony {label:14s}: validation {score:.1f}, test {test:.1f}")


def probe_irony_sarcasm(root: Path) -> None:
    """The irony head learning from iSarcasmEval's train posts besides TweetEval irony's:
    sarcasm is a kind of verbal irony, and the task's irony data (SemEval-2018) counts it
    as such. Sarcastic posts as ironic, and the others as not (or left out); C and class
    weight chosen on irony validation after calibration, as `stormwatch train` compares
    heads (`_held_out_score`)."""
    from stormwatch.training.fast import GRID_C, GRID_WEIGHT, _grid_fit, _held_out_score

    fast = load_classifier("fast")

    def features(texts: list[str]) -> sp.csr_matrix:
        return fast.featurizer.transform(normalize_all(texts), fast.idf)

    splits = {}
    for split in ("train", "val", "test"):
        texts, y = load_split(root, "irony", split)
        splits[split] = (features(texts), y)
    sarcasm_texts, sarcasm_y = load_split(root, "sarcasm", "train")
    x_sarcasm = features(sarcasm_texts)
    grid = [(c, w) for c in GRID_C for w in GRID_WEIGHT]
    options = {
        "irony alone (as shipped)": None,
        "+ sarcastic posts only": sarcasm_y == 1,
        "+ all sarcasm posts": np.ones(len(sarcasm_y), dtype=bool),
    }
    for name, keep in options.items():
        x, y = splits["train"]
        if keep is not None:
            x = sp.vstack([x, x_sarcasm[keep]], format="csr")
            y = np.concatenate([y, sarcasm_y[keep]])
        models = _grid_fit(x, y, grid)
        val_scores = [
            _held_out_score(_full_logits(m, splits["val"][0]), splits["val"][1], "f1_positive")
            for m in models
        ]
        best = int(np.argmax(val_scores))
        model = models[best]
        logits = _full_logits(model, splits["val"][0])
        temperature, bias = fit_scaling(logits, splits["val"][1], with_bias=True)
        rule, _ = choose_decision(
            apply_scaling(logits, temperature, bias), splits["val"][1], "f1_positive", bias
        )
        proba = apply_scaling(_full_logits(model, splits["test"][0]), temperature, bias)
        test = _score("irony", splits["test"][1], proba, rule)
        print(
            f"irony {name:26s} C={grid[best][0]} weight={grid[best][1]}: "
            f"validation {val_scores[best]:.1f}, test {test:.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("probe", choices=("blend", "encoder", "irony-emoji", "irony-sarcasm"))
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    probes = {
        "blend": probe_blend,
        "encoder": probe_encoder,
        "irony-emoji": probe_irony_emoji,
        "irony-sarcasm": probe_irony_sarcasm,
    }
    probes[args.probe](data_dir(args.data))


if __name__ == "__main__":
    main()
