"""The shipped fast-tier artifact, loaded as users load it (no training, no PyTorch)."""

import sys

import numpy as np
import pytest

from conftest import assert_clear_cases
from stormwatch.models import artifact_dir, load_classifier
from stormwatch.models.artifact import digest, read_config


@pytest.fixture(scope="module")
def fast():
    return load_classifier("fast")


def test_artifact_is_complete_small_and_matches_its_recorded_digests(fast):
    folder = artifact_dir("fast")
    config = read_config(folder)
    for name, sha in config["files"].items():
        assert digest(folder / name) == sha
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    assert size < 30 * 1024 * 1024
    assert (folder / "MODEL_CARD.md").is_file()
    assert "torch" not in sys.modules


def test_probabilities_are_well_formed_for_every_task(fast):
    proba = fast.predict_proba(["hello", "", "🙂🙂🙂", "x" * 5000])
    assert proba.shape == (4, fast.layout.width) and proba.dtype == np.float32
    for block in fast.layout.slices().values():
        np.testing.assert_allclose(proba[:, block].sum(axis=1), 1.0, rtol=1e-4)


def test_clear_cases(fast):
    assert_clear_cases(fast)


def test_validation_predictions_shipped_for_every_task(fast):
    from stormwatch.models.artifact import read_npz

    arrays = read_npz(artifact_dir("fast") / "validation.npz")
    for task in fast.layout.tasks:
        proba, labels = arrays[f"{task.name}.proba"], arrays[f"{task.name}.labels"]
        assert proba.shape == (len(labels), len(task.classes))
        assert set(np.unique(labels)) <= set(range(len(task.classes)))


def test_threaded_halves_equal_single_pass(fast):
    texts = [f"post {i} about #AskBrand, is it {i % 7} or not?" for i in range(1500)]
    threaded = fast.logits(texts)
    single = fast._logits(texts)
    np.testing.assert_allclose(threaded, single, rtol=0, atol=1e-6)
    assert threaded.shape == (1500, fast.layout.width)
    # A post's labels do not depend on its batch (up to float32 rounding: BLAS sums the
    # second-stage product in another order for one row than for many).
    np.testing.assert_allclose(
        fast.predict_proba(texts[:700])[5], fast.predict_proba(texts[5:6])[0], rtol=0, atol=1e-6
    )


def test_the_question_heads_isotonic_map_is_applied_after_temperature(fast):
    from stormwatch.core.calibration import Calibration, apply_scaling

    entry = next(t for t in fast.config["tasks"] if t["name"] == "question")
    texts = ["Why?", "Is it true", "great day", "what time does it open?", "so... who knew"]
    logits = fast.logits(texts)[:, fast.layout.slices()["question"]]
    proba = fast.predict_proba(texts)[:, fast.layout.slices()["question"]]
    scaled = apply_scaling(logits, entry["temperature"], np.asarray(entry["calibration_bias"]))
    expected = np.interp(scaled[:, 1], entry["isotonic"]["x"], entry["isotonic"]["y"])
    np.testing.assert_allclose(proba[:, 1], expected, atol=1e-6)
    np.testing.assert_allclose(proba, Calibration.from_config(entry).apply(logits), atol=1e-6)
    assert np.abs(proba[:, 1] - scaled[:, 1]).max() > 0.01  # the map does move them
