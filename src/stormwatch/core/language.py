"""Is a post English? The classifiers are trained on English tweets; a post in another
language must be flagged, not silently scored as if it were English.

The platform's declared language wins when it gives one (X, Mastodon and Bluesky do).
Otherwise: a post mostly in a non-Latin script is not English, and a post of five or more
words none of which is a common English function word is not English either. Short posts
(fewer than three letters) cannot be judged and are kept as English."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

# Frequent English function words, leaving out short ones that are also frequent words in
# other Latin-script languages (a, i, no, me, on, de, la, so, die, in...).
_FUNCTION_WORDS = frozenset(
    [
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "at",
        "for",
        "with",
        "from",
        "by",
        "about",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "doing",
        "have",
        "has",
        "had",
        "you",
        "he",
        "she",
        "it",
        "we",
        "they",
        "him",
        "her",
        "us",
        "them",
        "my",
        "your",
        "his",
        "its",
        "our",
        "their",
        "this",
        "that",
        "these",
        "those",
        "not",
        "what",
        "who",
        "when",
        "where",
        "why",
        "how",
        "which",
        "all",
        "any",
        "some",
        "can",
        "could",
        "will",
        "would",
        "should",
        "might",
        "must",
        "just",
        "than",
        "then",
        "there",
        "here",
        "very",
        "too",
        "also",
        "only",
        "up",
        "out",
        "over",
        "more",
        "most",
        "such",
        "again",
        "now",
        "get",
        "got",
        "dont",
        "don't",
        "im",
        "i'm",
        "it's",
        "that's",
        "you're",
        "can't",
        "won't",
        "cant",
        "wont",
        "didnt",
        "didn't",
        "isnt",
        "isn't",
        "lol",
        "omg",
        "today",
        "tomorrow",
        "love",
        "like",
        "want",
        "need",
        "know",
        "think",
        "people",
        "good",
        "great",
        "new",
        "day",
        "one",
        "time",
    ]
)
_NOISE = re.compile(r"https?://\S+|[@#]\w+")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_UNDETERMINED = frozenset({"", "und", "zxx", "qme", "qht", "qam", "qct", "art"})


def is_english(text: str, declared: str | None = None) -> bool:
    if declared:
        code = declared.lower().split("-")[0]
        if code not in _UNDETERMINED:
            return code == "en"
    stripped = _NOISE.sub(" ", text)
    letters = [c for c in stripped if c.isalpha()]
    if len(letters) < 3:
        return True
    latin = sum(1 for c in letters if ord(c) < 0x250)
    if latin / len(letters) < 0.5:
        return False
    words = [w.lower() for w in _WORD.findall(stripped)]
    if len(words) < 5:
        return True
    return any(w in _FUNCTION_WORDS for w in words)


def english_mask(texts: Sequence[str], declared: Sequence[str | None] | None = None) -> np.ndarray:
    langs = declared if declared is not None else [None] * len(texts)
    return np.fromiter(
        (is_english(t, d) for t, d in zip(texts, langs, strict=True)), dtype=bool, count=len(texts)
    )
