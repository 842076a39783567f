"""Hijack: is the crowd still on the campaign's purpose?

The organiser says in a sentence what the Q&A is for (and may give example posts). Posts
and purpose are embedded, centred on a generic tweet (so "it is a tweet" does not count as
similarity), and a post whose cosine to the purpose falls below `tau` is *off-purpose*. One
post's call is weak; the share is what matters. It is counted (with a bootstrap interval),
not adjusted: the hit and false-alarm rates measured when the threshold was chosen
(`stormwatch train --tier purpose`) depend on how far apart the subjects are, so they do
not transfer to a campaign; the early warning compares the share with the stream's own
baseline instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-9)


@dataclass(frozen=True)
class Purpose:
    vector: np.ndarray  # unit, in the centred space
    mean: np.ndarray  # the generic tweet the space is centred on
    tau: float
    width: float

    @classmethod
    def of(cls, embeddings: np.ndarray, mean: np.ndarray, tau: float, width: float) -> Purpose:
        """From the embeddings of the purpose sentence and any example posts."""
        if not len(embeddings):
            raise ValueError("a purpose needs a sentence or example posts")
        vector = _unit(_unit(embeddings - mean).mean(axis=0))
        return cls(vector.astype(np.float32), mean.astype(np.float32), tau, width)

    def similarity(self, embeddings: np.ndarray) -> np.ndarray:
        return _unit(embeddings - self.mean) @ self.vector

    def off_purpose(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(P(off-purpose), off-purpose decision) per post."""
        similarity = self.similarity(embeddings)
        score = 1.0 / (1.0 + np.exp((similarity - self.tau) / self.width))
        return score.astype(np.float64), similarity < self.tau
