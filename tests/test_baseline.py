"""The real baseline models (VADER, alt-profanity-check), not stand-ins."""

import numpy as np

from stormwatch.core.labels import hard_labels
from stormwatch.models import load_classifier


def test_baseline_labels_obvious_cases():
    clf = load_classifier("baseline")
    texts = [
        "I hate this bank, worst and most disgusting company ever",
        "Thank you so much, this is wonderful and I love it!",
        "The meeting is at 3pm in room 4",
        "you are a fucking idiot",
        "How do I open a savings account?",
        "why would anyone trust you",
    ]
    proba = clf.predict_proba(texts)
    assert proba.shape == (6, clf.layout.width) and proba.dtype == np.float32
    for block in clf.layout.slices().values():
        np.testing.assert_allclose(proba[:, block].sum(axis=1), 1.0, rtol=1e-5)
    flags = hard_labels(proba, clf.layout)
    assert flags["negative"].tolist()[:3] == [True, False, False]
    assert flags["positive"].tolist()[:3] == [False, True, False]
    assert flags["neutral"][2]
    assert flags["offensive"][3]
    assert not flags["offensive"][[1, 2, 4]].any()
    assert flags["question"].tolist() == [False, False, False, False, True, True]
    assert clf.predict_proba([]).shape == (0, clf.layout.width)
