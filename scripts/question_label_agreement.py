"""Check the question labels against iSarcasmEval's own labels (see data/questions/AGREEMENT.md)."""

import csv
from pathlib import Path

import numpy as np

from stormwatch.datasets import load_isarcasm
from stormwatch.settings import data_dir

HERE = Path(__file__).resolve().parents[1] / "data" / "questions"

if __name__ == "__main__":
    with open(HERE / "labels.csv", encoding="utf-8") as handle:
        labels = {r["id"]: r for r in csv.DictReader(handle)}
    with open(HERE / "candidates.csv", encoding="utf-8") as handle:
        candidates = list(csv.DictReader(handle))
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
