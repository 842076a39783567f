from __future__ import annotations

from pathlib import Path

import pytest

from stormwatch.records import Post, Reject
from stormwatch.sources.files import read_posts

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


def read_all(*paths: str | Path, fmt: str = "auto", **kwargs) -> tuple[list[Post], list[Reject]]:
    """Posts and rejects of a read, split."""
    items = list(read_posts([str(p) for p in paths], fmt, **kwargs))
    return [i for i in items if isinstance(i, Post)], [i for i in items if isinstance(i, Reject)]


CLEAR_CASES = [
    "I hate this bank, you ruined my family, worst company ever",
    "Thank you so much, what a wonderful and happy day!",
    "shut up you stupid fucking idiot",
    "@Brand what time does your Regent Street store close today?",
]


def assert_clear_cases(classifier) -> dict:
    """Every trained tier must get these unambiguous posts right; returns the flags so a
    test can ask more of a particular tier."""
    from stormwatch.core.labels import hard_labels

    flags = hard_labels(classifier.predict_proba(CLEAR_CASES), classifier.layout)
    assert flags["negative"][0] and flags["positive"][1]
    assert flags["offensive"][2] and not flags["offensive"][1]
    assert flags["question"][3] and flags["genuine"][3]
    assert not flags["question"][1]
    return flags
