"""Mastodon statuses (REST API / streaming `update` payloads)."""

from __future__ import annotations

from typing import Any

import orjson

from stormwatch.core.text import html_to_text, urls_in
from stormwatch.records import Post
from stormwatch.sources.errors import MalformedRecord
from stormwatch.sources.fields import as_dict, as_list, opt_int, opt_str, require_str
from stormwatch.sources.timeparse import parse_time

PLATFORM = "mastodon"


def looks_like_status(obj: dict[str, Any]) -> bool:
    return "content" in obj and "account" in obj


def posts_from_status(obj: dict[str, Any], raw: str | None = None) -> list[Post]:
    """One status. Ids are the status `uri`, which is unique across instances (the numeric
    `id` is only unique on the instance that served it)."""
    post_id = opt_str(obj.get("uri")) or require_str(obj, "id", "Mastodon status")
    reblog = obj.get("reblog")
    repost_of = None
    body = obj
    if isinstance(reblog, dict):
        repost_of = opt_str(reblog.get("uri")) or opt_str(reblog.get("id"))
        body = reblog
    content = body.get("content")
    if not isinstance(content, str):
        raise MalformedRecord("Mastodon status has no 'content'")
    text = html_to_text(content)
    spoiler = body.get("spoiler_text")
    if isinstance(spoiler, str) and spoiler:
        text = f"{spoiler}\n\n{text}" if text else spoiler
    account = as_dict(obj.get("account"))
    quote = as_dict(body.get("quote"))
    quoted_status = as_dict(quote.get("quoted_status")) if quote else {}
    card = as_dict(body.get("card"))
    urls = urls_in(text)
    if card.get("url") and card["url"] not in urls:
        urls = (*urls, card["url"])
    try:
        created = parse_time(obj.get("created_at"))
        author_created = parse_time(account.get("created_at"))
    except ValueError as exc:
        raise MalformedRecord(str(exc)) from None
    return [
        Post(
            id=post_id,
            platform=PLATFORM,
            text=text,
            created_at=created,
            author_id=opt_str(account.get("url")) or opt_str(account.get("id")),
            author_handle=opt_str(account.get("acct")) or opt_str(account.get("username")),
            author_name=opt_str(account.get("display_name")),
            author_created_at=author_created,
            author_followers=opt_int(account.get("followers_count")),
            lang=opt_str(body.get("language")),
            reply_to=opt_str(body.get("in_reply_to_id")),
            quote_of=opt_str(quoted_status.get("uri")) if quoted_status else None,
            repost_of=repost_of,
            hashtags=tuple(
                t["name"]
                for t in as_list(body.get("tags"))
                if isinstance(t, dict) and t.get("name")
            ),
            mentions=tuple(
                m["acct"]
                for m in as_list(body.get("mentions"))
                if isinstance(m, dict) and m.get("acct")
            ),
            urls=urls,
            like_count=opt_int(body.get("favourites_count")),
            repost_count=opt_int(body.get("reblogs_count")),
            raw=raw if raw is not None else orjson.dumps(obj).decode(),
        )
    ]
