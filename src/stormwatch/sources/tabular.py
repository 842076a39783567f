"""Rows with named columns (CSV, Parquet, generic JSON objects) and plain-text lines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import orjson

from stormwatch.core.text import hashtags_in, mentions_in, stable_id, urls_in
from stormwatch.records import Post
from stormwatch.sources.errors import MalformedRecord
from stormwatch.sources.fields import opt_int, opt_str
from stormwatch.sources.timeparse import parse_time

FILE_PLATFORM = "file"

# Column names tried, in order, when the user does not name one.
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "text": ("text", "full_text", "tweet", "content", "body", "message", "post"),
    "id": ("id", "id_str", "tweet_id", "post_id", "status_id", "uri"),
    "time": ("created_at", "timestamp", "date", "time", "datetime", "createdAt", "created"),
    "author": ("author_id", "author", "user_id", "user", "username", "screen_name", "handle"),
}
_OPTIONAL = {
    "platform": ("platform",),
    "author_handle": ("author_handle", "screen_name", "username", "handle", "author"),
    "lang": ("lang", "language"),
    "reply_to": ("reply_to", "in_reply_to_id", "in_reply_to_status_id"),
    "repost_of": ("repost_of", "retweeted_status_id"),
    "quote_of": ("quote_of", "quoted_status_id"),
    "like_count": ("like_count", "likes", "favorite_count"),
    "repost_count": ("repost_count", "retweet_count", "retweets"),
}


class MissingColumn(ValueError):
    """The input has no column for a required role; the message lists what it has."""


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Which column holds what. None means: try the defaults."""

    text: str | None = None
    id: str | None = None
    time: str | None = None
    author: str | None = None

    def resolve(self, columns: Sequence[str], source: str) -> dict[str, str]:
        """Role -> column for these columns; raises MissingColumn naming the flag to pass."""
        present = set(columns)
        roles: dict[str, str] = {}
        for role, candidates in DEFAULT_COLUMNS.items():
            chosen = getattr(self, role)
            if chosen is not None:
                if chosen not in present:
                    raise MissingColumn(
                        f"{source}: no column {chosen!r} (columns: {', '.join(columns)})"
                    )
                roles[role] = chosen
                continue
            found = next((c for c in candidates if c in present), None)
            if found is not None:
                roles[role] = found
        if "text" not in roles:
            raise MissingColumn(
                f"{source}: no text column found (columns: {', '.join(columns)}); "
                "name it with --text-column"
            )
        used = set(roles.values())
        for role, candidates in _OPTIONAL.items():
            found = next((c for c in candidates if c in present and c not in used), None)
            if found is not None:
                roles[role] = found
        return roles


def post_from_row(row: Mapping[str, Any], roles: Mapping[str, str], source: str, line: int) -> Post:
    text = row.get(roles["text"])
    if text is None or (isinstance(text, str) and not text.strip()):
        raise MalformedRecord(f"empty text in column {roles['text']!r}")
    text = str(text)
    post_id = opt_str(row.get(roles["id"])) if "id" in roles else None
    try:
        created = parse_time(row.get(roles["time"])) if "time" in roles else None
    except ValueError as exc:
        raise MalformedRecord(str(exc)) from None

    def optional(role: str) -> Any:
        return row.get(roles[role]) if role in roles else None

    author = opt_str(optional("author"))
    return Post(
        id=post_id or stable_id(PurePath(source).name, line, text, author, created),
        platform=opt_str(optional("platform")) or FILE_PLATFORM,
        text=text,
        created_at=created,
        author_id=author,
        author_handle=opt_str(optional("author_handle")) or author,
        lang=opt_str(optional("lang")),
        reply_to=opt_str(optional("reply_to")),
        quote_of=opt_str(optional("quote_of")),
        repost_of=opt_str(optional("repost_of")),
        hashtags=hashtags_in(text),
        mentions=mentions_in(text),
        urls=urls_in(text),
        like_count=opt_int(optional("like_count")),
        repost_count=opt_int(optional("repost_count")),
        raw=orjson.dumps(dict(row), default=str).decode(),
    )


def post_from_line(text: str, source: str, line: int) -> Post:
    """One post per line of plain text. The id depends on the file's name, the line number and
    the text, so a re-run is idempotent and same-named files in other folders do not collide
    unless the line is the same post."""
    return Post(
        id=stable_id(PurePath(source).name, line, text),
        platform=FILE_PLATFORM,
        text=text,
        hashtags=hashtags_in(text),
        mentions=mentions_in(text),
        urls=urls_in(text),
    )
