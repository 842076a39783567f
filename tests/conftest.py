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
