"""Fast-tier training on small real data: it learns, and it is reproducible bit for bit."""

import numpy as np
import scipy.sparse as sp

from stormwatch.models.artifact import digest
from stormwatch.models.linear import LinearTier
from stormwatch.settings import data_dir
from stormwatch.training.fast import DISTIL_WEIGHT, Teacher, choose_decision, train_fast


def _small_root(tmp_path, n_train=400, n_val=200, tasks=("irony",)):
    for task in tasks:
        source = data_dir() / "tweeteval" / "datasets" / task
        target = tmp_path / "data" / "tweeteval" / "datasets" / task
        target.mkdir(parents=True, exist_ok=True)
        for split, n in (("train", n_train), ("val", n_val), ("test", n_val)):
            for kind in ("text", "labels"):
                lines = (source / f"{split}_{kind}.txt").read_text(encoding="utf-8").splitlines()
                (target / f"{split}_{kind}.txt").write_text(
                    "\n".join(lines[:n]) + "\n", encoding="utf-8"
                )
    source = data_dir() / "tweeteval" / "datasets" / "irony"
    # Unlabelled tweets for the teacher (the shipped accurate tier) to label.
    emoji = tmp_path / "data" / "tweeteval" / "datasets" / "emoji"
    emoji.mkdir(parents=True)
    lines = (source.parent / "emoji" / "train_text.txt").read_text(encoding="utf-8").splitlines()
    (emoji / "train_text.txt").write_text("\n".join(lines[:300]) + "\n", encoding="utf-8")
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
    # The teacher labelled the unlabelled tweets and the irony train texts, less the
    # irony head's own train and validation texts (which it saw with their real labels).
    assert first["distillation"]["posts"] >= 300
    assert any("distilled posts" in line for line in logs)
    # The teacher's labels kept in a cache are reused by a later build, to the same result.
    labelling = [line for line in logs if line.startswith("teacher: labelling")]
    cache = tmp_path / "cache"
    cached = train_fast(root, tmp_path / "c", ("irony",), logs.append, teacher_cache=cache)
    again = train_fast(root, tmp_path / "d", ("irony",), logs.append, teacher_cache=cache)
    assert cached["files"] == again["files"] == first["files"]
    later = [line for line in logs if line.startswith("teacher: labelling")]
    assert len(later) == len(labelling) + 1  # the "c" build labelled, the "d" build did not
    model = LinearTier(tmp_path / "a")
    proba = model.predict_proba(["I just love waiting two hours for a bus #not", "nice day"])
    assert proba.shape == (2, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_retraining_one_head_keeps_the_others_and_their_prevalence_defaults(tmp_path):
    from stormwatch.models.artifact import read_config, read_npz, write_config

    tasks = ("irony", "emotion")
    base = tmp_path / "base"
    train_fast(_small_root(tmp_path / "one", tasks=tasks), base, tasks, lambda _: None, False)
    config = read_config(base)
    config["quantification"] = {"irony": "pcc", "anger": "acc"}
    write_config(base, config)
    # New irony labels (more posts); emotion's data is the same.
    more = _small_root(tmp_path / "two", n_train=600, tasks=tasks)
    out = tmp_path / "out"
    built = train_fast(more, out, tasks, lambda _: None, False, retrain=["irony"], base=base)
    old, new = read_npz(base / "weights.npz"), read_npz(out / "weights.npz")
    assert np.array_equal(old["idf"], new["idf"])
    assert np.array_equal(old["weights"][:, 2:], new["weights"][:, 2:])  # emotion, as it was
    assert not np.array_equal(old["weights"][:, :2], new["weights"][:, :2])  # irony, retrained
    assert [t["train_size"] for t in built["tasks"]] == [600, 400]
    assert built["base"]["retrained"] == ["irony"] and built["base"]["version"] == config["version"]
    assert built["quantification"] == {"anger": "acc"}  # irony's default no longer measured
    again = train_fast(
        more, tmp_path / "again", tasks, lambda _: None, False, retrain=["irony"], base=base
    )
    assert again["files"] == built["files"]


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


def test_teacher_rows_leave_out_own_texts_and_weigh_each_post_by_its_probabilities():
    texts = ["a", "b", "c"]
    features = sp.csr_matrix(np.eye(3, dtype=np.float32))
    proba = np.array([[0.9, 0.1, 0.2, 0.8], [0.3, 0.7, 0.5, 0.5], [0.6, 0.4, 1.0, 0.0]])
    teacher = Teacher(texts, features, proba, {"irony": slice(0, 2), "hate": slice(2, 4)})
    rows, labels, weights = teacher.for_task("irony", exclude={"b"})
    assert rows.shape == (4, 3) and list(labels) == [0, 0, 1, 1]
    # rows: a and c as class 0, then a and c as class 1
    assert rows.toarray()[:, 1].sum() == 0
    np.testing.assert_allclose(weights, DISTIL_WEIGHT * np.array([0.9, 0.6, 0.1, 0.4]))
    _, _, hate_weights = teacher.for_task("hate", exclude=set())
    np.testing.assert_allclose(
        hate_weights.reshape(2, 3).sum(axis=0), DISTIL_WEIGHT * np.ones(3), rtol=1e-6
    )


def test_the_distillation_record_names_the_teacher_of_each_distilled_head():
    from stormwatch.training.fast import _distillation_record

    new = {"teacher": "accurate 1.1.0", "teacher_digest": "b"}
    base = {"teacher": "accurate 1.0.0", "teacher_digest": "a"}
    # Heads kept from the base learnt from its teacher, not from this build's.
    assert _distillation_record(new, base, [], ["hate"]) == dict(base, heads=["hate"])
    both = _distillation_record(new, base, ["emotion"], ["hate"])
    assert both["teacher"] == "accurate 1.1.0" and both["heads"] == ["emotion"]
    assert both["earlier"] == dict(base, heads=["hate"])
    same = _distillation_record(new, dict(base, teacher_digest="b"), ["emotion"], ["hate"])
    assert same == dict(new, heads=["emotion", "hate"])
    assert _distillation_record(new, None, [], []) == dict(new, heads=[])
    assert _distillation_record(None, base, [], []) is None


def test_a_cross_validated_head_ships_its_out_of_fold_predictions_and_keeps_them(tmp_path):
    """The question head is chosen and calibrated on k-fold cross-validation over all its
    labelled posts, then fitted on all of them: its validation predictions (what the
    adjusted prevalence estimators read) must be the out-of-fold ones, never the shipped
    model's own view of posts it was fitted on; a retrain of another head carries them."""
    from stormwatch.core.calibration import log_loss
    from stormwatch.datasets import question_splits
    from stormwatch.models.artifact import read_npz

    root = _small_root(tmp_path)
    tasks = ("irony", "question")
    built = train_fast(root, tmp_path / "a", tasks, lambda _: None, False)
    splits = question_splits("question", rounds=("1",))
    texts = splits["train"][0] + splits["val"][0]
    labels = np.concatenate([splits["train"][1], splits["val"][1]])
    entry = next(t for t in built["tasks"] if t["name"] == "question")
    assert entry["cross_validated"] == {"folds": 5, "posts": len(labels)}
    assert entry["train_size"] == len(labels)
    validation = read_npz(tmp_path / "a" / "validation.npz")
    # Same posts, in train-then-val order.
    assert np.array_equal(validation["question.labels"], labels)
    model = LinearTier(tmp_path / "a")
    in_sample = model.predict_proba(texts)[:, model.layout.slices()["question"]]
    out_of_fold = validation["question.proba"]
    assert log_loss(out_of_fold, labels) > log_loss(in_sample, labels) + 0.02
    # Irony (a large validation split) is not cross-validated: its predictions are the
    # shipped model's on its validation posts.
    assert "cross_validated" not in next(t for t in built["tasks"] if t["name"] == "irony")
    retrained = train_fast(
        _small_root(tmp_path / "more", n_train=600),
        tmp_path / "b",
        tasks,
        lambda _: None,
        False,
        retrain=["irony"],
        base=tmp_path / "a",
    )
    kept = read_npz(tmp_path / "b" / "validation.npz")
    assert np.array_equal(kept["question.proba"], out_of_fold)
    assert next(t for t in retrained["tasks"] if t["name"] == "question")["cross_validated"]


def test_a_tweeteval_head_in_the_second_stage_reads_the_first_stage(tmp_path):
    """Sentiment is a second-stage head: its inputs add the other heads' calibrated
    probabilities and the question cues to the n-grams. The shipped model must compute
    them as training did: its validation predictions score what training recorded."""
    from stormwatch.core.cues import CUE_NAMES
    from stormwatch.core.metrics import official_score
    from stormwatch.models.artifact import read_npz

    root = _small_root(tmp_path, tasks=("irony", "sentiment"))
    built = train_fast(root, tmp_path / "a", ("irony", "sentiment"), lambda _: None, False)
    assert built["stacked"]["tasks"] == ["sentiment"]
    stack = read_npz(tmp_path / "a" / "weights.npz")["stack"]
    assert stack.shape == (2 + len(CUE_NAMES), 3)  # irony's two probabilities, the cues
    assert np.abs(stack[:2]).max() > 0.01
    entry = next(t for t in built["tasks"] if t["name"] == "sentiment")
    validation = read_npz(tmp_path / "a" / "validation.npz")
    proba, labels = validation["sentiment.proba"], validation["sentiment.labels"]
    decided = proba * np.asarray(entry["decision"] or [1.0, 1.0, 1.0])
    shipped = official_score("macro_recall", labels, decided.argmax(1), 3)
    assert abs(shipped - entry["validation_score"]) < 1.0
    # Without the first stage's columns the head decides otherwise.
    model = LinearTier(tmp_path / "a")
    model.stack = np.vstack([np.zeros_like(stack[:2]), stack[2:]])
    texts = [f"post {i}: {w}" for i, w in enumerate(["awful", "great", "ok?", "so ironic"] * 5)]
    block = model.layout.slices()["sentiment"]
    without = model.predict_proba(texts)[:, block]
    assert not np.allclose(without, LinearTier(tmp_path / "a").predict_proba(texts)[:, block])
