"""X/Twitter: API v2 tweet objects and response pages, and v1.1 / archive statuses."""

from __future__ import annotations

from typing import Any

import orjson

from stormwatch.core.text import hashtags_in, mentions_in, urls_in
from stormwatch.records import Post
from stormwatch.sources.errors import MalformedRecord, NotAPost
from stormwatch.sources.fields import as_dict, as_list, opt_int, opt_str, require_str
from stormwatch.sources.timeparse import parse_time

PLATFORM = "x"


def _dump(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def posts_from_v2(obj: dict[str, Any], raw: str | None = None) -> list[Post]:
    """A v2 tweet object, or a response page / stream line with `data` and `includes`."""
    if "data" not in obj:
        if "errors" in obj and "id" not in obj:
            raise NotAPost(f"X API error object: {_first_error(obj)}")
        return [_v2_tweet(obj, {}, {}, raw)]
    data = obj["data"]
    includes = as_dict(obj.get("includes"))
    users = {u.get("id"): u for u in as_list(includes.get("users")) if isinstance(u, dict)}
    tweets = {t.get("id"): t for t in as_list(includes.get("tweets")) if isinstance(t, dict)}
    if isinstance(data, dict):  # a stream line: keep the whole line, users included
        return [_v2_tweet(data, users, tweets, raw)]
    if isinstance(data, list):
        return [_v2_tweet(t, users, tweets, None) for t in data if isinstance(t, dict)]
    raise MalformedRecord("X v2 'data' is neither an object nor a list")


def _first_error(obj: dict[str, Any]) -> str:
    errors = as_list(obj.get("errors"))
    first = as_dict(errors[0]) if errors else {}
    return str(first.get("detail") or first.get("title") or "unknown")[:200]


def _v2_tweet(
    t: dict[str, Any],
    users: dict[Any, dict[str, Any]],
    tweets: dict[Any, dict[str, Any]],
    raw: str | None,
) -> Post:
    tweet_id = require_str(t, "id", "X v2 tweet")
    note = as_dict(t.get("note_tweet"))
    text = note.get("text") or t.get("text")
    if not isinstance(text, str):
        raise MalformedRecord("X v2 tweet has no 'text'")
    reply_to = quote_of = repost_of = None
    for ref in as_list(t.get("referenced_tweets")):
        kind, ref_id = as_dict(ref).get("type"), opt_str(as_dict(ref).get("id"))
        if kind == "replied_to":
            reply_to = ref_id
        elif kind == "quoted":
            quote_of = ref_id
        elif kind == "retweeted":
            repost_of = ref_id
    if repost_of is not None and repost_of in tweets:
        original = tweets[repost_of]
        text = as_dict(original.get("note_tweet")).get("text") or original.get("text") or text
    entities = as_dict(t.get("entities"))
    if entities:
        hashtags = tuple(h["tag"] for h in as_list(entities.get("hashtags")) if "tag" in h)
        mentions = tuple(
            m["username"] for m in as_list(entities.get("mentions")) if "username" in m
        )
        urls = tuple(
            u.get("expanded_url") or u.get("url")
            for u in as_list(entities.get("urls"))
            if u.get("expanded_url") or u.get("url")
        )
    else:
        hashtags, mentions, urls = hashtags_in(text), mentions_in(text), urls_in(text)
    metrics = as_dict(t.get("public_metrics"))
    author_id = opt_str(t.get("author_id"))
    user = users.get(author_id, {}) if author_id else {}
    user_metrics = as_dict(user.get("public_metrics"))
    try:
        created = parse_time(t.get("created_at"))
        author_created = parse_time(user.get("created_at"))
    except ValueError as exc:
        raise MalformedRecord(str(exc)) from None
    return Post(
        id=tweet_id,
        platform=PLATFORM,
        text=text,
        created_at=created,
        author_id=author_id,
        author_handle=opt_str(user.get("username")),
        author_name=opt_str(user.get("name")),
        author_created_at=author_created,
        author_followers=opt_int(user_metrics.get("followers_count")),
        lang=opt_str(t.get("lang")),
        reply_to=reply_to,
        quote_of=quote_of,
        repost_of=repost_of,
        hashtags=hashtags,
        mentions=mentions,
        urls=urls,
        like_count=opt_int(metrics.get("like_count")),
        repost_count=opt_int(metrics.get("retweet_count")),
        raw=raw if raw is not None else _dump(t),
    )


def posts_from_v1(obj: dict[str, Any], raw: str | None = None) -> list[Post]:
    """A v1.1 status, or an archive entry `{"tweet": {...}}` from a Twitter data export."""
    if "tweet" in obj and isinstance(obj["tweet"], dict) and len(obj) == 1:
        return posts_from_v1(obj["tweet"], None)
    if "delete" in obj or "scrub_geo" in obj or "limit" in obj:
        raise NotAPost(f"X v1.1 stream notice: {next(iter(obj))}")
    return [_v1_status(obj, raw)]


def _v1_full_text(s: dict[str, Any]) -> str | None:
    extended = as_dict(s.get("extended_tweet"))
    text = extended.get("full_text") or s.get("full_text") or s.get("text")
    return text if isinstance(text, str) else None


def _v1_status(s: dict[str, Any], raw: str | None) -> Post:
    status_id = opt_str(s.get("id_str")) or opt_str(s.get("id"))
    if not status_id:
        raise MalformedRecord("X v1.1 status has no 'id_str'")
    retweeted = s.get("retweeted_status")
    repost_of = None
    text = _v1_full_text(s)
    if isinstance(retweeted, dict):
        repost_of = opt_str(retweeted.get("id_str")) or opt_str(retweeted.get("id"))
        text = _v1_full_text(retweeted) or text
    if text is None:
        raise MalformedRecord("X v1.1 status has no 'text' or 'full_text'")
    quoted = as_dict(s.get("quoted_status"))
    quote_of = opt_str(s.get("quoted_status_id_str")) or opt_str(quoted.get("id_str"))
    source = as_dict(as_dict(s.get("extended_tweet")).get("entities")) or as_dict(s.get("entities"))
    if source:
        hashtags = tuple(h.get("text") for h in as_list(source.get("hashtags")) if h.get("text"))
        mentions = tuple(
            m.get("screen_name")
            for m in as_list(source.get("user_mentions"))
            if m.get("screen_name")
        )
        urls = tuple(
            u.get("expanded_url") or u.get("url")
            for u in as_list(source.get("urls"))
            if u.get("expanded_url") or u.get("url")
        )
    else:
        hashtags, mentions, urls = hashtags_in(text), mentions_in(text), urls_in(text)
    user = as_dict(s.get("user"))
    try:
        created = parse_time(s.get("created_at"))
        author_created = parse_time(user.get("created_at"))
    except ValueError as exc:
        raise MalformedRecord(str(exc)) from None
    return Post(
        id=status_id,
        platform=PLATFORM,
        text=text,
        created_at=created,
        author_id=opt_str(user.get("id_str")) or opt_str(user.get("id")),
        author_handle=opt_str(user.get("screen_name")),
        author_name=opt_str(user.get("name")),
        author_created_at=author_created,
        author_followers=opt_int(user.get("followers_count")),
        lang=opt_str(s.get("lang")),
        reply_to=opt_str(s.get("in_reply_to_status_id_str"))
        or opt_str(s.get("in_reply_to_status_id")),
        quote_of=quote_of,
        repost_of=repost_of,
        hashtags=hashtags,
        mentions=mentions,
        urls=urls,
        like_count=opt_int(s.get("favorite_count")),
        repost_count=opt_int(s.get("retweet_count")),
        raw=raw if raw is not None else _dump(s),
    )
