from datetime import UTC, datetime

from conftest import FIXTURES, read_all


def test_mastodon_html_to_text_reblogs_and_escaped_script():
    posts, rejects = read_all(FIXTURES / "mastodon_statuses.json")
    assert rejects == []
    status, boost, hostile = posts
    assert status.platform == "mastodon"
    assert status.id == "https://mastodon.social/users/Gargron/statuses/103270115826048975"
    assert status.text == (
        "Why did the bank get bailed out? #AskBank\nSecond line & more\n\n"
        "New paragraph https://example.org/long/path"
    )
    assert status.hashtags == ("askbank",)
    assert status.urls == ("https://example.org/long/path",)
    assert status.author_handle == "Gargron" and status.author_name == "Eugen 💀"
    assert status.author_followers == 322930
    assert status.created_at == datetime(2019, 12, 8, 3, 48, 33, 901000, tzinfo=UTC)
    assert boost.repost_of == status.id
    assert boost.text == "Why did the bank get bailed out? #AskBank"
    assert boost.author_handle == "bob@example.social"
    # Entity-escaped markup stays text: never turned back into a tag.
    assert hostile.text == "bank rant\n\n<script>alert(1)</script> @Gargron answer us"
    assert hostile.reply_to == "103270115826048975"
    assert hostile.mentions == ("Gargron",)


def test_bluesky_jetstream_posts_reposts_and_non_posts():
    posts, rejects = read_all(FIXTURES / "bluesky_jetstream.jsonl")
    uri = "at://did:plc:eygmaihciaxprqvxpfvl6flk/app.bsky.feed.post/3l3qo2vuowo2b"
    assert [p.id for p in posts] == [
        uri,
        "at://did:plc:repostr/app.bsky.feed.repost/3l3rp1",
        "at://did:plc:quoter/app.bsky.feed.post/3l3q1",
    ]
    post, repost, quote = posts
    assert post.platform == "bluesky"
    assert post.hashtags == ("AskBrand",)
    assert post.reply_to == "at://did:plc:abc/app.bsky.feed.post/3l3parent"
    assert post.author_id == "did:plc:eygmaihciaxprqvxpfvl6flk"
    assert post.lang == "en"
    assert post.created_at == datetime(2024, 9, 9, 19, 46, 2, 102000, tzinfo=UTC)
    assert repost.repost_of == uri and repost.text == ""
    assert quote.quote_of == uri
    assert quote.hashtags == ("campaign", "askbrand")  # record.tags, then text (no facets)
    assert [(r.line, r.kind) for r in rejects] == [(3, "skipped"), (4, "skipped"), (5, "skipped")]
    assert "delete" in rejects[0].reason
    assert "identity" in rejects[1].reason
    assert "app.bsky.feed.like" in rejects[2].reason


def test_bluesky_search_page_post_views():
    posts, rejects = read_all(FIXTURES / "bluesky_search.json")
    assert rejects == []
    assert [p.author_handle for p in posts] == ["bsky.app", "other.bsky.social"]
    assert posts[0].like_count == 21 and posts[0].repost_count == 7
    assert posts[0].author_created_at == datetime(2023, 4, 12, 4, 53, 57, 57000, tzinfo=UTC)
    assert posts[1].urls == ("https://example.com",)
    assert posts[1].hashtags == ("AskBrand",)
