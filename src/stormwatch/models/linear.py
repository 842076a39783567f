"""The fast tier: hashed word + character n-grams, one linear head per task, calibrated.

One featurisation per post serves every head (a single sparse matrix product gives all
tasks' logits at once); no PyTorch, no per-post Python loop beyond text normalisation."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from stormwatch.core.cues import question_cues
from stormwatch.core.features import HashedNgrams
from stormwatch.core.normalize import normalize_all
from stormwatch.models.artifact import read_npz
from stormwatch.models.tier import CalibratedTier

_PARALLEL_FROM = 512
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="stormwatch-features")
    return _POOL


class LinearTier(CalibratedTier):
    """A `Classifier` read from an artifact directory written by `stormwatch train`."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.featurizer = HashedNgrams(**self.config["featurizer"])
        arrays = read_npz(folder / "weights.npz")
        self.idf = arrays["idf"].astype(np.float32)
        self.weights = arrays["weights"].astype(np.float32)
        self.bias = arrays["bias"].astype(np.float32)
        self.stack = arrays.get("stack")
        stacked = self.config.get("stacked", {}).get("tasks", [])
        names = [t["name"] for t in self.config["tasks"]]
        self._stage_one = [n for n in names if n not in stacked]
        self._stacked = [n for n in names if n in stacked]

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Uncalibrated scores of every class of every task, side by side. A large batch is
        scored as two halves in two threads: numpy and scipy release the GIL for most of the
        work, so one half's n-gram sorting and matrix product run while the other half's
        regular expressions hold it. Identical to scoring the batch in one go."""
        if len(texts) < _PARALLEL_FROM or (os.cpu_count() or 1) < 2:
            return self._logits(texts)
        half = len(texts) // 2
        return np.vstack(list(_pool().map(self._logits, (texts[:half], texts[half:]))))

    def _logits(self, texts: Sequence[str]) -> np.ndarray:
        """Second-stage heads add their dense inputs: the first stage's calibrated
        probabilities and the question cues."""
        normalized = normalize_all(texts)
        features = self.featurizer.transform(normalized, self.idf)
        logits = np.asarray(features @ self.weights) + self.bias
        if self._stacked and self.stack is not None:
            slices = self.layout.slices()
            first = self.calibrate(logits, self._stage_one)
            dense = np.hstack(
                [
                    np.concatenate([first[:, slices[t]] for t in self._stage_one], axis=1),
                    question_cues(normalized),
                ]
            )
            start = 0
            for task in self._stacked:
                block = slices[task]
                width = block.stop - block.start
                # einsum, not @: a BLAS product here starts BLAS threads of its own, which
                # fight the two threads `logits` runs (measured: ~1.2x slower on 2 cores).
                logits[:, block] += np.einsum(
                    "ij,jk->ik", dense, self.stack[:, start : start + width]
                )
                start += width
        return logits
