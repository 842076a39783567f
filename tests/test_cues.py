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
