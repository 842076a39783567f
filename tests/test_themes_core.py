"""The pure theme pipeline on synthetic embeddings and texts (no model)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import normalized_mutual_info_score

from stormwatch.core import themes as core


def _blobs(k: int = 4, per: int = 150, noise: int = 80, dims: int = 64, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dims))
    points = [c + rng.normal(scale=0.35, size=(per, dims)) for c in centres]
    x = np.concatenate([*points, rng.normal(scale=1.5, size=(noise, dims))])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    truth = np.concatenate([np.repeat(np.arange(k), per), np.full(noise, -1)])
    return x.astype(np.float32), truth


def test_pipeline_finds_the_number_of_themes_and_leaves_scatter_as_noise():
    x, truth = _blobs()
    fit = core.ThemePipeline().fit(x)
    found = fit.labels[truth >= 0]
    assert len(set(fit.labels[fit.labels >= 0].tolist())) == 4  # not told how many
    kept = (truth >= 0) & (fit.labels >= 0)
    assert normalized_mutual_info_score(truth[kept], fit.labels[kept]) > 0.95
    assert (fit.labels[truth < 0] == -1).mean() > 0.6  # the scatter is mostly noise
    assert (found >= 0).mean() > 0.8  # the least typical members may be left out
    # themes are numbered by size and carry unit centroids
    sizes = [int((fit.labels == i).sum()) for i in range(len(fit.centroids))]
    assert sizes == sorted(sizes, reverse=True)
    assert np.allclose(np.linalg.norm(fit.centroids, axis=1), 1, atol=1e-4)


def test_pipeline_is_deterministic_and_handles_tiny_inputs():
    x, _ = _blobs(seed=3)
    a, b = core.ThemePipeline().fit(x), core.ThemePipeline().fit(x)
    assert (a.labels == b.labels).all()
    tiny = core.ThemePipeline().fit(x[:5])
    assert (tiny.labels == -1).all() and len(tiny.centroids) == 0
    empty = core.ThemePipeline().fit(np.zeros((0, 8), np.float32))
    assert len(empty.labels) == 0


def test_keywords_name_themes_by_distinctive_words_never_by_campaign_tags_or_links():
    texts = (
        ["#AskBank why did my mortgage fees double? foreclosure http://x.co/1 @Bank"] * 6
        + ["#AskBank the bonuses paid after the bailout are obscene @Bank"] * 6
        + ["#AskBank bonuses bailout taxpayers paid for it https://t.co/zz @Bank"] * 4
        + ["#AskBank mortgage foreclosure took my house @Bank"] * 4
    )
    labels = np.array([0] * 6 + [1] * 6 + [1] * 4 + [0] * 4)
    exclude = core.campaign_terms(texts)
    assert {"#askbank", "askbank", "@bank", "bank"} <= exclude
    words = core.keywords(texts, labels, exclude)
    assert set(words[0][:2]) <= {"mortgage", "foreclosure", "fees", "double", "house"}
    assert "bonuses" in words[1][:3] and "bailout" in words[1][:3]
    for terms in words.values():
        assert not any(
            t.startswith("http") or "askbank" in t or t in core.STOP_WORDS for t in terms
        )
    assert (
        core.label_of(["#bailout", "bailout", "bonuses", "taxpayers"])
        == "#bailout · bonuses · taxpayers"
    )
    assert core.label_of([]) == "(no clear words)"


def test_representatives_are_typical_and_not_copies_of_each_other():
    rng = np.random.default_rng(1)
    centre = rng.normal(size=16)
    centre /= np.linalg.norm(centre)
    vectors = centre + rng.normal(scale=0.3, size=(30, 16))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron"
    texts = [f"post {w} {v} about fees" for w in words.split()[:6] for v in words.split()[:5]]
    texts[1] = texts[0] = "the same words"  # copies by gist
    vectors[1] = vectors[0]
    chosen = core.representatives(vectors.astype(np.float32), np.arange(30), centre, texts, n=5)
    assert len(chosen) == 5 and len(set(chosen)) == 5
    assert not {0, 1} <= set(chosen)


def test_rise_and_mix():
    created = np.array([0, 10, 20, 90, 95, 99, -1])
    labels = np.array([0, 0, 1, 1, 1, -1, 0])
    rises = core.rise(created, labels, windows=2)
    assert rises == {0: [2, 0], 1: [1, 2]}
    flags = {"negative": np.array([1, 0, 1, 1, 0, 1, 1], bool)}
    assert core.share_rows(flags, labels, ["negative", "offensive"]) == {
        0: {"negative": 0.6667},
        1: {"negative": 0.6667},
    }
