"""The baseline tier: published lexicon/linear models used as they come, clearly named.

- sentiment: the VADER lexicon (Hutto & Gilbert 2014), its documented compound-score rule
  (>= 0.05 positive, <= -0.05 negative) turned into soft scores.
- offensive: `alt-profanity-check` (a linear SVM over bag-of-words, probability output).
- question: a rule (a question mark, or an interrogative first word).

These scores are NOT calibrated probabilities; the trained tiers replace this one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib.metadata import version

import numpy as np

from stormwatch.core.labels import Layout, Task

LAYOUT = Layout(
    (
        Task("sentiment", ("negative", "neutral", "positive")),
        Task("offensive", ("not_offensive", "offensive")),
        Task("question", ("not_question", "question")),
    )
)
_QUESTION_START = re.compile(
    r"^\W*(who|whom|whose|what|when|where|why|how|which|is|are|am|was|were|do|does|did|can|"
    r"could|will|would|should|shall|may|might|have|has|had|isn't|aren't|don't|doesn't|didn't|"
    r"won't|wouldn't|can't|couldn't|shouldn't)\b",
    re.IGNORECASE,
)
_SHARPNESS = 6.0  # how soft the sentiment scores are around VADER's +-0.05 thresholds


class BaselineClassifier:
    name = "baseline"
    layout = LAYOUT

    def __init__(self) -> None:
        from profanity_check import predict_prob
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._vader = SentimentIntensityAnalyzer()
        self._profanity = predict_prob
        self.version = (
            f"vader-{version('vaderSentiment')}+profanity-{version('alt-profanity-check')}+rule-1"
        )

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        n = len(texts)
        out = np.zeros((n, LAYOUT.width), dtype=np.float32)
        if n == 0:
            return out
        polarity = self._vader.polarity_scores
        compound = np.fromiter((polarity(t)["compound"] for t in texts), np.float64, n)
        logits = np.stack([-(compound + 0.05), np.zeros(n), compound - 0.05], axis=1) * _SHARPNESS
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        out[:, 0:3] = weights / weights.sum(axis=1, keepdims=True)
        offensive = np.asarray(self._profanity(list(texts)), dtype=np.float64)
        out[:, 3] = 1.0 - offensive
        out[:, 4] = offensive
        question = np.fromiter(
            (("?" in t) or bool(_QUESTION_START.match(t)) for t in texts), np.bool_, n
        )
        out[:, 6] = question
        out[:, 5] = ~question
        return out
