"""Fast-tier training on small real data: it learns, and it is reproducible bit for bit."""

import numpy as np

from stormwatch.models.artifact import digest
from stormwatch.models.linear import LinearTier
from stormwatch.settings import data_dir
from stormwatch.training.fast import choose_decision, train_fast


def _small_root(tmp_path, n_train=400, n_val=200):
    source = data_dir() / "tweeteval" / "datasets" / "irony"
    target = tmp_path / "data" / "tweeteval" / "datasets" / "irony"
    target.mkdir(parents=True)
    for split, n in (("train", n_train), ("val", n_val), ("test", n_val)):
        for kind in ("text", "labels"):
            lines = (source / f"{split}_{kind}.txt").read_text(encoding="utf-8").splitlines()
            (target / f"{split}_{kind}.txt").write_text(
                "\n".join(lines[:n]) + "\n", encoding="utf-8"
            )
    return tmp_path / "data"


def test_training_is_deterministic_and_resumable(tmp_path):
    root = _small_root(tmp_path)
    logs: list[str] = []
    first = train_fast(root, tmp_path / "a", tasks=("irony",), log=logs.append)
    second = train_fast(root, tmp_path / "b", tasks=("irony",), log=logs.append)
    assert first["files"] == second["files"]
    assert digest(tmp_path / "a" / "weights.npz") == digest(tmp_path / "b" / "weights.npz")
    resumed = train_fast(root, tmp_path / "a", tasks=("irony",), log=logs.append)
    assert resumed["files"] == first["files"] and "irony: resumed from checkpoint" in logs
    model = LinearTier(tmp_path / "a")
    proba = model.predict_proba(["I just love waiting two hours for a bus #not", "nice day"])
    assert proba.shape == (2, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_choose_decision_prefers_the_rule_that_scores_better():
    rng = np.random.default_rng(0)
    y = (rng.random(1000) < 0.1).astype(int)
    # A calibrated model of a rare class: p(positive) rarely exceeds 0.5.
    p1 = np.clip(0.05 + 0.3 * y + rng.normal(0, 0.08, 1000), 0.001, 0.999)
    proba = np.column_stack([1 - p1, p1])
    weights, _score = choose_decision(proba, y, "f1_positive")
    assert weights is not None and weights[1] > weights[0]  # balanced beats argmax
    plain, plain_score = choose_decision(np.eye(2)[y] * 0.8 + 0.1, y, "f1_positive")
    assert plain is None and plain_score == 100.0
