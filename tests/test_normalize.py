from stormwatch.core.normalize import normalize, unescape


def test_users_links_elongations_hashtags_and_entities():
    text = "@JPMorgan Soooooo   GREAT!!!!! see https://t.co/x #BuildThatWall &amp; more"
    assert normalize(text) == "@user sooo great!!! see http #build that wall & more"


def test_literal_escapes_including_surrogate_pairs():
    assert unescape("don\\u2019t") == "don’t"
    assert unescape("lol \\ud83d\\ude02") == "lol 😂"
    assert unescape("broken \\ud83d only") == "broken \ufffd only"
    assert unescape("plain") == "plain"
