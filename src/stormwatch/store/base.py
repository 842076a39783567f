"""The small interface every store implements (SQLite now; PostgreSQL can follow)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from stormwatch.core.labels import Layout
from stormwatch.records import Post


@dataclass(frozen=True, slots=True)
class AddResult:
    inserted: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class ModelRef:
    id: int
    name: str
    version: str
    layout: Layout


@dataclass(frozen=True, slots=True)
class Scored:
    """Stored probabilities of one model: post rowids, post times in epoch ms (-1 where the
    input had no time) and the (n, width) probabilities, in rowid order."""

    rowids: np.ndarray
    created_ms: np.ndarray
    proba: np.ndarray

    def __len__(self) -> int:
        return len(self.rowids)


@dataclass(frozen=True, slots=True)
class StoredPost:
    """A stored post with what export and reports need (not the raw original)."""

    rowid: int
    post: Post
    english: bool = True


class Store(Protocol):
    def add_posts(self, posts: Sequence[Post], run_id: int | None = None) -> AddResult: ...

    def register_model(self, name: str, version: str, layout: Layout) -> ModelRef: ...

    def unscored(self, model: ModelRef, after_rowid: int, limit: int) -> list[tuple[int, str]]: ...

    def add_scores(self, model: ModelRef, rowids: Sequence[int], proba: np.ndarray) -> None: ...

    def campaign_tags(self) -> tuple[str, ...]: ...

    def set_campaign_tags(self, tags: Sequence[str]) -> int: ...

    def scores(
        self, model: ModelRef, include_reposts: bool = False, include_non_english: bool = False
    ) -> Scored:
        """Every scored post's probabilities, with rowids and times, in rowid order; reposts
        and posts flagged as not English are left out unless asked for."""
        ...

    def counts(self) -> dict[str, Any]: ...

    def latest_model(self) -> ModelRef | None: ...

    def iter_posts(
        self, model: ModelRef | None
    ) -> Iterator[tuple[StoredPost, np.ndarray | None]]: ...

    def start_run(self, command: str, args: Mapping[str, Any]) -> int: ...

    def finish_run(self, run_id: int, status: str, counts: Mapping[str, Any]) -> None: ...

    def close(self) -> None: ...
