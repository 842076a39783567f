"""The console's API in-process (httpx through Starlette's TestClient, the real fast
classifier, a real SQLite file)."""

from __future__ import annotations

import time

import orjson
import pytest
from fastapi.testclient import TestClient

from campaign import SCRIPT, campaign_posts
from stormwatch.export import post_record
from stormwatch.models import load_classifier
from stormwatch.store.console import ConsoleStore
from stormwatch.store.sqlite import SQLiteStore
from stormwatch.web.app import Config, create_app

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def classifier():
    return load_classifier("fast")


def setup_db(path) -> str:
    with SQLiteStore(path) as store:
        console = ConsoleStore(store.db)
        token = console.create_token("test")
        console.add_user("mod", PASSWORD, "moderator")
        console.add_user("view", PASSWORD, "viewer")
    return token


def ndjson(posts) -> bytes:
    return b"\n".join(orjson.dumps(post_record(p)) for p in posts) + b"\n"


def wait_labelled(client, n: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if client.get("/healthz").json()["labelled"] >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} posts labelled after {seconds}s")


def eventually(get, done, seconds: float = 10):
    """Results over many posts may be served a moment stale while recomputed in the
    background (see web.app.Cache): ask until `done(result)`, within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        result = get()
        if done(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def login(client, username: str) -> str:
    page = client.get("/login")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    dashboard = client.get("/")
    return dashboard.text.split('name="csrf-token" content="')[1].split('"')[0]


@pytest.fixture
def served(tmp_path, classifier):
    path = tmp_path / "live.db"
    token = setup_db(path)
    app = create_app(path, classifier, Config(max_wait=0.05))
    with TestClient(app) as client:
        yield client, token, path


def test_ingest_needs_a_token_and_counts_every_item(served):
    client, token, _ = served
    body = ndjson(campaign_posts()[:3]) + b"{broken\n" + ndjson(campaign_posts()[:1])
    assert client.post("/api/v1/posts", content=body).status_code == 401
    bad = {"Authorization": "Bearer nope"}
    assert client.post("/api/v1/posts", content=body, headers=bad).status_code == 401
    auth = {"Authorization": f"Bearer {token}"}
    result = client.post("/api/v1/posts", content=body, headers=auth).json()
    assert (result["accepted"], result["duplicate"], result["rejected"]) == (3, 1, 0 + 1)
    statuses = [item["status"] for item in result["items"]]
    assert statuses == ["accepted", "accepted", "accepted", "malformed", "duplicate"]
    assert result["items"][3]["item"] == 4 and "invalid JSON" in result["items"][3]["reason"]
    # A JSON array works too, and a repeat is idempotent.
    array = orjson.dumps([post_record(p) for p in campaign_posts()[:3]])
    again = client.post("/api/v1/posts", content=array, headers=auth).json()
    assert (again["accepted"], again["duplicate"]) == (0, 3)
    wait_labelled(client, 3)
    with SQLiteStore(served[2]) as store:
        assert store.post_count() == 3


def test_read_api_summary_posts_questions_and_events(served):
    client, token, _ = served
    posts = campaign_posts()
    auth = {"Authorization": f"Bearer {token}"}
    for start in range(0, len(posts), 50):
        response = client.post(
            "/api/v1/posts", content=ndjson(posts[start : start + 50]), headers=auth
        )
        assert response.status_code == 200
    wait_labelled(client, len(posts))
    summary = eventually(
        lambda: client.get("/api/v1/summary", headers=auth).json(),
        lambda s: s["labelled"] == len(posts),
    )
    assert summary["posts"] == len(posts) == summary["labelled"]
    assert {"shares", "prevalence", "statements", "authors", "first", "last"} <= summary.keys()
    assert summary["prevalence"]["negative"]["low"] <= summary["prevalence"]["negative"]["estimate"]

    offensive = client.get("/api/v1/posts?label=offensive&limit=500", headers=auth).json()["posts"]
    assert offensive and all("offensive" in p["chips"] for p in offensive)
    rowids = [p["rowid"] for p in offensive]
    assert rowids == sorted(rowids, reverse=True)
    found = client.get("/api/v1/posts", params={"q": "<script>"}, headers=auth).json()["posts"]
    assert {p["id"] for p in found} == {"x0", "x2"} and SCRIPT in found[0]["text"]
    by_author = client.get("/api/v1/posts?author=fan3&limit=500", headers=auth).json()["posts"]
    assert len(by_author) == 3 and {p["author"] for p in by_author} == {"fan3"}
    assert client.get("/api/v1/posts?label=nonsense", headers=auth).status_code == 422
    assert client.get("/api/v1/posts?since=yesterday", headers=auth).status_code == 422

    queue = client.get("/api/v1/questions", headers=auth).json()
    assert queue["counts"]["genuine"] > 0 and queue["counts"]["hostile"] > 0
    # Copies of a question are grouped: each friendly question was asked 12 times (with a
    # counter). Where a group stands is the classifier's call (recency counts too).
    savings = [i for i in queue["queue"] if i["text"].startswith("Can I open a savings")]
    assert len(savings) == 1 and savings[0]["count"] == 12
    assert all("offensive" not in item["chips"] for item in queue["queue"])

    timeline = eventually(
        lambda: client.get("/api/v1/timeline?window=15m", headers=auth).json(),
        lambda t: sum(t["series"].get("posts", [])) == len(posts),
    )
    assert sum(timeline["series"]["posts"]) == len(posts)
    prevalence = client.get("/api/v1/prevalence?window=1h", headers=auth).json()
    assert prevalence["overall"]["negative"] == summary["prevalence"]["negative"]
    assert len(prevalence["windows"]) == 3

    with client.stream("GET", "/api/v1/events?ticks=1&after=0", headers=auth) as stream:
        text = b"".join(stream.iter_bytes()).decode()
    assert text.startswith("event: counters")
    assert text.count("event: post") == 50  # the newest 50 of 123, no more per second
    counters = orjson.loads(text.split("data: ", 1)[1].split("\n", 1)[0])
    assert counters["posts"] == len(posts)


def test_back_pressure_answers_429_with_retry_after_and_loses_nothing(tmp_path, classifier):
    path = tmp_path / "bp.db"
    token = setup_db(path)
    # The scorer waits up to 5 s to fill a batch, so the backlog stays put meanwhile.
    app = create_app(path, classifier, Config(max_backlog=3, max_wait=5.0))
    auth = {"Authorization": f"Bearer {token}"}
    posts = campaign_posts()
    with TestClient(app) as client:
        first = client.post("/api/v1/posts", content=ndjson(posts[:3]), headers=auth)
        assert first.status_code == 200 and first.json()["accepted"] == 3
        refused = client.post("/api/v1/posts", content=ndjson(posts[3:6]), headers=auth)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        wait_labelled(client, 3)
        later = client.post("/api/v1/posts", content=ndjson(posts[3:6]), headers=auth)
        assert later.status_code == 200 and later.json()["accepted"] == 3
    with SQLiteStore(path) as store:
        assert store.post_count() == 6


def test_pages_need_log_in_escape_posts_and_send_a_csp(served):
    client, token, _ = served
    client.post(
        "/api/v1/posts",
        content=ndjson(campaign_posts()),
        headers={"Authorization": f"Bearer {token}"},
    )
    wait_labelled(client, 123)
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/api/v1/summary").status_code == 401
    wrong = client.get("/login")
    csrf = wrong.text.split('name="csrf" value="')[1].split('"')[0]
    bad = client.post(
        "/login",
        data={"username": "mod", "password": "nope nope", "csrf": csrf},
        follow_redirects=False,
    )
    assert bad.headers["location"] == "/login?error=1"
    no_csrf = client.post(
        "/login", data={"username": "mod", "password": PASSWORD}, follow_redirects=False
    )
    assert no_csrf.status_code == 403
    login(client, "mod")
    cookie = next(c for c in client.cookies.jar if c.name == "sw_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    page = client.get("/queue")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>alert" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert (
        client.get("/queue", headers={"Accept": "application/json"}).json()["counts"]["hostile"] > 0
    )


def test_queue_actions_need_moderator_and_csrf_and_survive_a_restart(tmp_path, classifier):
    path = tmp_path / "q.db"
    token = setup_db(path)
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(path, classifier, Config(max_wait=0.05))) as client:
        client.post("/api/v1/posts", content=ndjson(campaign_posts()), headers=auth)
        wait_labelled(client, 123)
        csrf = login(client, "mod")
        queue = client.get("/api/v1/questions").json()["queue"]
        first, second = queue[0]["rowid"], queue[1]["rowid"]
        assert (
            client.post(f"/api/v1/questions/{first}/answer", json={"answer": "x"}).status_code
            == 403
        )
        headers = {"X-CSRF-Token": csrf}
        answer = "Weekdays 9 to 5 <b>and</b> Saturdays"
        ok = client.post(
            f"/api/v1/questions/{first}/answer", json={"answer": answer}, headers=headers
        )
        assert ok.status_code == 200 and ok.json()["by"] == "mod"
        # The form route works without script, with the CSRF field.
        form = client.post(f"/queue/{second}/hide", data={"csrf": csrf}, follow_redirects=False)
        assert form.status_code == 303
        assert client.post(f"/queue/{second}/pin", data={"csrf": "forged"}).status_code == 403
        assert client.post("/api/v1/questions/999999/hide", headers=headers).status_code == 404
    with TestClient(create_app(path, classifier, Config(max_wait=0.05))) as client:
        login(client, "view")
        state = client.get("/api/v1/questions").json()
        answered = {q["rowid"]: q for q in state["answered"]}
        assert answered[first]["state"]["answer"] == answer
        assert answered[first]["state"]["answered_by"] == "mod"
        assert second in {q["rowid"] for q in state["set_aside"]}
        assert first not in {q["rowid"] for q in state["queue"]}
        page = client.get("/queue").text
        assert "&lt;b&gt;and&lt;/b&gt;" in page
        viewer_csrf = page.split('name="csrf-token" content="')[1].split('"')[0]
        refused = client.post(
            f"/api/v1/questions/{second}/undo", headers={"X-CSRF-Token": viewer_csrf}
        )
        assert refused.status_code == 403
    with TestClient(create_app(path, classifier, Config(max_wait=0.05))) as client:
        csrf = login(client, "mod")
        undone = client.post(f"/api/v1/questions/{second}/undo", headers={"X-CSRF-Token": csrf})
        assert undone.json()["undone"] == "hide"
        assert second in {q["rowid"] for q in client.get("/api/v1/questions").json()["queue"]}


def test_login_is_rate_limited(served, tmp_path, classifier):
    path = tmp_path / "rl.db"
    setup_db(path)
    with TestClient(create_app(path, classifier, Config(login_rate=0.01))) as client:
        codes = []
        for _ in range(7):
            csrf = client.get("/login").text.split('name="csrf" value="')[1].split('"')[0]
            codes.append(
                client.post(
                    "/login",
                    data={"username": "mod", "password": "wrong wrong", "csrf": csrf},
                    follow_redirects=False,
                ).status_code
            )
        assert codes[:5] == [303] * 5 and codes[5:] == [429, 429]


def test_openapi_schema_lists_the_api(served):
    client, _, _ = served
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    for path in (
        "/api/v1/posts",
        "/api/v1/summary",
        "/api/v1/timeline",
        "/api/v1/prevalence",
        "/api/v1/questions",
        "/api/v1/alerts",
        "/api/v1/events",
    ):
        assert path in schema["paths"], path
    assert "post" in schema["paths"]["/api/v1/posts"]
    assert client.get("/docs").status_code == 404  # no CDN-backed Swagger UI


def test_shutdown_leaves_a_busy_threads_connection_open_and_closes_the_rest(tmp_path):
    """Closing a SQLite connection under another thread's running query can crash the
    process: the console's shutdown closes only the connections of threads that are done."""
    import sqlite3
    import threading

    from stormwatch.web.live import Stores

    stores = Stores(tmp_path / "s.db")
    mine = stores.get()
    holding, release = threading.Event(), threading.Event()
    theirs: list[SQLiteStore] = []

    def busy() -> None:
        theirs.append(stores.get())
        holding.set()
        release.wait(10)

    thread = threading.Thread(target=busy)
    thread.start()
    holding.wait(10)
    stores.close(busy=[thread])
    with pytest.raises(sqlite3.ProgrammingError):
        mine.db.execute("SELECT 1")
    assert theirs[0].db.execute("SELECT 1").fetchone() == (1,)
    release.set()
    thread.join()
    theirs[0].close()


def test_the_consoles_early_warning_runs_with_its_configured_settings(tmp_path, classifier):
    from stormwatch.core.warning import WarningConfig, with_settings

    posts = ndjson(campaign_posts())
    raised = {}
    for name, warning in (
        ("shipped", None),
        # The campaign lasts two hours, shorter than the six the shipped detector learns from.
        ("quick", with_settings(WarningConfig(), ["learn_minutes=30"])),
    ):
        path = tmp_path / f"{name}.db"
        token = setup_db(path)
        auth = {"Authorization": f"Bearer {token}"}
        app = create_app(path, classifier, Config(max_wait=0.05, warning=warning))
        with TestClient(app) as client:
            assert client.post("/api/v1/posts", content=posts, headers=auth).status_code == 200
            wait_labelled(client, len(campaign_posts()))
            history = client.get("/api/v1/alerts", headers=auth).json()["history"]
            raised[name] = {a["level"] for a in history}
    assert raised["shipped"] == set()
    assert {"warning", "critical"} <= raised["quick"]


def test_an_oversized_upload_is_refused_whether_its_length_is_declared_or_not(served):
    from stormwatch.web.app import MAX_BODY

    client, token, path = served
    auth = {"Authorization": f"Bearer {token}"}
    line = ndjson(campaign_posts()[:1])
    big = line * (MAX_BODY // len(line) + 1)
    assert len(big) > MAX_BODY
    declared = client.post("/api/v1/posts", content=big, headers=auth)
    assert declared.status_code == 413 and "16 MiB" in declared.json()["error"]

    def chunks():  # no Content-Length: sent chunked, refused once past the limit
        for start in range(0, len(big), 1 << 20):
            yield big[start : start + (1 << 20)]

    streamed = client.post("/api/v1/posts", content=chunks(), headers=auth)
    assert streamed.status_code == 413
    with SQLiteStore(path) as store:
        assert store.post_count() == 0
    # Under the limit, the same post is taken.
    assert client.post("/api/v1/posts", content=line, headers=auth).json()["accepted"] == 1


def test_an_endless_upload_is_cut_off_at_the_limit_not_read_whole():
    import asyncio

    from fastapi import HTTPException
    from starlette.requests import Request

    from stormwatch.web.app import _bounded_body

    pulled = []

    async def receive():  # a chunked upload that never ends
        pulled.append(1 << 16)
        return {"type": "http.request", "body": b"x" * (1 << 16), "more_body": True}

    request = Request({"type": "http", "method": "POST", "headers": []}, receive)
    with pytest.raises(HTTPException) as refused:
        asyncio.run(_bounded_body(request, limit=1 << 20))
    assert refused.value.status_code == 413
    assert sum(pulled) <= (1 << 20) + (1 << 16)
