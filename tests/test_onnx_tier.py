"""The shipped accurate-tier artifact through onnxruntime + tokenizers (never PyTorch)."""

import sys

import numpy as np
import pytest

from conftest import assert_clear_cases
from stormwatch.models import artifact_dir, load_classifier
from stormwatch.models.artifact import digest, read_config


@pytest.fixture(scope="module")
def accurate():
    return load_classifier("accurate")


def test_artifact_matches_its_digests_and_needs_no_torch(accurate):
    folder = artifact_dir("accurate")
    for name, sha in read_config(folder)["files"].items():
        assert digest(folder / name) == sha
    assert "torch" not in sys.modules


def test_probabilities_well_formed_and_batching_does_not_change_them(accurate):
    texts = ["short", "a much longer post " * 20, "", "why won't you answer? #AskBrand"]
    together = accurate.predict_proba(texts)
    alone = np.vstack([accurate.predict_proba([t]) for t in texts])
    # Padding must not leak. Integer arithmetic rounds each token's activations, and a
    # different padded width can tip a few roundings (up to ~1.3e-4 seen); a leak moves
    # probabilities by far more.
    np.testing.assert_allclose(together, alone, atol=1e-3)
    for block in accurate.layout.slices().values():
        np.testing.assert_allclose(together[:, block].sum(axis=1), 1.0, rtol=1e-4)


def test_a_posts_probabilities_do_not_depend_on_its_batch_mates(accurate):
    """The graph multiplies in int8 with a scale per token (training/int8_rows.py); a scale
    per batch, as quantize_dynamic picks, moved probabilities by ~0.02 with the batch."""
    from stormwatch.datasets import load_split
    from stormwatch.settings import data_dir

    texts = load_split(data_dir(), "offensive", "test")[0][:120]
    mixed = accurate.logits(texts, batch=64)
    other = accurate.logits(texts[::-1], batch=8)[::-1]
    probabilities = accurate.calibrate(mixed), accurate.calibrate(other)
    assert np.abs(probabilities[0] - probabilities[1]).max() < 2e-3


def test_clear_cases(accurate):
    assert_clear_cases(accurate)


def test_analyze_with_the_accurate_tier(tmp_path):
    import orjson
    from click.testing import CliRunner

    from conftest import FIXTURES
    from stormwatch.cli import main

    result = CliRunner().invoke(
        main,
        [
            "analyze",
            str(FIXTURES / "x_v2_page.json"),
            "--db",
            str(tmp_path / "a.db"),
            "--tier",
            "accurate",
            "--json",
        ],
    )
    summary = orjson.loads(result.stdout)
    assert summary["model"]["name"] == "accurate" and summary["labelled"] == 2
    # The method measured best for the tier (eval quantify --save) is the one used.
    from stormwatch.models import artifact_dir
    from stormwatch.models.artifact import read_config

    measured = read_config(artifact_dir("accurate"))["quantification"]["negative"]
    assert summary["prevalence"]["negative"]["method"] == measured
