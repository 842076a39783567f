import numpy as np

from stormwatch.datasets import TASKS, load_split, question_splits, sarcasm_splits
from stormwatch.settings import data_dir


def test_question_splits_are_disjoint_stratified_and_stable():
    parts = question_splits("genuine_question")
    texts = {split: set(parts[split][0]) for split in ("train", "val", "test")}
    assert not texts["train"] & texts["val"] and not texts["train"] & texts["test"]
    assert len(parts["test"][0]) == 240
    assert len(parts["train"][0]) + len(parts["val"][0]) == 460
    share = [parts[s][1].mean() for s in ("train", "val")]
    assert abs(share[0] - share[1]) < 0.03  # stratified
    again = question_splits("genuine_question")
    assert again["val"][0] == parts["val"][0]


def test_genuine_implies_question_in_the_labels():
    for split in ("train", "val", "test"):
        q = question_splits("question")[split][1]
        g = question_splits("genuine_question")[split][1]
        assert not np.any(g > q)


def test_tweeteval_and_sarcasm_loaders_match_provenance_counts():
    root = data_dir()
    texts, labels = load_split(root, "emotion", "val")
    assert len(texts) == len(labels) == 374 and set(labels) == {0, 1, 2, 3}
    assert all("\\u" not in t for t in load_split(root, "sentiment", "train")[0][:5000])
    parts = sarcasm_splits(root)
    assert len(parts["train"][0]) + len(parts["val"][0]) == 3467
    assert TASKS["irony"].metric == "f1_positive"
