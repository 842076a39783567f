"""A few dense cues about how a post asks something, which bags of n-grams cannot see
(where a word stands, how the post ends). Inputs of the genuine-question head."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_WH = re.compile(r"^(?:@user\s+)*(?:who|what|when|where|why|how|which|whose)\b")
_AUX = re.compile(
    r"^(?:@user\s+)*(?:do|does|did|can|could|will|would|is|are|was|were|should|shall|may|"
    r"have|has|any ?one|anybody|somebody|someone)\b"
)
_YOU = re.compile(r"\b(?:you|your|u|ur|y'all|yall)\b")
_PLEASE = re.compile(r"\b(?:please|pls|plz|help|advice|recommend)\b")
CUE_NAMES = (
    "starts_wh",
    "starts_aux",
    "addressed",
    "ends_question",
    "question_marks",
    "exclamations",
    "second_person",
    "asks_help",
)


def question_cues(normalized: Sequence[str]) -> np.ndarray:
    """(n, len(CUE_NAMES)) float32 in [0, 1], from already-normalised texts."""
    out = np.zeros((len(normalized), len(CUE_NAMES)), dtype=np.float32)
    for i, text in enumerate(normalized):
        out[i] = (
            bool(_WH.match(text)),
            bool(_AUX.match(text)),
            text.startswith("@user"),
            text.rstrip(" .)").endswith("?"),
            min(text.count("?"), 3) / 3,
            min(text.count("!"), 3) / 3,
            bool(_YOU.search(text)),
            bool(_PLEASE.search(text)),
        )
    return out
