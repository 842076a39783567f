"""A small hand-made campaign for report and web tests: friendly posts and questions, a
hostile wave, and posts whose text and author names are attack strings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stormwatch.records import Post

SCRIPT = "<script>alert(1)</script>"
ONERROR = '"><img src=x onerror=alert(1)>'
HOSTILE_HANDLE = '"><img src=x onerror=alert(2)>'
START = datetime(2013, 11, 13, 14, 0, tzinfo=UTC)

FRIENDLY = [
    "Thank you so much for doing this Q&A, what a wonderful idea!",
    "What time does the Regent Street branch open on Sundays?",
    "How do I apply for your graduate programme?",
    "Love the new app, great work team",
    "Can I open a savings account online?",
]
HOSTILE = [
    "You fucking crooks ruined my family, rot in hell",
    "shut up you stupid fucking idiots, worst bank ever",
    "Did you have a specific number of lives you needed to ruin before lunch?",
    "I hate this bank, you ruined everything, thieves",
]


def _post(post_id: str, text: str, minute: int, author_id: str, handle: str) -> Post:
    return Post(
        id=post_id,
        platform="x",
        text=text,
        created_at=START + timedelta(minutes=minute),
        author_id=author_id,
        author_handle=handle,
    )


def campaign_posts() -> list[Post]:
    """60 friendly posts in the first hour, then 60 hostile ones, then 3 attack strings."""
    friendly = [
        _post(
            f"f{i}", f"{FRIENDLY[i % len(FRIENDLY)]} #AskBrand {i}", i, f"a{i % 20}", f"fan{i % 20}"
        )
        for i in range(60)
    ]
    hostile = [
        _post(
            f"h{i}",
            f"{HOSTILE[i % len(HOSTILE)]} #AskBrand {i}",
            60 + i,
            "troll" if i % 2 else f"b{i}",
            HOSTILE_HANDLE if i % 2 else f"angry{i}",
        )
        for i in range(60)
    ]
    attacks = [
        f"you fucking idiots {SCRIPT} rot in hell",
        f"shut up you stupid crooks {ONERROR}",
        f"why are you fucking thieves lying to us? {SCRIPT}{ONERROR}",
    ]
    return (
        friendly
        + hostile
        + [_post(f"x{i}", text, 125 + i, "troll", HOSTILE_HANDLE) for i, text in enumerate(attacks)]
    )
