"""The Bluesky Jetstream connector: hashtag filtering, cursor resume, misbehaviour."""

from __future__ import annotations

import threading

from live_sources import FakeClock, RecordingSink
from stormwatch.fakes.jetstream import FakeJetstream
from stormwatch.sources.jetstream import REWIND_US, Jetstream


def _source(fake: FakeJetstream, clock: FakeClock | None = None) -> Jetstream:
    return Jetstream(["#askx"], url=fake.url, stall_s=0.5, flush_s=0.05, clock=clock or FakeClock())


def test_filters_resumes_from_the_cursor_and_misses_nothing():
    scripts = [
        [
            ("send", 5),
            ("noise", 7),
            ("facet", 2),
            ("identity",),
            ("malformed",),
            ("repeat",),
            ("publish", 4),
            ("drop",),
        ],  # four made but never sent before the drop
        [("send", 3), ("delete", 0), ("update", 1), ("close",)],
    ]
    with FakeJetstream(scripts) as fake:
        source = _source(fake)
        sink = RecordingSink()
        stop = threading.Event()
        source.run(sink, stop, max_sessions=2)
    assert set(sink.stored) == set(fake.posts)  # tagged ones only, the away ones included
    assert len(fake.posts) == 5 + 2 + 4 + 3
    # the fake's events are 1 ms apart, so the 5 s rewind re-reads the first connection's
    # events: skips are counted per read, and re-read posts are handed over again (the store
    # keeps them once)
    assert source.health.dropped["not tagged"] == 14
    assert source.health.dropped["not a post (identity/account event)"] == 1
    assert [r.kind for r in sink.rejects] == ["malformed"]  # neither is kept in the log
    # the second connection resumed from the last event read, rewound a few seconds
    assert fake.cursors[0] is None
    last_of_first = fake.log[5 + 7 + 2 - 1]["time_us"]  # the last event read (then repeated)
    assert fake.cursors[1] == last_of_first - REWIND_US
    assert ("deleted", [fake.posts[0]]) in sink.events
    assert ("edited", ["edited: when? #AskX"]) in sink.events
    assert "wantedCollections=app.bsky.feed.post" in fake.paths[0]
    assert source.waits[0] == ("network", 0.25)


def test_cursor_moves_on_through_unmatched_events():
    with FakeJetstream([[("noise", 20), ("close",)]]) as fake:
        source = _source(fake)
        sink = RecordingSink()
        source.run(sink, threading.Event(), max_sessions=1)
    assert not sink.stored
    assert sink.cursors and sink.cursors[-1][1] == str(fake.log[-1]["time_us"])
