import numpy as np

from stormwatch.datasets import TASKS, load_split, question_splits, sarcasm_splits
from stormwatch.settings import data_dir


def test_question_splits_are_disjoint_stratified_and_stable():
    parts = question_splits("genuine_question")
    texts = {split: set(parts[split][0]) for split in ("train", "val", "test")}
    assert not texts["train"] & texts["val"] and not texts["train"] & texts["test"]
    assert len(parts["test"][0]) == 240
    assert len(parts["train"][0]) + len(parts["val"][0]) == 1060
    share = [parts[s][1].mean() for s in ("train", "val")]
    assert abs(share[0] - share[1]) < 0.03  # stratified
    again = question_splits("genuine_question")
    assert again["val"][0] == parts["val"][0]


def test_a_later_labelling_round_leaves_the_earlier_split_as_it_was(tmp_path):
    import csv
    import shutil

    from stormwatch.datasets import QUESTIONS_DIR

    shutil.copy(QUESTIONS_DIR / "candidates.csv", tmp_path / "candidates.csv")
    with open(QUESTIONS_DIR / "candidates.csv", encoding="utf-8", newline="") as handle:
        first_round = {r["id"] for r in csv.DictReader(handle) if r["round"] == "1"}
    lines = (QUESTIONS_DIR / "labels.csv").read_text(encoding="utf-8").splitlines()
    kept = [lines[0]] + [line for line in lines[1:] if line.split(",")[0] in first_round]
    assert 0 < len(kept) - 1 < len(lines) - 1
    (tmp_path / "labels.csv").write_text("\n".join(kept) + "\n", encoding="utf-8")
    alone = question_splits("genuine_question", folder=tmp_path)
    both = question_splits("genuine_question")
    for split in ("train", "val", "test"):
        n = len(alone[split][0])
        assert both[split][0][:n] == alone[split][0]
        assert both[split][1][:n].tolist() == alone[split][1].tolist()
    assert len(both["train"][0]) > len(alone["train"][0])


def test_the_models_learn_from_the_rounds_chosen_for_them():
    from stormwatch.datasets import QUESTION_ROUNDS

    assert QUESTION_ROUNDS == ("1",)
    root = data_dir()
    chosen = {s: load_split(root, "genuine_question", s)[0] for s in ("train", "val", "test")}
    assert len(chosen["train"]) + len(chosen["val"]) == 460 and len(chosen["test"]) == 240
    every = question_splits("genuine_question")
    assert set(chosen["train"]) < set(every["train"][0])


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
