"""The Mastodon hashtag connector (SSE and WebSocket) against a fake instance."""

from __future__ import annotations

import threading

import pytest

from live_sources import FakeClock, RecordingSink
from stormwatch.fakes.mastodon import FakeMastodon
from stormwatch.sources.credentials import Secret
from stormwatch.sources.mastodon_stream import MastodonStream, link_url

SCRIPTS = [
    [
        ("send", 4),
        ("heartbeat",),
        ("repeat",),
        ("malformed",),
        ("delete", 1),
        ("edit", 2),
        ("send", 2),
        ("cut",),
    ],
    [("status", 503, 7)],
    [("publish", 6), ("send", 1), ("silent", 1.0)],
    [("send", 2), ("close",)],
]


def _run(fake: FakeMastodon, transport: str, sessions: int) -> tuple[MastodonStream, RecordingSink]:
    source = MastodonStream(
        fake.url,
        "#AskX",
        Secret("masto-token-xyz"),
        transport=transport,
        streaming=fake.ws_url if transport == "websocket" else None,
        stall_s=0.5,
        clock=FakeClock(),
    )
    sink = RecordingSink()
    source.run(sink, threading.Event(), max_sessions=sessions)
    return source, sink


@pytest.mark.parametrize("transport", ["sse", "websocket"])
def test_every_status_stored_once_with_deletes_edits_and_gaps(transport):
    with FakeMastodon([list(s) for s in SCRIPTS]) as fake:
        source, sink = _run(fake, transport, sessions=4)
    uris = {s["uri"] for s in fake.statuses}
    assert len(uris) == 4 + 2 + 1 + 6 + 1 + 2
    assert set(sink.stored) == uris  # the cut one and the six published came by backfill
    assert source.health.backfilled >= 7
    # the deletion names the instance-local id; the source maps it to the stored uri
    assert ("deleted", [fake.statuses[1]["uri"]]) in sink.events
    assert ("edited", ["edited: what is your plan? #AskX"]) in sink.events
    [reject] = sink.rejects
    assert reject.kind == "malformed" and '"content"' in reject.raw
    kinds = [k for k, _ in source.waits]
    waits = [w for _, w in source.waits]
    # a refused WebSocket upgrade is an HTTP error too
    assert kinds == ["network", "http", "network", "network"]
    assert waits == [0.25, 7.0, 0.25, 0.25]  # 503's Retry-After (7 s) beat the 5 s start
    assert all(a == "Bearer masto-token-xyz" for a in fake.auth if a)


def test_websocket_subscribes_to_the_hashtag_stream():
    with FakeMastodon([[("send", 1), ("close",)]]) as fake:
        _run(fake, "websocket", sessions=1)
    assert fake.subscriptions == [{"type": "subscribe", "stream": "hashtag", "tag": "AskX"}]


def test_link_header_relations():
    header = '<https://a/x?max_id=5>; rel="next", <https://a/x?min_id=9>; rel="prev"'
    assert link_url(header, "prev") == "https://a/x?min_id=9"
    assert link_url(header, "next") == "https://a/x?max_id=5"
    assert link_url(None, "prev") is None
