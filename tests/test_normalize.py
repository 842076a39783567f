from stormwatch.core.normalize import normalize, unescape


def test_users_links_elongations_hashtags_and_entities():
    text = "@JPMorgan Soooooo   GREAT!!!!! see https://t.co/x #BuildThatWall &amp; more"
    assert normalize(text) == "@user sooo great!!! see http #build that wall & more"


def test_literal_escapes_including_surrogate_pairs():
    assert unescape("don\\u2019t") == "don’t"
    assert unescape("lol \\ud83d\\ude02") == "lol 😂"
    assert unescape("broken \\ud83d only") == "broken \ufffd only"
    assert unescape("plain") == "plain"


def test_a_batch_reads_exactly_as_its_posts_one_by_one(monkeypatch):
    """normalize_all joins the batch and works on it at once: no post may bleed into the
    next, whatever it contains (separators, entities or escapes that spell one, runs)."""
    from stormwatch.core.normalize import normalize_all

    texts = [
        "",
        "",
        "",
        "",
        "   ",
        "\n\n\n\n\n",
        "aaaa",
        "aaaa",
        "ends with a link www.example.com/x",
        "lt; starts like an entity",
        "ends like an entity &amp",
        "&notin; &no &#64976; spells the separator",
        "escaped separator \\ufdd0 and \\ud83d\\ude02 and a lone \\ud83d half",
        "contains the separator \ufdd0 itself",
        "😂😂😂😂😂 !!!!!!  \t  ....",
        "ΟΔΟΣ İstanbul",
        "a@b @b x@ @@c",
        "#AskJPM #abc123 #ABCDef #lower #ÉTÉ",
        "  leading and trailing  ",
        "ok",
    ]
    expected = [normalize(t) for t in texts]
    assert normalize_all(texts) == expected
    assert normalize_all(texts[::-1]) == expected[::-1]
    spelled = {11, 12, 13}  # these make the batch fall back to one post at a time
    plain = [t for i, t in enumerate(texts) if i not in spelled]
    plain_expected = [e for i, e in enumerate(expected) if i not in spelled]
    monkeypatch.setattr("stormwatch.core.normalize.normalize", _no_fallback)
    assert normalize_all(plain) == plain_expected
    monkeypatch.undo()
    every_separator = "".join(chr(c) for c in range(0xFDD0, 0xFDF0))
    assert normalize_all(["x " + every_separator, "Soooo"]) == [
        normalize("x " + every_separator),
        "sooo",
    ]
    assert normalize_all([]) == []


def _no_fallback(text: str) -> str:
    raise AssertionError("the batch path fell back to one post at a time")
