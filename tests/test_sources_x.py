from datetime import UTC, datetime

from conftest import FIXTURES, read_all


def test_v2_page_resolves_expanded_authors_and_references():
    posts, rejects = read_all(FIXTURES / "x_v2_page.json")
    assert rejects == []
    assert [p.id for p in posts] == [
        "1460323737035677698",
        "1460323737035677699",
        "1460323737035677700",
    ]
    first, retweet, reply = posts
    assert first.platform == "x"
    assert first.author_handle == "critic"
    assert first.author_followers == 17
    assert first.author_created_at == datetime(2013, 11, 10, 10, tzinfo=UTC)
    assert first.created_at == datetime(2013, 11, 13, 19, 5, 12, tzinfo=UTC)
    assert first.hashtags == ("AskJPM",)
    assert first.urls == ("https://example.org/story",)
    assert first.like_count == 40 and first.repost_count == 12
    assert first.lang == "en"
    # A retweet is amplification of the original, and carries the original's full text.
    assert retweet.repost_of == "1460323737035677698"
    assert retweet.text.startswith("Will you ever answer")
    assert retweet.author_handle == "someone"
    assert reply.reply_to == "1460323737035677698"
    assert reply.quote_of == "1460000000000000001"
    assert reply.mentions == ("critic", "JPMorgan")


def test_v2_stream_lines_note_tweets_and_bare_objects():
    posts, rejects = read_all(FIXTURES / "x_v2_stream.jsonl")
    assert rejects == []
    assert [p.author_handle for p in posts] == ["alice", "bob", None]
    assert posts[1].text.endswith("in full #AskJPM")  # note_tweet text wins over truncated
    assert posts[2].id == "1500000000000000003"
    assert posts[2].hashtags == ("AskJPM",)  # found in text when no entities are given
    assert posts[0].raw is not None and '"matching_rules"' in posts[0].raw


def test_v1_statuses_extended_retweet_quote_and_delete_notice():
    posts, rejects = read_all(FIXTURES / "x_v1.jsonl")
    assert [p.id for p in posts] == [
        "400000000000000001",
        "400000000000000002",
        "400000000000000003",
    ]
    long, retweet, quote = posts
    assert long.text.startswith("The full extended text")
    assert long.hashtags == ("AskJPM",) and long.mentions == ("JPMorgan",)
    assert long.urls == ("https://example.com/a",)
    assert long.created_at == datetime(2013, 11, 13, 20, 19, 24, tzinfo=UTC)
    assert long.author_created_at == datetime(2009, 1, 5, 10, tzinfo=UTC)
    assert long.author_followers == 300 and long.like_count == 5
    assert retweet.repost_of == "400000000000000001"
    assert retweet.text == long.text
    assert quote.quote_of == "400000000000000001"
    assert quote.reply_to == "399999999999999999"
    assert [(r.line, r.kind) for r in rejects] == [(4, "skipped")]
    assert "delete" in rejects[0].reason


def test_twitter_archive_js_file():
    posts, rejects = read_all(FIXTURES / "twitter_archive_tweets.js")
    assert rejects == []
    assert [p.text for p in posts] == ["My own archived tweet #AskJPM", "Another one"]
    assert posts[0].like_count == 3
    assert posts[0].created_at == datetime(2013, 11, 14, 9, tzinfo=UTC)
