"""The X filtered-stream connector against a fake X that misbehaves on purpose."""

from __future__ import annotations

import threading

import pytest

from live_sources import FakeClock, RecordingSink
from stormwatch.fakes.x import FakeX
from stormwatch.sources.credentials import Secret
from stormwatch.sources.x_stream import XStream


def _run(fake: FakeX, sessions: int, **kwargs) -> tuple[XStream, RecordingSink, FakeClock]:
    clock = FakeClock()
    source = XStream(
        ["#AskX -is:retweet"],
        Secret("bearer-secret-123"),
        api=fake.url,
        stall_s=0.5,
        clock=clock,
        **kwargs,
    )
    sink = RecordingSink()
    stop = threading.Event()
    source.run(sink, stop, max_sessions=sessions)
    return source, sink, clock


def test_every_tweet_stored_once_through_drops_silence_errors_and_repeats():
    scripts = [
        [("send", 5), ("keepalive",), ("repeat",), ("malformed",), ("send", 3), ("cut",)],
        [("status", 503, None)],
        [("status", 429, 2)],
        [("publish", 4), ("send", 2), ("silent", 1.0)],
        [("send", 3), ("close",)],
    ]
    with FakeX(scripts) as fake:
        source, sink, clock = _run(fake, sessions=5)
    created = [t["data"]["id"] for t in fake.tweets]
    # the tweet cut mid-line and the four published while away came back through search
    assert set(sink.stored) == set(created)
    assert len(created) == 5 + 3 + 1 + 4 + 2 + 3
    assert source.health.backfilled >= 5
    # the malformed line is kept with its line number, never dropped silently
    [reject] = sink.rejects
    assert reject.kind == "malformed" and reject.line == 8 and '"text"' in reject.raw
    assert source.health.dropped["malformed"] == 1
    assert source.health.dropped["line cut off by a disconnect (recovered by backfill)"] == 1
    # back-off as X documents: network linear from 250 ms, HTTP exponential from 5 s,
    # 429 from 60 s; a connection that delivers resets the count
    assert [(k, w) for k, w in source.waits] == [
        ("network", 0.25),  # cut mid-line
        ("http", 5.0),  # 503
        ("rate_limit", 60.0),  # 429 (its Retry-After of 2 s is shorter)
        ("network", 0.25),  # went silent: stalled
        ("network", 0.25),  # clean close
    ]
    assert clock.sleeps == [w for _, w in source.waits]


def test_rules_are_synced_without_touching_other_tools_rules():
    with FakeX([[("close",)]]) as fake:
        fake.rules.append({"id": "901", "value": "#Old", "tag": "stormwatch:0"})
        _run(fake, sessions=1)
        values = {(r["value"], r["tag"]) for r in fake.rules}
    assert ("#AskX -is:retweet", "stormwatch:0") in values
    assert ("other tool", "x") in values  # not ours: left alone
    assert ("#Old", "stormwatch:0") not in values


def test_backoff_grows_and_caps_as_documented():
    from stormwatch.sources.backoff import Backoff

    b = Backoff()
    assert [b.delay("network") for _ in range(70)][-1] == 16.0
    b.reset()
    assert [b.delay("http") for _ in range(8)] == [5, 10, 20, 40, 80, 160, 320, 320]
    b.reset()
    assert [b.delay("rate_limit") for _ in range(3)] == [60, 120, 240]
    assert b.delay("rate_limit", retry_after=900) == 900


def test_restart_resumes_from_the_stored_cursor_through_search():
    with FakeX([[("send", 3), ("close",)], [("publish", 25), ("close",)]]) as fake:
        first, _, _ = _run(fake, sessions=1)
        cursor = first.cursor
        clock = FakeClock()
        again = XStream(["#AskX"], Secret("t0ken-abc"), api=fake.url, stall_s=0.5, clock=clock)
        again.cursor = cursor  # as `listen` restores it from the store
        sink2 = RecordingSink()
        again.run(sink2, threading.Event(), max_sessions=1)
    assert len(sink2.stored) == 25  # paged (10 per page) from the cursor, none before it
    assert sink2.cursors[-1][1] == fake.tweets[-1]["data"]["id"]
    # while the gap was being filled, the committed cursor stayed at its start
    assert all(c == cursor for _, c in sink2.cursors[:-1])


def test_bad_credentials_stop_the_source_with_a_redacted_error():
    with FakeX([]) as fake:
        fake.http.routes[("GET", "/2/tweets/search/stream/rules")] = lambda req: req.reply(
            401, {"title": "Unauthorized", "detail": "token bearer-secret-123 invalid"}
        )
        source, _, _ = _run(fake, sessions=3)
    assert source.health.state == "failed"
    assert "bearer-secret-123" not in (source.health.last_error or "")
    assert "***" in (source.health.last_error or "")


@pytest.mark.parametrize("n", [0])
def test_authorization_header_carries_the_bearer(n):
    with FakeX([[("close",)]]) as fake:
        _run(fake, sessions=1)
    assert fake.auth and all(a == "Bearer bearer-secret-123" for a in fake.auth)


def test_backfill_waits_for_the_rate_limit_reset_x_names():
    with FakeX(
        [[("send", 2), ("close",)], [("publish", 30), ("close",)]], search_rate_limit_after=1
    ) as fake:
        first, _, _ = _run(fake, sessions=1)
        clock = FakeClock(start=__import__("time").time())
        again = XStream(["#AskX"], Secret("t0ken-abc"), api=fake.url, stall_s=0.5, clock=clock)
        again.cursor = first.cursor
        sink = RecordingSink()
        again.run(sink, threading.Event(), max_sessions=1)
    assert len(sink.stored) == 30
    # after the first page, x-rate-limit-remaining was 0: it waited until the reset (~30 s)
    rate_waits = [s for s in clock.sleeps if s > 20]
    assert rate_waits and all(s <= 32 for s in rate_waits)


def test_a_line_too_long_to_hold_is_skipped_as_it_streams_and_counted():
    from stormwatch.sources.sse import MAX_LINE, OVERSIZED

    scripts = [[("send", 2), ("huge", MAX_LINE + (1 << 20)), ("send", 2), ("close",)]]
    with FakeX(scripts) as fake:
        source, sink, _ = _run(fake, sessions=1, backfill=False)
    assert sorted(sink.stored) == sorted(t["data"]["id"] for t in fake.tweets)
    assert len(sink.stored) == 4 and not sink.rejects
    assert source.health.dropped[OVERSIZED] == 1 and "4 MiB" in OVERSIZED


def test_the_line_splitter_and_event_parser_never_hold_more_than_their_limit():
    from stormwatch.sources.sse import LineSplitter, SSEParser

    splitter = LineSplitter(max_line=100)
    lines = []
    for chunk in [b"ok\r\nbeg", b"x" * 60, b"x" * 60, b"x" * 60, b"xx\nafter\n"]:
        lines += splitter.feed(chunk)
        assert len(splitter.pending) <= 100
    assert lines == [b"ok", b"after"] and splitter.take_oversized() == 1
    assert splitter.take_oversized() == 0
    parser = SSEParser(max_event=50)
    feed = ["data: " + "y" * 40, "data: " + "y" * 40, "data: more", "", "data: fine", ""]
    events = [e for line in feed for e in parser.feed(line)]
    assert [e.data for e in events] == ["fine"] and parser.take_oversized() == 1


def test_a_search_answer_too_big_to_hold_is_refused_and_retried_later():
    from stormwatch.sources.live import MAX_ANSWER

    scripts = [[("send", 1), ("cut",)], [("send", 1), ("close",)]]
    with FakeX(scripts, search_padding=MAX_ANSWER + 1) as fake:
        source, sink, _ = _run(fake, sessions=2)
    # The tweet cut mid-line is not back: its search answer was refused, not read whole.
    assert len(sink.stored) == 1 and len(fake.tweets) == 3
    assert ("http", 5.0) in source.waits
    assert "answer over 16 MiB" in str(source.health.snapshot(0.0))
