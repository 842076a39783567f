"""Posting the host's answers back as replies on the question's own platform.

An answer becomes a row in the `replies` outbox first (a draft), so nothing is lost: a
send that fails is retried with back-off and, after the last try, left `failed` for a person
to see. Each platform gets the reference fields it needs (X `reply.in_reply_to_tweet_id`;
Mastodon `in_reply_to_id` with an `Idempotency-Key`; Bluesky `reply.root`/`reply.parent`
strong refs and a fixed record key), and the length is checked with the platform's own rule
before anything is sent. Sending is opt-in: by default `plan()` shows exactly what would go.

Retries never post twice: Mastodon drops a repeated `Idempotency-Key`, and a Bluesky retry
reuses the record key (an existing record means the first try landed). X has neither, so an
X send whose answer was lost (timeout after the request went out) is marked `uncertain` and
not retried blindly.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
import orjson
import regex

from stormwatch.sources.backoff import retry_after_seconds
from stormwatch.sources.credentials import Credentials, Secret, redact
from stormwatch.sources.fields import as_dict
from stormwatch.store.sqlite import SQLiteStore

MAX_ATTEMPTS = 5
REPLY_PLATFORMS = ("x", "mastodon", "bluesky")
URL_WEIGHT = 23  # X and Mastodon count every link as 23 characters
_URL = regex.compile(r"https?://\S+")
_TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"


class ReplyError(ValueError):
    """The reply cannot be sent as asked (too long, no reference, unknown platform)."""


# --- length rules --------------------------------------------------------------------------


def x_length(text: str) -> int:
    """X's weighted length: most Latin, Greek, Cyrillic and punctuation count 1; CJK, emoji
    and the rest count 2; every URL 23 (the twitter-text v3 configuration)."""
    text, urls = _URL.subn("", text)
    total = URL_WEIGHT * urls
    for cluster in regex.findall(r"\X", text):
        code = ord(cluster[0])
        light = code <= 4351 or 8192 <= code <= 8205 or 8208 <= code <= 8223 or 8242 <= code <= 8247
        total += 1 if light and len(cluster) == 1 else 2
    return total


def mastodon_length(text: str) -> int:
    """Mastodon counts characters, every URL as 23, and a remote mention by its user part."""
    text, urls = _URL.subn("", text)
    text = regex.sub(r"(@\w+)@[\w.-]+\w", r"\1", text)
    return len(text) + URL_WEIGHT * urls


def graphemes(text: str) -> int:
    """User-perceived characters (Bluesky's 300 limit is in graphemes)."""
    return len(regex.findall(r"\X", text))


# --- what a reply refers to ----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    platform: str
    post_id: str  # the stored id (tweet id, status uri, at-uri)
    handle: str | None
    raw: dict[str, Any]


def target_of(store: SQLiteStore, rowid: int) -> Target:
    row = store.db.execute(
        "SELECT p.platform, p.post_id, a.handle, p.raw, p.deleted_ms FROM posts p "
        "LEFT JOIN authors a ON a.platform = p.platform AND a.author_id = p.author_id "
        "WHERE p.rowid = ?",
        (rowid,),
    ).fetchone()
    if row is None:
        raise ReplyError(f"no post {rowid} in this store")
    if row[4] is not None:
        raise ReplyError(f"post {rowid} was deleted by its author: it cannot be answered")
    raw: dict[str, Any] = {}
    if row[3]:
        try:
            parsed = orjson.loads(row[3])
            raw = parsed if isinstance(parsed, dict) else {}
        except orjson.JSONDecodeError:
            raw = {}
    return Target(row[0], row[1], row[2], raw)


def find_rowid(store: SQLiteStore, post: str) -> int:
    """A post named by rowid, or by its platform id / uri."""
    row = store.db.execute("SELECT rowid FROM posts WHERE post_id = ?", (post,)).fetchone()
    if row is None and post.isdigit():
        row = store.db.execute("SELECT rowid FROM posts WHERE rowid = ?", (int(post),)).fetchone()
    if row is None:
        raise ReplyError(f"no stored post with id or rowid {post!r}")
    return int(row[0])


# --- the requests --------------------------------------------------------------------------


@dataclass
class Planned:
    """One HTTP request, exactly as it would be sent (headers shown with secrets hidden)."""

    method: str
    url: str
    json: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    length: int = 0
    limit: int = 0

    def shown(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "headers": {
                k: (v if k != "Authorization" or v.startswith("Bearer <") else "Bearer ***")
                for k, v in self.headers.items()
            },
            "json": self.json,
            "length": self.length,
            "limit": self.limit,
        }


@dataclass(frozen=True)
class Sent:
    remote_id: str
    url: str | None


class Failure(Exception):
    def __init__(
        self, message: str, retry: bool, uncertain: bool = False, wait: float | None = None
    ):
        super().__init__(message)
        self.retry, self.uncertain, self.wait = retry, uncertain, wait


class Replier(Protocol):
    platform: str

    def close(self) -> None: ...

    def plan(self, target: Target, text: str, key: str) -> Planned: ...

    def send(self, planned: Planned, key: str) -> Sent: ...


def _check(length: int, limit: int, platform: str) -> None:
    if length > limit:
        raise ReplyError(
            f"the answer is {length} long by {platform}'s count; the limit is {limit}: shorten it"
        )


def _call(
    client: httpx.Client,
    planned: Planned,
    extra: dict[str, str] | None = None,
    safe_to_retry_after_timeout: bool = True,
) -> httpx.Response:
    try:
        response = client.request(
            planned.method,
            planned.url,
            json=planned.json,
            headers={**planned.headers, **(extra or {})},
        )
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise Failure(redact(f"could not connect: {exc}"), retry=True) from None
    except httpx.TransportError as exc:  # the request may have arrived
        raise Failure(
            redact(f"no answer: {type(exc).__name__}: {exc}"),
            retry=safe_to_retry_after_timeout,
            uncertain=not safe_to_retry_after_timeout,
        ) from None
    if response.status_code == 429 or response.status_code >= 500:
        raise Failure(
            f"HTTP {response.status_code}: {redact(response.text[:200])}",
            retry=True,
            wait=retry_after_seconds(response.headers, time.time()),
        )
    if response.status_code >= 400:
        raise Failure(f"HTTP {response.status_code}: {redact(response.text[:300])}", retry=False)
    return response


class _HTTPReplier:
    _client: httpx.Client

    def close(self) -> None:
        self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class XReplier(_HTTPReplier):
    platform = "x"

    def __init__(
        self, user_token: Secret, api: str = "https://api.x.com", client: httpx.Client | None = None
    ) -> None:
        self.api = api.rstrip("/")
        self._token = user_token
        self._client = client or httpx.Client(timeout=20.0)

    def plan(self, target: Target, text: str, key: str) -> Planned:
        length = x_length(text)
        _check(length, 280, "X")
        return Planned(
            "POST",
            f"{self.api}/2/tweets",
            {"text": text, "reply": {"in_reply_to_tweet_id": target.post_id}},
            {"Authorization": f"Bearer {self._token.reveal()}"},
            length,
            280,
        )

    def send(self, planned: Planned, key: str) -> Sent:
        response = _call(self._client, planned, safe_to_retry_after_timeout=False)
        data = as_dict(orjson.loads(response.content).get("data"))
        tweet_id = str(data.get("id") or "")
        if not tweet_id:
            raise Failure("X answered without a tweet id", retry=False, uncertain=True)
        return Sent(tweet_id, f"https://x.com/i/web/status/{tweet_id}")


class MastodonReplier(_HTTPReplier):
    platform = "mastodon"

    def __init__(self, instance: str, token: Secret, client: httpx.Client | None = None) -> None:
        self.instance = instance.rstrip("/")
        self._token = token
        self._client = client or httpx.Client(timeout=20.0)
        self._limit: int | None = None

    def limit(self) -> int:
        """The instance's own status limit (500 on stock Mastodon)."""
        if self._limit is None:
            try:
                response = self._client.get(f"{self.instance}/api/v2/instance")
                config = as_dict(as_dict(response.json()).get("configuration"))
                self._limit = int(as_dict(config.get("statuses")).get("max_characters") or 500)
            except (httpx.HTTPError, ValueError):
                self._limit = 500
        return self._limit

    def plan(self, target: Target, text: str, key: str) -> Planned:
        local_id = target.raw.get("id")
        if not local_id:
            raise ReplyError("this Mastodon post has no instance id stored: cannot reply to it")
        handle = target.handle or as_dict(target.raw.get("account")).get("acct")
        if handle and f"@{handle}" not in text:
            text = f"@{handle} {text}"  # a reply names who it answers, as Mastodon clients do
        limit = self.limit()
        length = mastodon_length(text)
        _check(length, limit, "this Mastodon instance")
        return Planned(
            "POST",
            f"{self.instance}/api/v1/statuses",
            {"status": text, "in_reply_to_id": str(local_id), "visibility": "public"},
            {"Authorization": f"Bearer {self._token.reveal()}", "Idempotency-Key": key},
            length,
            limit,
        )

    def send(self, planned: Planned, key: str) -> Sent:
        response = _call(self._client, planned)  # the same key again cannot post twice
        status = as_dict(orjson.loads(response.content))
        return Sent(str(status.get("id") or ""), status.get("url") or status.get("uri"))


def tid(now_us: int, clock_id: int) -> str:
    """An atproto record key (TID): 53 bits of microseconds and 10 of clock id, base32."""
    value = (now_us << 10) | (clock_id & 0x3FF)
    out = ""
    for _ in range(13):
        out = _TID_CHARS[value & 31] + out
        value >>= 5
    return out


class BlueskyReplier(_HTTPReplier):
    platform = "bluesky"
    collection = "app.bsky.feed.post"

    def __init__(
        self,
        handle: str,
        app_password: Secret,
        pds: str = "https://bsky.social",
        client: httpx.Client | None = None,
    ) -> None:
        self.pds = pds.rstrip("/")
        self.handle = handle
        self._password = app_password
        self._client = client or httpx.Client(timeout=20.0)
        self._session: tuple[str, Secret] | None = None  # did, access token

    def _login(self) -> tuple[str, Secret]:
        if self._session is None:
            response = self._client.post(
                f"{self.pds}/xrpc/com.atproto.server.createSession",
                json={"identifier": self.handle, "password": self._password.reveal()},
            )
            if response.status_code >= 400:
                raise Failure(f"Bluesky log-in failed: HTTP {response.status_code}", retry=False)
            body = response.json()
            self._session = (str(body["did"]), Secret(str(body["accessJwt"])))
        return self._session

    def plan(self, target: Target, text: str, key: str) -> Planned:
        length = graphemes(text)
        _check(length, 300, "Bluesky")
        commit = as_dict(target.raw.get("commit"))
        cid = commit.get("cid") or target.raw.get("cid")
        if not cid:
            raise ReplyError("this Bluesky post has no cid stored: cannot reference it")
        parent = {"uri": target.post_id, "cid": cid}
        record = as_dict(commit.get("record")) or as_dict(target.raw.get("record"))
        root = as_dict(as_dict(record.get("reply")).get("root")) or parent
        return Planned(
            "POST",
            f"{self.pds}/xrpc/com.atproto.repo.createRecord",
            {
                "repo": self.handle,  # a handle names the repo as well as a DID does
                "collection": self.collection,
                "rkey": key,
                "record": {
                    "$type": self.collection,
                    "text": text,
                    "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                    "reply": {"root": {"uri": root["uri"], "cid": root["cid"]}, "parent": parent},
                },
            },
            {"Authorization": "Bearer <session token from createSession>"},
            length,
            300,
        )

    def send(self, planned: Planned, key: str) -> Sent:
        did, token = self._login()
        planned.json["repo"] = did
        planned.headers["Authorization"] = f"Bearer {token.reveal()}"
        try:
            response = _call(self._client, planned)
        except Failure as failure:
            existing = self._existing(did, key)
            if existing is not None:  # an earlier try landed: the same key, so it is ours
                return existing
            raise failure from None
        body = as_dict(response.json())
        return Sent(str(body.get("uri") or ""), _web_url(str(body.get("uri") or "")))

    def _existing(self, did: str, key: str) -> Sent | None:
        try:
            response = self._client.get(
                f"{self.pds}/xrpc/com.atproto.repo.getRecord",
                params={"repo": did, "collection": self.collection, "rkey": key},
            )
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        uri = str(as_dict(response.json()).get("uri") or "")
        return Sent(uri, _web_url(uri)) if uri else None


def _web_url(uri: str) -> str | None:
    parts = uri.removeprefix("at://").split("/")
    return f"https://bsky.app/profile/{parts[0]}/post/{parts[2]}" if len(parts) == 3 else None


def repliers_from(credentials: Credentials, **endpoints: str) -> dict[str, Replier]:
    """Every platform whose posting credentials are present."""
    found: dict[str, Replier] = {}
    if credentials.get("x", "user_token"):
        found["x"] = XReplier(
            credentials.get("x", "user_token"), endpoints.get("x_api") or "https://api.x.com"
        )
    instance = endpoints.get("mastodon_instance") or credentials.get("mastodon", "instance")
    if credentials.get("mastodon", "token") and instance:
        found["mastodon"] = MastodonReplier(instance, credentials.get("mastodon", "token"))
    if credentials.get("bluesky", "handle") and credentials.get("bluesky", "app_password"):
        found["bluesky"] = BlueskyReplier(
            credentials.get("bluesky", "handle"),
            credentials.get("bluesky", "app_password"),
            endpoints.get("bluesky_pds")
            or credentials.get("bluesky", "pds")
            or "https://bsky.social",
        )
    return found


# --- the outbox ----------------------------------------------------------------------------


def _now_ms() -> int:
    return int(time.time() * 1000)


class Outbox:
    """The `replies` table: drafts, sends, retries and results."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self.db = store.db

    def draft(self, rowid: int, text: str, username: str | None = None) -> int:
        """A reply waiting to be sent; an identical open draft for the post is reused."""
        text = text.strip()
        if not text:
            raise ReplyError("an answer needs text")
        target = target_of(self.store, rowid)
        row = self.db.execute(
            "SELECT reply_id FROM replies WHERE post_rowid = ? AND text = ? "
            "AND status IN ('draft', 'sending', 'failed', 'sent', 'uncertain')",
            (rowid, text),
        ).fetchone()
        if row is not None:
            return int(row[0])
        key = tid(int(time.time() * 1_000_000), secrets.randbelow(1024))
        cursor = self.db.execute(
            "INSERT INTO replies (post_rowid, platform, text, idempotency_key, status, username, "
            "created_ms) VALUES (?, ?, ?, ?, 'draft', ?, ?)",
            (rowid, target.platform, text, key, username, _now_ms()),
        )
        return int(cursor.lastrowid or 0)

    def counts(self) -> dict[str, int]:
        """Replies per status."""
        return dict(self.db.execute("SELECT status, count(*) FROM replies GROUP BY status"))

    def get(self, reply_id: int) -> dict[str, Any]:
        rows = self.list(where="reply_id = ?", params=(reply_id,))
        if not rows:
            raise ReplyError(f"no reply {reply_id}")
        return rows[0]

    def list(
        self,
        where: str = "1 = 1",
        params: tuple[Any, ...] = (),
        newest_first: bool = False,
        limit: int = -1,
    ) -> list[dict[str, Any]]:
        """Replies matching `where` (a condition written in this code, never user input;
        values go in `params`)."""
        columns = (
            "reply_id, post_rowid, platform, text, idempotency_key, status, attempts, "
            "next_attempt_ms, last_error, remote_id, remote_url, username, created_ms, sent_ms"
        )
        order = "DESC" if newest_first else "ASC"
        cursor = self.db.execute(
            f"SELECT {columns} FROM replies WHERE {where} ORDER BY reply_id {order} LIMIT ?",
            (*params, limit),
        )
        names = [c.strip() for c in columns.split(",")]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def due(self, now_ms: int) -> list[dict[str, Any]]:
        return self.list(
            "status IN ('draft', 'failed') AND next_attempt_ms >= 0 AND next_attempt_ms <= ?",
            (now_ms,),
        )

    def _set(self, reply_id: int, **values: Any) -> None:
        assignments = ", ".join(f"{name} = ?" for name in values)  # names are ours, not input
        self.db.execute(
            f"UPDATE replies SET {assignments} WHERE reply_id = ?", (*values.values(), reply_id)
        )

    def send(
        self, reply_id: int, repliers: dict[str, Replier], now_ms: int | None = None
    ) -> dict[str, Any]:
        """One try at one reply; the row says what happened."""
        reply = self.get(reply_id)
        if reply["status"] in ("sent", "uncertain", "sending"):
            return reply  # never twice (a 'sending' row belongs to a try still running)
        replier = repliers.get(reply["platform"])
        if replier is None:
            raise ReplyError(
                f"no {reply['platform']} credentials to post with: see `stormwatch reply --help`"
            )
        now_ms = _now_ms() if now_ms is None else now_ms
        attempts = reply["attempts"] + 1
        self._set(reply_id, status="sending", attempts=attempts)
        try:
            planned = replier.plan(
                target_of(self.store, reply["post_rowid"]), reply["text"], reply["idempotency_key"]
            )
            sent = replier.send(planned, reply["idempotency_key"])
        except ReplyError as exc:
            self._set(reply_id, status="failed", last_error=str(exc), next_attempt_ms=-1)
        except Failure as exc:
            if exc.uncertain:
                self._set(reply_id, status="uncertain", last_error=str(exc), next_attempt_ms=-1)
            elif exc.retry and attempts < MAX_ATTEMPTS:
                wait = max(exc.wait or 0.0, 5.0 * 2 ** (attempts - 1))
                self._set(
                    reply_id,
                    status="failed",
                    last_error=str(exc),
                    next_attempt_ms=now_ms + int(wait * 1000),
                )
            else:
                self._set(reply_id, status="failed", last_error=str(exc), next_attempt_ms=-1)
        else:
            self._set(
                reply_id,
                status="sent",
                remote_id=sent.remote_id,
                remote_url=sent.url,
                sent_ms=_now_ms(),
                last_error=None,
            )
        return self.get(reply_id)

    def send_due(
        self, repliers: dict[str, Replier], now_ms: int | None = None
    ) -> list[dict[str, Any]]:
        now_ms = _now_ms() if now_ms is None else now_ms
        return [
            self.send(r["reply_id"], repliers, now_ms)
            for r in self.due(now_ms)
            if r["platform"] in repliers
        ]

    def recover(self) -> int:
        """Rows left 'sending' by a crash: the try may have landed, so they are marked
        uncertain (X) or retried (Mastodon and Bluesky, whose keys make a retry safe)."""
        stuck = self.list("status = 'sending'")
        for reply in stuck:
            if reply["platform"] == "x":
                self._set(
                    reply["reply_id"],
                    status="uncertain",
                    next_attempt_ms=-1,
                    last_error="interrupted while sending: check on X before resending",
                )
            else:
                self._set(reply["reply_id"], status="failed", next_attempt_ms=0)
        return len(stuck)
