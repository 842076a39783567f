import numpy as np
import pytest

from stormwatch.core.labels import Layout, Task, hard_labels, labels_record, shares

LAYOUT = Layout(
    (
        Task("sentiment", ("negative", "neutral", "positive")),
        Task("offensive", ("not_offensive", "offensive")),
    )
)


def test_layout_slices_labels_and_json_round_trip():
    assert LAYOUT.width == 5
    assert LAYOUT.slices() == {"sentiment": slice(0, 3), "offensive": slice(3, 5)}
    assert LAYOUT.labels == ("negative", "neutral", "positive", "offensive")
    assert Layout.from_json(LAYOUT.to_json()) == LAYOUT
    with pytest.raises(ValueError, match="unique"):
        Layout((Task("a", ("x", "y")), Task("b", ("z", "y"))))


def test_hard_labels_and_shares():
    proba = np.array(
        [
            [0.6, 0.3, 0.1, 0.2, 0.8],
            [0.1, 0.2, 0.7, 0.5, 0.5],
            [0.2, 0.5, 0.3, 0.9, 0.1],
            [0.5, 0.4, 0.1, 0.6, 0.4],
        ],
        dtype=np.float32,
    )
    flags = hard_labels(proba, LAYOUT)
    assert flags["negative"].tolist() == [True, False, False, True]
    assert flags["offensive"].tolist() == [True, False, False, False]  # a tie is not offensive
    assert shares(proba, LAYOUT) == {
        "negative": 0.5,
        "neutral": 0.25,
        "positive": 0.25,
        "offensive": 0.25,
    }
    assert shares(proba[:0], LAYOUT)["negative"] == 0.0


def test_labels_record_export_shape():
    record = labels_record(np.array([0.6, 0.3, 0.1, 0.25, 0.75], np.float32), LAYOUT)
    assert record == {
        "sentiment": {"negative": 0.6, "neutral": 0.3, "positive": 0.1},
        "offensive": 0.75,
    }


def test_decision_weights_change_hard_labels_not_probabilities():
    balanced = Layout((Task("offensive", ("not_offensive", "offensive"), (1.0, 3.0)),))
    proba = np.array([[0.7, 0.3], [0.8, 0.2], [0.4, 0.6]], dtype=np.float32)
    assert hard_labels(proba, balanced)["offensive"].tolist() == [True, False, True]
    assert Layout.from_json(balanced.to_json()) == balanced
    assert "decision" not in LAYOUT.to_json()["tasks"][0]
