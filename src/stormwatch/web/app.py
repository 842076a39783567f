"""`stormwatch serve`: the live Q&A console over the same store and core as `analyze`.

An ASGI app (FastAPI): the ingest API, a read API in which every page has a JSON twin,
server-sent events for live pages, the dashboard and the host's question queue. Pages are
server-rendered with autoescaping Jinja2 templates plus one vendored script; nothing is
loaded from another origin, so it works offline and the CSP can forbid inline script.
"""

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import orjson
from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from stormwatch.analysis import RunCounts, parse_window, summarize, window_counts, windows
from stormwatch.core.labels import Classifier, hard_labels
from stormwatch.core.text import tags_text
from stormwatch.records import Post, Reject
from stormwatch.sources.files import read_bytes
from stormwatch.sources.timeparse import from_ms, iso
from stormwatch.store.sqlite import SQLiteStore
from stormwatch.web import queries
from stormwatch.web.auth import Guards, add_auth_handlers, login_router
from stormwatch.web.cache import Cache
from stormwatch.web.live import Live, Stores, track_themes
from stormwatch.web.security import (
    Principal,
    RateLimiter,
    SecurityHeaders,
    bearer,
    check_csrf,
    limit,
)

MAX_BODY = 16 * 1024 * 1024
PACKAGE = files("stormwatch") / "web"


@dataclass
class Config:
    """What `stormwatch serve` can tune."""

    batch_size: int = 512
    max_wait: float = 0.5
    max_backlog: int = 20_000
    ingest_rate: float = 200.0  # requests/s per token, bursts of twice that
    login_rate: float = 0.2  # attempts/s per address (12 a minute), bursts of 5
    secure_cookies: bool = False
    cache_seconds: float = 2.0
    baseline: dict[str, Any] | None = None  # the early warning's (from preflight)
    webhooks: tuple[Any, ...] = ()  # webhooks.Webhook: warning and critical alerts go there
    dead_letters: Path | None = None
    # replies.Replier per platform: with them, answers from the queue are posted as replies
    # (without them, answers stay drafts for `stormwatch reply --pending --send`)
    repliers: dict[str, Any] | None = None
    reply_every_s: float = 2.0
    # live themes: found once enough posts are labelled, then new posts assigned
    themes_every_s: float = 15.0
    themes_after: int = 500
    purpose: Any = None  # core.purpose.Purpose: the hijack signal joins the early warning
    warning: Any = None  # core.warning.WarningConfig: the early warning's settings (None: shipped)


class Answer(BaseModel):
    answer: str | None = None


async def _bounded_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body, refused with 413 as soon as it is over `limit`: by its declared
    length before reading, else while it streams in, so an oversized (or endless chunked)
    upload is never held in memory whole."""
    too_big = HTTPException(413, f"request body over {limit // (1024 * 1024)} MiB")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    db: str | Path,
    classifier: Classifier | None = None,
    config: Config | None = None,
) -> FastAPI:
    """The console app over the store at `db`. The scorer thread runs while the app does."""
    from stormwatch import settings
    from stormwatch.models import load_classifier, reference_for

    config = config or Config()
    classifier = classifier or load_classifier(settings.get("tier"))
    stores = Stores(db)
    live = Live(stores, classifier, config.batch_size, config.max_wait, config.max_backlog)
    cache = Cache(config.cache_seconds)
    # The shipped validation predictions and default methods of the model in use.
    validation, methods = reference_for(live.model.name, live.model.version)
    ingest_limiter = RateLimiter(config.ingest_rate, 2 * config.ingest_rate)
    login_limiter = RateLimiter(config.login_rate, 5)
    templates = Jinja2Templates(directory=str(PACKAGE / "templates"))
    from stormwatch.report import readable_time

    templates.env.filters["when"] = readable_time
    templates.env.filters["hashtags"] = tags_text

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        live.start()
        workers = [cache.worker]

        def start(target: Callable[..., None], name: str, *args: Any) -> None:
            thread = threading.Thread(target=target, args=args, daemon=True, name=name)
            thread.start()
            workers.append(thread)

        if config.webhooks:
            start(_notify, "stormwatch-notify")
        if config.repliers:
            start(_send_replies, "stormwatch-reply")
        if config.themes_every_s > 0:
            start(
                track_themes,
                "stormwatch-themes",
                db,
                live,
                stopping,
                config.themes_every_s,
                config.themes_after,
            )
        # Warm what the dashboard shows first, so its first load is not the slow one.
        start(_warm, "stormwatch-warm")
        try:
            yield
        finally:
            stopping.set()
            live.stop()
            cache.stop()
            # The background threads finish what they hold before their connections close.
            deadline = time.monotonic() + 5.0
            for thread in workers:
                thread.join(max(0.0, deadline - time.monotonic()))
            stores.close(busy=[t for t in workers if t.is_alive()])

    app = FastAPI(
        title="Stormwatch console",
        version="1",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI would load scripts from a CDN; the schema is served
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(PACKAGE / "static")), name="static")
    app.state.live = live
    app.state.stores = stores

    guards = Guards(stores)
    reader, moderator, page_user = guards.reader, guards.moderator, guards.page_user
    add_auth_handlers(app)

    # --- ingest ------------------------------------------------------------------------

    @app.post(
        "/api/v1/posts",
        summary="Ingest posts",
        description="A JSON array or NDJSON of posts in any format the file readers accept "
        "(X v2/v1.1, Mastodon, Bluesky, generic JSON). Idempotent on post id. Returns "
        "counts and one result per item. 429 + Retry-After when the scoring queue is full.",
        tags=["ingest"],
    )
    async def ingest(request: Request) -> JSONResponse:
        token = bearer(request)
        name = stores.console().token_name(token) if token else None
        if name is None:
            raise HTTPException(
                401,
                "send Authorization: Bearer TOKEN (create one with `stormwatch token create`)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        limit(ingest_limiter, name)
        if live.full():
            raise HTTPException(
                429,
                f"scoring queue full ({live.backlog:,} posts waiting); retry later",
                headers={"Retry-After": str(live.retry_after())},
            )
        body = await _bounded_body(request)
        if not body.strip():
            raise HTTPException(400, "empty body: send a JSON array or NDJSON of posts")
        return JSONResponse(await run_in_threadpool(_ingest, body))

    def _ingest(body: bytes) -> dict[str, Any]:
        posts: list[Post] = []
        results: list[dict[str, Any]] = []
        rejected = skipped = 0
        for item in read_bytes(body):
            if isinstance(item, Reject):
                if item.kind == "skipped":
                    skipped += 1
                else:
                    rejected += 1
                results.append({"item": item.line, "status": item.kind, "reason": item.reason})
            else:
                posts.append(item)
                results.append({"id": item.id, "platform": item.platform, "status": None})
        known = stores.get().existing((p.platform, p.id) for p in posts)
        seen: set[tuple[str, str]] = set()
        for result in results:
            if result["status"] is None:
                key = (result["platform"], result["id"])
                result["status"] = "duplicate" if key in known or key in seen else "accepted"
                seen.add(key)
        added = live.accept(posts)
        return {
            "accepted": added.inserted,
            "duplicate": added.duplicates,
            "rejected": rejected,
            "skipped": skipped,
            "items": results,
        }

    # --- read API ----------------------------------------------------------------------

    def _window(window: str | None) -> int | None:
        if not window:
            return None
        try:
            return parse_window(window)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None

    def _summary(window_ms: int | None, reposts: bool, all_languages: bool) -> dict[str, Any]:
        view = live.view
        return cache.get(
            ("summary", window_ms, reposts, all_languages),
            len(view),
            lambda: (
                summarize(
                    stores.get(),
                    live.model,
                    RunCounts(),
                    reposts,
                    window_ms,
                    all_languages,
                    scored=view.scored(reposts, all_languages),
                    with_coordination=False,  # slow on big stores: its own, slower cache
                    with_themes=False,  # the themes page has its own
                    warning=config.warning,
                )
                | {
                    "backlog": live.backlog,
                    "scorer_error": live.last_error,
                    "coordination": _coordination(),
                }
            ),
        )

    warmed = threading.Event()
    stopping = threading.Event()

    def _notify() -> None:
        """Send each new warning or critical alert to every webhook, once: alerts are
        stored on first sight (de-duplicated by time, kind and level) and marked when sent,
        so a restart neither resends nor forgets. Alerts already raised when the server
        started were sent (or not) by the run that raised them."""
        from stormwatch.store.alerts import AlertStore
        from stormwatch.webhooks import deliver

        warmed.wait(timeout=300)
        try:
            alerts = AlertStore(stores.get().db)
            alerts.record(_detected(), now_ms=0)  # known before this start: not news
            started_ms = int(time.time() * 1000)
            while not stopping.wait(timeout=2.0):
                alerts.record(_detected())
                for alert in alerts.to_notify(started_ms):
                    for hook in config.webhooks:
                        deliver(hook, alert, config.dead_letters)
                    alerts.notified(alert["alert_id"])
        except Exception:
            # Only expected at shutdown (the store closed under it); deliveries record
            # their own failures in the dead letters.
            if not stopping.is_set():
                raise

    def _coordination() -> dict[str, Any]:
        """Copy-paste groups and concentration, recomputed at most once a minute."""
        from stormwatch.coordination import coordination

        return cache.get(
            ("coordination",),
            len(live.view),
            lambda: coordination(stores.get(), live.model),
            every=60.0,
        )

    def _warm() -> None:
        """Best effort: a server stopped while warming just stops warming."""
        try:
            give_up = time.monotonic() + 300
            while not live.ready.wait(0.2):
                if stopping.is_set() or time.monotonic() > give_up:
                    return
            if stopping.is_set():
                return
            _summary(None, False, False)
            _counters()
        except Exception:
            pass
        finally:
            warmed.set()

    @app.get("/api/v1/summary", tags=["read"], summary="The same keys as `analyze --json`")
    def summary(
        who: Annotated[Principal, Depends(reader)],
        window: str | None = None,
        count_reposts: bool = False,
        all_languages: bool = False,
    ) -> dict[str, Any]:
        return _summary(_window(window), count_reposts, all_languages)

    def _timeline(width_ms: int) -> dict[str, Any]:
        view = live.view

        def compute() -> dict[str, Any]:
            scored = view.scored()
            flags = hard_labels(scored.proba, live.model.layout)
            wanted = {
                k: flags[k]
                for k in ("negative", "neutral", "positive", "offensive", "irony")
                if k in flags
            }
            if "question" in flags and "genuine" in flags:
                wanted["genuine"] = flags["genuine"] & ~flags.get("offensive", False)
                wanted["hostile_question"] = flags["question"] & ~wanted["genuine"]
            series = window_counts(scored, wanted, width_ms)
            starts = []
            if series:
                first = int(scored.created_ms[scored.created_ms >= 0].min()) // width_ms
                starts = [iso(from_ms((first + i) * width_ms)) for i in range(len(series["posts"]))]
            return {"window_ms": width_ms, "starts": starts, "series": series}

        return cache.get(("timeline", width_ms), len(view), compute)

    @app.get("/api/v1/timeline", tags=["read"], summary="Posts per window by label")
    def timeline(who: Annotated[Principal, Depends(reader)], window: str = "5m") -> dict[str, Any]:
        return _timeline(_window(window) or 300_000)

    def _prevalence_windows(width_ms: int) -> list[dict[str, Any]]:
        view = live.view
        return cache.get(
            ("prevalence", width_ms),
            len(view),
            lambda: windows(view.scored(), live.model.layout, validation, methods, width_ms),
        )

    @app.get("/api/v1/prevalence", tags=["read"], summary="Prevalence with 95% intervals")
    def prevalence(
        who: Annotated[Principal, Depends(reader)], window: str | None = None
    ) -> dict[str, Any]:
        width_ms = _window(window)
        out = {"overall": _summary(None, False, False)["prevalence"], "windows": []}
        if width_ms:
            out["windows"] = _prevalence_windows(width_ms)
        return out

    @app.get("/api/v1/posts", tags=["read"], summary="Posts, newest first, with filters")
    def posts(
        who: Annotated[Principal, Depends(reader)],
        label: str | None = None,
        author: str | None = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        since: str | None = None,
        until: str | None = None,
        before: int | None = None,
        theme: int | None = None,
        limit_: Annotated[int, Query(alias="limit", ge=1, le=500)] = 50,
    ) -> dict[str, Any]:
        layout = live.model.layout
        if label is not None and label not in layout.labels:
            raise HTTPException(422, f"unknown label {label!r}; use one of {list(layout.labels)}")
        try:
            view, flags = live.flags()
            mask = flags.get(label) if label else None
            if theme is not None:
                in_theme = _theme_mask(theme, view)
                mask = in_theme if mask is None else mask & in_theme
            found = queries.find_posts(
                stores.get(),
                view,
                layout,
                mask,
                author,
                q,
                since,
                until,
                before,
                limit_,
            )
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return {"posts": found, "next_before": found[-1]["rowid"] if found else None}

    def _questions(limit_: int) -> dict[str, Any]:
        view, flags = live.flags()
        console = stores.console()
        return cache.get(
            ("questions", limit_, console.version()),
            len(view),
            lambda: queries.question_queue(
                stores.get(), console, view, flags, live.model.layout, limit_
            ),
        )

    @app.get("/api/v1/questions", tags=["read"], summary="The question queue")
    def questions(
        who: Annotated[Principal, Depends(reader)],
        limit_: Annotated[int, Query(alias="limit", ge=1, le=500)] = 100,
    ) -> dict[str, Any]:
        return _questions(limit_)

    @app.post("/api/v1/questions/{rowid}/{action}", tags=["queue"], summary="Act on a question")
    def act(
        rowid: int,
        action: str,
        who: Annotated[Principal, Depends(moderator)],
        body: Answer | None = None,
    ) -> dict[str, Any]:
        return _act(rowid, action, who, body.answer if body else None)

    def _act(rowid: int, action: str, who: Principal, answer: str | None) -> dict[str, Any]:
        console = stores.console()
        try:
            if action == "undo":
                undone = console.undo(rowid)
                return {"rowid": rowid, "undone": undone}
            console.act(rowid, action, who.name, answer)
        except (ValueError, LookupError) as exc:
            raise HTTPException(404 if isinstance(exc, LookupError) else 422, str(exc)) from None
        done: dict[str, Any] = {"rowid": rowid, "action": action, "by": who.name}
        if action == "answer" and answer:
            done["reply"] = _draft_reply(rowid, answer, who.name)
        return done

    def _draft_reply(rowid: int, answer: str, username: str) -> dict[str, Any] | None:
        """An answer to a post from a live platform goes to the reply outbox (sent by the
        reply thread when `serve --send-replies`, else left as a draft)."""
        from stormwatch.replies import REPLY_PLATFORMS, Outbox, ReplyError

        store = stores.get()
        row = store.db.execute("SELECT platform FROM posts WHERE rowid = ?", (rowid,)).fetchone()
        if row is None or row[0] not in REPLY_PLATFORMS:
            return None
        try:
            reply_id = Outbox(store).draft(rowid, answer, username)
        except ReplyError as exc:
            return {"status": "not drafted", "error": str(exc)}
        replies_ready.set()
        return {"reply_id": reply_id, "status": "draft", "will_send": bool(config.repliers)}

    replies_ready = threading.Event()

    def _send_replies() -> None:
        from stormwatch.replies import Outbox

        store = SQLiteStore(db)
        try:
            outbox = Outbox(store)
            outbox.recover()
            while not stopping.is_set():
                try:
                    outbox.send_due(config.repliers or {})
                except Exception as exc:  # keep sending the others; the row keeps the error
                    live.last_error = f"reply sender: {exc!r}"
                replies_ready.wait(config.reply_every_s)
                replies_ready.clear()
        finally:
            store.close()

    def _detected() -> list[dict[str, Any]]:
        """The early warning run over every labelled post so far (cached per view size)."""
        from stormwatch.analysis import alert_records, detect_alerts

        view = live.view

        def compute() -> list[dict[str, Any]]:
            scored = view.scored()
            off = _off_purpose(scored.rowids) if config.purpose is not None else None
            found = detect_alerts(
                scored,
                live.model.layout,
                validation,
                config.warning,
                baseline=config.baseline,
                off_purpose=off,
            )
            return alert_records(stores.get(), scored, live.model.layout, found)

        return cache.get(("detected",), len(view), compute)

    purpose_seen: dict[str, np.ndarray] = {
        "rowids": np.zeros(0, np.int64),
        "scores": np.zeros(0),
        "decisions": np.zeros(0, bool),
    }

    purpose_lock = threading.Lock()

    def _off_purpose(rowids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Off-purpose calls for these posts; each post is embedded once, when first seen.
        One thread at a time: the cache's worker and a request may both be computing the
        alerts, and interleaved updates would pair rowids with another post's call."""
        from stormwatch.purpose import off_purpose_view

        with purpose_lock:
            known = purpose_seen["rowids"]
            fresh = np.setdiff1d(rowids, known)
            if len(fresh):
                scores, decisions = off_purpose_view(stores.get(), fresh, config.purpose)
                order = np.argsort(np.concatenate([known, fresh]), kind="stable")
                purpose_seen["rowids"] = np.concatenate([known, fresh])[order]
                purpose_seen["scores"] = np.concatenate([purpose_seen["scores"], scores])[order]
                purpose_seen["decisions"] = np.concatenate([purpose_seen["decisions"], decisions])[
                    order
                ]
            where = np.searchsorted(purpose_seen["rowids"], rowids)
            return purpose_seen["scores"][where], purpose_seen["decisions"][where]

    def _alerts() -> list[dict[str, Any]]:
        view = live.view
        timed = view.created_ms[view.created_ms >= 0]
        latest = int(timed.max()) if len(timed) else None
        return queries.alerts(_detected(), latest, live.backlog, live.max_backlog, live.last_error)

    @app.get("/api/v1/alerts", tags=["read"], summary="Current alerts and their history")
    def alerts(who: Annotated[Principal, Depends(reader)]) -> dict[str, Any]:
        return {"current": _alerts(), "history": _detected()}

    def _counters() -> dict[str, Any]:
        view = live.view
        counts = cache.get(("counts",), len(view), lambda: stores.get().counts())
        timed = view.created_ms[view.created_ms >= 0]
        latest = int(timed.max()) if len(timed) else None
        per_minute = int((timed > latest - 60_000).sum()) if latest is not None else 0
        tail = slice(max(0, len(view) - 2000), len(view))
        original = ~view.repost[tail] & view.english[tail]
        flags = hard_labels(view.proba[tail][original][-500:], live.model.layout)
        return {
            "posts": stores.get().post_count(),  # exact: the one counter people watch
            "accounts": counts["authors"],
            "labelled": len(view),
            "backlog": live.backlog,
            "per_minute": per_minute,
            "latest": iso(from_ms(latest)) if latest is not None else None,
            "recent_negative": round(float(flags["negative"].mean()), 3)
            if "negative" in flags and len(flags["negative"])
            else None,
            "alerts": _alerts(),
        }

    @app.get("/api/v1/events", tags=["read"], summary="Server-sent events: counters, posts")
    async def events(
        request: Request,
        who: Annotated[Principal, Depends(reader)],
        after: int | None = None,
        ticks: Annotated[int | None, Query(ge=1)] = None,
    ) -> StreamingResponse:
        """A `counters` event every second; every quarter second a `post` event per newly
        labelled post (the newest 50 at most: the feed samples a faster crowd). `ticks`
        ends the stream after that many seconds (for tests and scripts)."""

        async def stream() -> AsyncIterator[bytes]:
            view = live.view
            last = after if after is not None else int(view.rowids[-1]) if len(view) else 0
            quarters = 0
            while ticks is None or quarters < 4 * ticks:
                if await request.is_disconnected():
                    return
                if quarters % 4 == 0:
                    yield _sse("counters", await run_in_threadpool(_counters))
                view = live.view
                start = int(np.searchsorted(view.rowids, last, side="right"))
                fresh = view.rowids[start:][-50:]
                if len(fresh):
                    for item in await run_in_threadpool(
                        queries.feed_items, stores.get(), view, live.model.layout, fresh
                    ):
                        yield _sse("post", item)
                    last = int(view.rowids[-1])
                quarters += 1
                await asyncio.sleep(0.25)

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
        )

    # --- charts --------------------------------------------------------------------------

    def _auto_window() -> tuple[str, int]:
        """At most 60 windows over the campaign so far (report.auto_window)."""
        from stormwatch.report import auto_window

        timed = live.view.created_ms[live.view.created_ms >= 0]
        if not len(timed):
            return "5m", 300_000
        return auto_window(int(timed.min()), int(timed.max()))

    @app.get("/charts/{name}.svg", include_in_schema=False)
    def chart(
        name: str, who: Annotated[Principal, Depends(reader)], window: str = "auto"
    ) -> Response:
        from stormwatch.report import render_charts

        if window == "auto":
            window, width_ms = _auto_window()
        else:
            width_ms = _window(window) or 300_000
        data = _timeline(width_ms)
        if name == "prevalence":
            rows = _prevalence_windows(width_ms)
        else:
            rows = [{"start": s, "prevalence": {}} for s in data["starts"]]
        report = {
            "series": data["series"],
            "windows": rows,
            "window": {"width": window, "ms": width_ms},
        }
        svgs = render_charts(report) if data["series"] else {}
        if name not in svgs:
            svg = (
                '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 720 60" width="720" '
                'height="60"><text x="10" y="35" font-size="14" fill="#666">'
                "No posts with times yet</text></svg>"
            )
        else:
            svg = svgs[name]
        return Response(svg, media_type="image/svg+xml")

    # --- pages -------------------------------------------------------------------------

    def _render(request: Request, name: str, who: Principal | None, **context: Any) -> Response:
        return templates.TemplateResponse(
            request,
            name,
            {"who": who, "csrf": who.csrf if who else None, **context},
        )

    def _wants_json(request: Request) -> bool:
        accept = request.headers.get("accept", "")
        return "application/json" in accept and "text/html" not in accept

    @app.get("/", include_in_schema=False)
    def dashboard(request: Request, who: Annotated[Principal, Depends(page_user)]) -> Response:
        data = _summary(None, False, False)
        if _wants_json(request):
            return JSONResponse(data)
        return _render(
            request,
            "dashboard.html",
            who,
            summary=data,
            counters=_counters(),
            labels=live.model.layout.labels,
            history=_detected()[-20:],
        )

    @app.get("/queue", include_in_schema=False)
    def queue_page(request: Request, who: Annotated[Principal, Depends(page_user)]) -> Response:
        data = _questions(100)
        if _wants_json(request):
            return JSONResponse(data)
        return _render(request, "queue.html", who, queue=data)

    @app.post("/queue/{rowid}/{action}", include_in_schema=False)
    def queue_form(
        rowid: int,
        action: str,
        who: Annotated[Principal, Depends(page_user)],
        csrf: Annotated[str, Form()] = "",
        answer: Annotated[str | None, Form()] = None,
    ) -> Response:
        if not who.can("moderator"):
            raise HTTPException(403, "this needs the moderator role")
        check_csrf(who, csrf)
        _act(rowid, action, who, answer)
        return RedirectResponse(f"/queue#q{rowid}", 303)

    app.include_router(login_router(stores, guards, login_limiter, config.secure_cookies, _render))

    def _themes() -> list[dict[str, Any]]:
        from stormwatch.store.themes import ThemeStore
        from stormwatch.themes import describe_themes

        version = ThemeStore(stores.get().db).version()
        return cache.get(
            ("themes", version), len(live.view), lambda: describe_themes(stores.get(), live.model)
        )

    def _theme_mask(theme: int, view: Any) -> np.ndarray:
        from stormwatch.store.themes import ThemeStore

        members = ThemeStore(stores.get().db).members(theme)
        return np.isin(view.rowids, np.asarray(members, dtype=np.int64))

    @app.get("/api/v1/themes", tags=["read"], summary="Themes: keywords, size, share, mix, posts")
    def themes_api(who: Annotated[Principal, Depends(reader)]) -> dict[str, Any]:
        return {"themes": _themes()}

    @app.get("/themes", include_in_schema=False)
    def themes_page(request: Request, who: Annotated[Principal, Depends(page_user)]) -> Response:
        from markupsafe import Markup

        from stormwatch import charts

        found = _themes()
        if _wants_json(request):
            return JSONResponse({"themes": found})
        sparks = {
            t["id"]: Markup(charts.sparkline(t["rise"], f"posts on {t['label']} over time"))
            for t in found
            if t.get("rise")
        }
        return _render(request, "themes.html", who, themes=found, sparks=sparks)

    @app.get("/themes/{theme}", include_in_schema=False)
    def theme_page(
        request: Request,
        theme: int,
        who: Annotated[Principal, Depends(page_user)],
        before: int | None = None,
    ) -> Response:
        found = {t["id"]: t for t in _themes()}
        if theme not in found:
            raise HTTPException(404, f"no theme {theme}")
        view, _ = live.flags()
        posts = queries.find_posts(
            stores.get(),
            view,
            live.model.layout,
            _theme_mask(theme, view),
            None,
            None,
            None,
            None,
            before,
            50,
        )
        if _wants_json(request):
            return JSONResponse({"theme": found[theme], "posts": posts})
        return _render(request, "theme.html", who, theme=found[theme], posts=posts)

    def _sources() -> dict[str, Any]:
        return queries.source_status(stores.get(), sending=bool(config.repliers))

    @app.get("/api/v1/sources", tags=["read"], summary="Live sources' health and the replies")
    def sources_api(who: Annotated[Principal, Depends(reader)]) -> dict[str, Any]:
        return _sources()

    @app.get("/status", include_in_schema=False)
    def status_page(request: Request, who: Annotated[Principal, Depends(page_user)]) -> Response:
        data = _sources()
        if _wants_json(request):
            return JSONResponse(data)
        return _render(request, "status.html", who, status=data)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, Any]:
        return {
            "ok": live.last_error is None,
            "warm": warmed.is_set(),
            "backlog": live.backlog,
            "labelled": len(live.view),
            "accepted_since_start": live.accepted_total,
            "labelled_since_start": live.scored_total,
        }

    return app


def _sse(event: str, data: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
