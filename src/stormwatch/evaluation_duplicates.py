"""Near-duplicate detection measured on planted copy-paste groups: real TweetEval posts
copied 2-10 times with one or two of the small edits a coordinated push makes (case,
punctuation, a word changed, a hashtag added), mixed into other real posts. Pairs are
scored: precision over predicted pairs that involve a planted post, recall over the
planted pairs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from stormwatch.core.duplicates import near_duplicate_groups
from stormwatch.core.text import gist

_TAGS = ("#fail", "#boycott", "#shame", "#AskBrand", "#truth", "#wakeup")


def _edit(rng: np.random.Generator, text: str, vocabulary: list[str]) -> str:
    words = text.split()
    kind = rng.integers(4)
    if kind == 0:
        return text.upper() if rng.random() < 0.5 else text.lower()
    if kind == 1:
        return "".join(c for c in text if c not in ".,!?;:'\"") + rng.choice(["!!", "?", "..."])
    if kind == 2 and len(words) > 3:
        words[int(rng.integers(len(words)))] = str(rng.choice(vocabulary))
        return " ".join(words)
    return f"{text} {rng.choice(_TAGS)}"


def run_duplicates_eval(
    root: Path, groups: int = 300, background: int = 5000, seed: int = 0
) -> dict[str, Any]:
    from stormwatch.datasets import load_split

    texts, _ = load_split(root, "sentiment", "test")
    rng = np.random.default_rng(seed)
    # Distinct, long enough seeds and background posts (by gist, so the data set's own
    # near-copies do not blur the planted truth).
    seen: set[str] = set()
    pool = []
    for i in rng.permutation(len(texts)):
        key = gist(texts[i])
        if len(key) >= 40 and key not in seen:
            seen.add(key)
            pool.append(texts[i])
    vocabulary = [w for t in pool[:2000] for w in t.split() if w.isalpha()]
    seeds, others = pool[:groups], pool[groups : groups + background]
    posts, truth = list(others), [-1] * len(others)
    for g, text in enumerate(seeds):
        for _ in range(int(rng.integers(2, 11))):
            copy = text
            for _ in range(int(rng.integers(1, 3))):  # one or two edits per copy
                copy = _edit(rng, copy, vocabulary)
            posts.append(copy)
            truth.append(g)
    order = rng.permutation(len(posts))
    posts = [posts[i] for i in order]
    truth_arr = np.array(truth)[order]
    started = time.perf_counter()
    found = near_duplicate_groups(posts)
    seconds = time.perf_counter() - started
    predicted = {(min(i, j), max(i, j)) for g in found for a, i in enumerate(g) for j in g[a + 1 :]}
    planted = {
        (i, j)
        for g in range(groups)
        for members in [np.flatnonzero(truth_arr == g).tolist()]
        for a, i in enumerate(members)
        for j in members[a + 1 :]
    }
    relevant = {p for p in predicted if truth_arr[p[0]] >= 0 or truth_arr[p[1]] >= 0}
    hits = len(relevant & planted)
    return {
        "posts": len(posts),
        "planted_groups": groups,
        "planted_pairs": len(planted),
        "predicted_pairs_touching_planted": len(relevant),
        "precision": round(hits / max(len(relevant), 1), 4),
        "recall": round(hits / max(len(planted), 1), 4),
        "seconds": round(seconds, 2),
    }
