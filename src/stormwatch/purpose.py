"""Off-purpose posts (hijack), at the edge: the calibration shipped beside the static
embedding, a `Purpose` built from the organiser's sentence and examples, and the
off-purpose view of stored posts that the early warning and the summary use.

Calibration (`stormwatch train --tier purpose`): the TweetEval stance *train* mix, each of
the five targets in turn as "the purpose" (described in one sentence, as an organiser
would), the other four targets' posts as off-purpose. The threshold maximises balanced
accuracy; the pooled scores, decisions and truths are kept with it (the measured hit and
false-alarm rates), though the share is counted, not adjusted (see core.purpose).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stormwatch.core.purpose import Purpose
from stormwatch.models.artifact import read_npz, write_npz
from stormwatch.models.embedding import ARTIFACT, static_embedder
from stormwatch.store.sqlite import SQLiteStore

CALIBRATION = ARTIFACT / "purpose.npz"
WIDTH = 0.05
DESCRIPTIONS = {
    "abortion": "Ask us about abortion, reproductive rights and the pro-life, pro-choice debate.",
    "atheism": "Ask us about atheism, religion, God and faith.",
    "climate": "Ask us about climate change, global warming and the environment.",
    "feminist": "Ask us about feminism, women's rights and gender equality.",
    "hillary": "Ask us about Hillary Clinton and her presidential campaign.",
}
Log = Callable[[str], None]


def _rates(similarity: np.ndarray, off: np.ndarray, tau: float) -> tuple[float, float]:
    decided = similarity < tau
    recall = float((decided & off).sum() / max(off.sum(), 1))
    specificity = float((~decided & ~off).sum() / max((~off).sum(), 1))
    return recall, specificity


def calibrate(data: Path, out: Path = CALIBRATION, log: Log = print) -> dict[str, Any]:
    from stormwatch.evaluation_themes import TARGETS, stance_mix
    from stormwatch.training.embedding import corpus

    embedder = static_embedder()
    mean = embedder.embed(corpus(data, 20_000)).mean(axis=0)
    texts, truth = stance_mix(data, "train")
    posts = embedder.embed(texts)
    sims, offs = [], []
    for i, target in enumerate(TARGETS):
        purpose = Purpose.of(embedder.embed([DESCRIPTIONS[target]]), mean, 0.0, WIDTH)
        sims.append(purpose.similarity(posts))
        offs.append(truth != i)
    similarity, off = np.concatenate(sims), np.concatenate(offs)
    grid = np.round(np.arange(-0.1, 0.4001, 0.01), 2)
    balanced = [sum(_rates(similarity, off, t)) / 2 for t in grid]
    tau = float(grid[int(np.argmax(balanced))])
    score = 1.0 / (1.0 + np.exp((similarity - tau) / WIDTH))
    write_npz(
        out,
        {
            "mean": mean.astype(np.float32),
            "tau": np.float64(tau),
            "width": np.float64(WIDTH),
            "scores": score.astype(np.float32),
            "decisions": similarity < tau,
            "labels": off.astype(np.int8),
        },
    )
    recall, specificity = _rates(similarity, off, tau)
    log(f"purpose threshold {tau:.2f}: recall {recall:.3f}, specificity {specificity:.3f} (train)")
    return {"tau": tau, "recall": recall, "specificity": specificity}


def load_calibration() -> dict[str, np.ndarray]:
    if not CALIBRATION.is_file():
        raise FileNotFoundError(
            f"no purpose calibration at {CALIBRATION}; run `stormwatch train --tier purpose`"
        )
    return read_npz(CALIBRATION)


def make_purpose(
    sentence: str | None, examples: Sequence[str] = (), embedder: Any = None
) -> Purpose:
    texts = ([sentence] if sentence else []) + list(examples)
    if not texts:
        raise ValueError("give the campaign's purpose in a sentence, or example posts")
    calibration = load_calibration()
    embedder = embedder or static_embedder()
    return Purpose.of(
        embedder.embed(texts),
        calibration["mean"],
        float(calibration["tau"]),
        float(calibration["width"]),
    )


def off_purpose_view(
    store: SQLiteStore, rowids: np.ndarray, purpose: Purpose, embedder: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """(P(off-purpose), decision) for the given stored posts, in their order."""
    embedder = embedder or static_embedder()
    texts: dict[int, str] = {}
    ids = [int(r) for r in rowids]
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        marks = ", ".join("?" * len(chunk))
        texts.update(
            store.db.execute(f"SELECT rowid, text FROM posts WHERE rowid IN ({marks})", chunk)
        )
    return purpose.off_purpose(embedder.embed([texts.get(i, "") for i in ids]))
