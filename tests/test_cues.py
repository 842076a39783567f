from stormwatch.core.cues import CUE_NAMES, question_cues
from stormwatch.core.normalize import normalize_all


def test_cues_read_position_and_ending():
    texts = normalize_all(["@Brand When will my refund arrive?", "Love this!!!", "is it me? lol"])
    cues = dict(zip(CUE_NAMES, question_cues(texts).T, strict=True))
    assert cues["starts_wh"].tolist() == [1, 0, 0]
    assert cues["addressed"].tolist() == [1, 0, 0]
    assert cues["ends_question"].tolist() == [1, 0, 0]
    assert cues["starts_aux"].tolist() == [0, 0, 1]
    assert cues["exclamations"][1] == 1.0
    assert question_cues([]).shape == (0, len(CUE_NAMES))


def test_whole_word_finds_what_the_plain_pattern_finds():
    import re

    from stormwatch.core.cues import HELP_WORDS, YOU_WORDS, whole_word

    texts = [
        "you",
        "thank u!",
        "urgent",
        "ur late",
        "y'all ok?",
        "yall",
        "yours truly",
        "#you",
        "you'll see",
        "bayou",
        "pls help",
        "helpful",
        "plzz",
        "advice?",
        "_please",
        "recommendations",
        "u",
        "",
    ]
    for words in (YOU_WORDS, HELP_WORDS):
        plain = re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b")
        fast = whole_word(words)
        assert [bool(fast.search(t)) for t in texts] == [bool(plain.search(t)) for t in texts]
    assert sum(bool(whole_word(YOU_WORDS).search(t)) for t in texts) == 8
