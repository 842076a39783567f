"""Draw the candidates for the question labels (seeded): see data/questions/GUIDELINE.md.

python scripts/sample_question_candidates.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from stormwatch.datasets import TWEETEVAL_TASKS, load_isarcasm, load_tweeteval, tweet_texts
from stormwatch.settings import data_dir

SEED = 600
OUT = Path(__file__).resolve().parents[1] / "data" / "questions" / "candidates.csv"
N_TWEETEVAL_QUESTION_MARK = 330
N_TWEETEVAL_ANY = 200
N_SARCASM_RHETORICAL = 70
N_SARCASM_QUESTION_MARK = 100
N_TEST = 240
# Round 2 (all train): more questions, as 100 genuine ones were too few to learn from.
SEED_ROUND_2 = 601
N2_SENTIMENT_QUESTION_MARK = 380
N2_OTHER_QUESTION_MARK = 120
N2_SARCASM_QUESTION_MARK = 100


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    root = data_dir(args.data)
    rng = np.random.default_rng(SEED)
    pool: list[tuple[str, int, str]] = []
    for task in TWEETEVAL_TASKS:
        texts, _ = load_tweeteval(root, task, "train")
        pool.extend((f"tweeteval/{task}/train", i + 1, t) for i, t in enumerate(texts))
    seen: set[str] = set()
    chosen: list[tuple[str, int, str]] = []

    def take(
        candidates: list[tuple[str, int, str]], n: int, rng: np.random.Generator = rng
    ) -> None:
        for index in rng.permutation(len(candidates)):
            if n == 0:
                return
            source, line, text = candidates[int(index)]
            key = text.lower()
            if key in seen or len(text) < 8:
                continue
            seen.add(key)
            chosen.append((source, line, text))
            n -= 1

    take([p for p in pool if "?" in p[2]], N_TWEETEVAL_QUESTION_MARK)
    take(pool, N_TWEETEVAL_ANY)
    texts, _, rhetorical = load_isarcasm(root)
    sarcasm = [("isarcasmeval/train", i + 1, t) for i, t in enumerate(texts)]
    take([s for s, r in zip(sarcasm, rhetorical, strict=True) if r], N_SARCASM_RHETORICAL)
    take([s for s in sarcasm if "?" in s[2]], N_SARCASM_QUESTION_MARK)
    order = rng.permutation(len(chosen))
    rows = [
        (f"q{rank:04d}", "test" if rank < N_TEST else "train", 1, *chosen[int(index)])
        for rank, index in enumerate(order)
    ]

    # Round 2: drawn after round 1 with its own generator, so round 1 stays as labelled.
    # Never a text of any TweetEval test split.
    held_out = {t.lower() for t in tweet_texts(root, TWEETEVAL_TASKS, "test_text.txt")}
    seen |= held_out
    first = len(chosen)
    rng2 = np.random.default_rng(SEED_ROUND_2)
    asks = [p for p in pool if "?" in p[2]]
    take([p for p in asks if p[0] == "tweeteval/sentiment/train"], N2_SENTIMENT_QUESTION_MARK, rng2)
    take([p for p in asks if p[0] != "tweeteval/sentiment/train"], N2_OTHER_QUESTION_MARK, rng2)
    take([s for s in sarcasm if "?" in s[2]], N2_SARCASM_QUESTION_MARK, rng2)
    second = chosen[first:]
    for offset, index in enumerate(rng2.permutation(len(second))):
        rows.append((f"q{first + offset:04d}", "train", 2, *second[int(index)]))

    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "split", "round", "source", "line", "text"])
        writer.writerows(rows)
    print(f"{len(rows)} candidates ({N_TEST} test; {len(second)} in round 2) -> {OUT}")


if __name__ == "__main__":
    main()
