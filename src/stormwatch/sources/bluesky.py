"""Bluesky: `app.bsky.feed.post` records, post views (API / search results) and Jetstream
commit events."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from stormwatch.core.text import hashtags_in, mentions_in, urls_in
from stormwatch.records import Post
from stormwatch.sources.errors import MalformedRecord, NotAPost
from stormwatch.sources.fields import as_dict, as_list, opt_int, opt_str
from stormwatch.sources.timeparse import parse_time

PLATFORM = "bluesky"
POST = "app.bsky.feed.post"
REPOST = "app.bsky.feed.repost"
_TAG = "app.bsky.richtext.facet#tag"
_MENTION = "app.bsky.richtext.facet#mention"
_LINK = "app.bsky.richtext.facet#link"


def looks_like_bluesky(obj: dict[str, Any]) -> bool:
    return (
        ("did" in obj and "kind" in obj)
        or obj.get("$type") in (POST, REPOST)
        or ("uri" in obj and isinstance(obj.get("record"), dict))
        or ("posts" in obj and isinstance(obj.get("posts"), list))
        or ("feed" in obj and isinstance(obj.get("feed"), list))
    )


def posts_from_bluesky(obj: dict[str, Any], raw: str | None = None) -> list[Post]:
    if "did" in obj and "kind" in obj:
        return [_from_jetstream(obj, raw)]
    if isinstance(obj.get("posts"), list):  # searchPosts page
        return [_from_view(p, None) for p in obj["posts"] if isinstance(p, dict)]
    if isinstance(obj.get("feed"), list):  # getAuthorFeed / getTimeline page
        return [
            _from_view(as_dict(item.get("post")), None)
            for item in obj["feed"]
            if isinstance(item, dict)
        ]
    if isinstance(obj.get("record"), dict):
        return [_from_view(obj, raw)]
    if obj.get("$type") == POST:
        uri = opt_str(obj.get("uri"))
        if uri is None:
            raise MalformedRecord("bare Bluesky post record has no 'uri' to identify it")
        return [_from_record(obj, uri, None, raw)]
    raise MalformedRecord("unrecognised Bluesky object")


def _from_jetstream(event: dict[str, Any], raw: str | None) -> Post:
    kind = event.get("kind")
    if kind != "commit":
        raise NotAPost(f"Jetstream {kind} event")
    commit = as_dict(event.get("commit"))
    operation, collection = commit.get("operation"), commit.get("collection")
    if operation not in ("create", "update"):
        raise NotAPost(f"Jetstream {operation} of {collection}")
    did, rkey = opt_str(event.get("did")), opt_str(commit.get("rkey"))
    if not did or not rkey:
        raise MalformedRecord("Jetstream commit lacks 'did' or 'rkey'")
    record = as_dict(commit.get("record"))
    uri = f"at://{did}/{collection}/{rkey}"
    if collection == REPOST:
        subject = opt_str(as_dict(record.get("subject")).get("uri"))
        if subject is None:
            raise MalformedRecord("Bluesky repost has no subject uri")
        return Post(
            id=uri,
            platform=PLATFORM,
            text="",
            created_at=_time(record.get("createdAt")) or _time(event.get("time_us")),
            author_id=did,
            repost_of=subject,
            raw=raw if raw is not None else orjson.dumps(event).decode(),
        )
    if collection != POST:
        raise NotAPost(f"Jetstream commit to {collection}")
    author = {"did": did}
    post = _from_record(
        record, uri, author, raw if raw is not None else orjson.dumps(event).decode()
    )
    if post.created_at is None:
        return replace(post, created_at=_time(event.get("time_us")))
    return post


def _from_view(view: dict[str, Any], raw: str | None) -> Post:
    uri = opt_str(view.get("uri"))
    if uri is None:
        raise MalformedRecord("Bluesky post view has no 'uri'")
    record = as_dict(view.get("record"))
    post = _from_record(
        record,
        uri,
        as_dict(view.get("author")),
        raw if raw is not None else orjson.dumps(view).decode(),
    )
    return replace(
        post,
        like_count=opt_int(view.get("likeCount")),
        repost_count=opt_int(view.get("repostCount")),
    )


def _time(value: Any) -> Any:
    try:
        return parse_time(value)
    except ValueError as exc:
        raise MalformedRecord(str(exc)) from None


def _from_record(
    record: dict[str, Any], uri: str, author: dict[str, Any] | None, raw: str | None
) -> Post:
    text = record.get("text")
    if not isinstance(text, str):
        raise MalformedRecord("Bluesky post record has no 'text'")
    hashtags: list[str] = []
    mentions: list[str] = []
    urls: list[str] = []
    facets = as_list(record.get("facets"))
    for facet in facets:
        for feature in as_list(as_dict(facet).get("features")):
            feature = as_dict(feature)
            kind = feature.get("$type")
            if kind == _TAG and feature.get("tag"):
                hashtags.append(str(feature["tag"]))
            elif kind == _MENTION and feature.get("did"):
                mentions.append(str(feature["did"]))
            elif kind == _LINK and feature.get("uri"):
                urls.append(str(feature["uri"]))
    for tag in as_list(record.get("tags")):
        if isinstance(tag, str) and tag not in hashtags:
            hashtags.append(tag)
    if not facets:
        hashtags.extend(t for t in hashtags_in(text) if t not in hashtags)
        mentions.extend(mentions_in(text))
        urls.extend(urls_in(text))
    reply = as_dict(record.get("reply"))
    embed = as_dict(record.get("embed"))
    quote_of = None
    if embed.get("$type") == "app.bsky.embed.record":
        quote_of = opt_str(as_dict(embed.get("record")).get("uri"))
    elif embed.get("$type") == "app.bsky.embed.recordWithMedia":
        quote_of = opt_str(as_dict(as_dict(embed.get("record")).get("record")).get("uri"))
    langs = as_list(record.get("langs"))
    author = author or {}
    return Post(
        id=uri,
        platform=PLATFORM,
        text=text,
        created_at=_time(record.get("createdAt")),
        author_id=opt_str(author.get("did")) or _did_of(uri),
        author_handle=opt_str(author.get("handle")),
        author_name=opt_str(author.get("displayName")),
        author_created_at=_time(author.get("createdAt")),
        author_followers=opt_int(author.get("followersCount")),
        lang=opt_str(langs[0]) if langs else None,
        reply_to=opt_str(as_dict(reply.get("parent")).get("uri")),
        quote_of=quote_of,
        hashtags=tuple(hashtags),
        mentions=tuple(mentions),
        urls=tuple(urls),
        raw=raw,
    )


def _did_of(uri: str) -> str | None:
    parts = uri.removeprefix("at://").split("/")
    return parts[0] if parts and parts[0].startswith("did:") else None
