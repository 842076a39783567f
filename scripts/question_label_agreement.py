"""Check the question labels (see data/questions/AGREEMENT.md): against iSarcasmEval's own
labels, and against a second, blind labelling pass over 100 round-1 train posts."""

import csv
from pathlib import Path

import numpy as np

from stormwatch.datasets import load_isarcasm
from stormwatch.settings import data_dir

HERE = Path(__file__).resolve().parents[1] / "data" / "questions"
TASKS = ("question", "genuine_question")


def _read(name: str) -> dict[str, dict[str, str]]:
    with open(HERE / name, encoding="utf-8", newline="") as handle:
        return {r["id"]: r for r in csv.DictReader(handle)}


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Agreement beyond chance between two binary labellings."""
    observed = float(np.mean(a == b))
    chance = float(a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean()))
    return (observed - chance) / (1 - chance)


if __name__ == "__main__":
    labels = _read("labels.csv")
    candidates = list(_read("candidates.csv").values())
    _, sarcastic, rhetorical = load_isarcasm(data_dir())
    rows = np.array(
        [
            (
                rhetorical[int(c["line"]) - 1],
                sarcastic[int(c["line"]) - 1],
                int(labels[c["id"]]["question"]),
                int(labels[c["id"]]["genuine_question"]),
            )
            for c in candidates
            if c["source"] == "isarcasmeval/train"
        ]
    )
    flagged = rows[:, 0] == 1
    print(
        f"rhetorical-flagged {flagged.sum()}: question {rows[flagged, 2].sum()}, "
        f"genuine {rows[flagged, 3].sum()}"
    )
    sarcasm = rows[:, 1] == 1
    print(f"sarcastic {sarcasm.sum()}: genuine {rows[sarcasm, 3].sum()}")

    second = _read("second_pass.csv")
    for task in TASKS:
        first_pass = np.array([int(labels[i][task]) for i in second])
        second_pass = np.array([int(second[i][task]) for i in second])
        print(
            f"second pass, {task}: {len(second)} posts, agreement "
            f"{np.mean(first_pass == second_pass):.2f}, Cohen's kappa "
            f"{cohen_kappa(first_pass, second_pass):.2f} "
            f"(positives {first_pass.sum()} first, {second_pass.sum()} second)"
        )
