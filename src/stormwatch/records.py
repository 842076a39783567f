"""Plain, frozen records that every layer shares.

A `Post` is the one shape every input format is turned into; a `Reject` is a line or row
that could not become a post, kept with where it came from and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal


@dataclass(frozen=True, slots=True)
class Post:
    """One social-media post, normalised across platforms.

    `id` is unique within `platform`. Times are timezone-aware UTC. `raw` keeps the original
    record (JSON text) so nothing the platform sent is lost.
    """

    id: str
    platform: str
    text: str
    created_at: datetime | None = None
    author_id: str | None = None
    author_handle: str | None = None
    author_name: str | None = None
    author_created_at: datetime | None = None
    author_followers: int | None = None
    lang: str | None = None
    reply_to: str | None = None
    quote_of: str | None = None
    repost_of: str | None = None
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    like_count: int | None = None
    repost_count: int | None = None
    raw: str | None = None

    @property
    def is_repost(self) -> bool:
        return self.repost_of is not None


RejectKind = Literal["malformed", "skipped"]


@dataclass(frozen=True, slots=True)
class Reject:
    """A line/row that did not become a post: malformed input, or a valid record that is not
    a post (a deletion event, a like). Never dropped silently: counted and written out."""

    source: str
    line: int
    reason: str
    raw: str
    kind: RejectKind = "malformed"
