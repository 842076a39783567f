"""The host's question queue: which questions are worth answering, and in what order.

During #AskJPM most "questions" were attacks phrased as questions. A post enters the
genuine queue only if it is a question, judged genuine, and not offensive; every other
question goes to the hostile/rhetorical list — counted, never dropped. Genuine questions are
ranked by how genuine and civil they look, how much engagement they drew and how recent
they are; copies of one question are grouped and counted ("asked 37 times").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from stormwatch.core.labels import Layout
from stormwatch.core.quantify import binary_views
from stormwatch.core.text import gist

HALF_LIFE_MS = 30 * 60_000  # a question loses half its recency weight in 30 minutes


@dataclass(frozen=True, slots=True)
class Split:
    """Per post: is it a question, and if so is it one for the genuine queue."""

    question: np.ndarray
    genuine: np.ndarray

    @property
    def hostile(self) -> np.ndarray:
        return self.question & ~self.genuine


def split_questions(flags: dict[str, np.ndarray], n: int) -> Split:
    """From every post's hard labels (`labels.hard_labels`)."""
    question = flags.get("question", np.zeros(n, dtype=bool))
    genuine = question & flags.get("genuine", np.zeros(n, dtype=bool))
    if "offensive" in flags:
        genuine &= ~flags["offensive"]
    return Split(question, genuine)


def priority(
    proba: np.ndarray,
    layout: Layout,
    created_ms: np.ndarray,
    engagement: np.ndarray,
    now_ms: int,
    half_life_ms: int = HALF_LIFE_MS,
) -> np.ndarray:
    """A score per post, higher first: P(genuine) x P(civil) x P(sincere) x engagement
    boost x recency decay. Posts with no time count as old."""
    views = binary_views(proba, layout, None)
    n = len(proba)

    def p(label: str) -> np.ndarray:
        return views[label][0] if label in views else np.zeros(n)

    sincere = (1 - p("offensive")) * (1 - p("irony")) * (1 - 0.5 * p("sarcastic"))
    boost = 1 + 0.25 * np.log1p(np.maximum(engagement, 0))
    age = np.where(created_ms >= 0, np.maximum(now_ms - created_ms, 0), 10 * half_life_ms)
    recency = 0.5 ** (age / half_life_ms)
    return p("genuine") * sincere * boost * (0.25 + 0.75 * recency)


@dataclass(slots=True)
class Group:
    """Copies of one question: the first asked stands for all of them."""

    key: str
    rowids: list[int] = field(default_factory=list)
    score: float = 0.0

    @property
    def count(self) -> int:
        return len(self.rowids)

    @property
    def lead(self) -> int:
        return self.rowids[0]


def group_questions(
    rowids: Sequence[int], texts: Sequence[str], scores: Sequence[float]
) -> list[Group]:
    """Near-duplicates grouped by their gist; groups ranked by their best score plus a
    small bonus per extra asker (many people asking is itself a reason to answer)."""
    groups: dict[str, Group] = {}
    for rowid, text, score in sorted(zip(rowids, texts, scores, strict=True)):
        key = gist(text) or f"#{rowid}"
        group = groups.setdefault(key, Group(key))
        group.rowids.append(int(rowid))
        group.score = max(group.score, float(score))
    for group in groups.values():
        group.score *= 1 + 0.1 * np.log1p(group.count - 1)
    return sorted(groups.values(), key=lambda g: (-g.score, g.lead))
