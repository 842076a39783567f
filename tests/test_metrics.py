import numpy as np
import pytest
from sklearn.metrics import f1_score, recall_score

from stormwatch.core.calibration import (
    ISOTONIC_BOUND,
    apply_scaling,
    choose_calibration,
    fit_scaling,
    log_loss,
    softmax,
)
from stormwatch.core.metrics import expected_calibration_error, official_score, stratified_folds


def test_official_metrics_match_scikit_learn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 500)
    pred = np.where(rng.random(500) < 0.7, y, rng.integers(0, 3, 500))
    assert official_score("macro_recall", y, pred, 3) == pytest.approx(
        100 * recall_score(y, pred, average="macro")
    )
    assert official_score("macro_f1", y, pred, 3) == pytest.approx(
        100 * f1_score(y, pred, average="macro")
    )
    yb, pb = y % 2, pred % 2
    assert official_score("f1_positive", yb, pb, 2) == pytest.approx(100 * f1_score(yb, pb))


def test_ece_of_hand_checked_cases():
    proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    # bin 0.9: confidence 0.9, accuracy 0.5 -> gap 0.4; bin 0.6: confidence 0.6, accuracy 1.
    y = np.array([0, 1, 0, 0])
    assert expected_calibration_error(proba, y) == pytest.approx((2 * 0.4 + 2 * 0.4) / 4)
    perfect = np.array([[1.0, 0.0]] * 3)
    assert expected_calibration_error(perfect, np.zeros(3, int)) == 0.0


def test_temperature_and_bias_recover_a_known_distortion():
    rng = np.random.default_rng(1)
    true_logits = rng.normal(size=(20_000, 3)) * 1.5
    y = np.array([rng.choice(3, p=p) for p in softmax(true_logits)])
    distorted = 3.0 * true_logits - np.array([0.0, 1.0, -0.5]) * 3.0
    temperature, bias = fit_scaling(distorted, y)
    assert temperature == pytest.approx(3.0, rel=0.05)
    recovered = apply_scaling(distorted, temperature, bias)
    np.testing.assert_allclose(recovered, softmax(true_logits), atol=0.03)
    t_only, zero = fit_scaling(3.0 * true_logits, y, with_bias=False)
    assert t_only == pytest.approx(3.0, rel=0.05) and not zero.any()


def test_stratified_folds_deal_each_class_evenly_and_are_seeded():
    labels = np.array([0] * 90 + [1] * 10)
    folds = stratified_folds(labels, 5, np.random.default_rng(3))
    for fold in range(5):
        assert np.bincount(labels[folds == fold], minlength=2).tolist() == [18, 2]
    again = stratified_folds(labels, 5, np.random.default_rng(3))
    assert np.array_equal(folds, again)
    assert not np.array_equal(folds, stratified_folds(labels, 5, np.random.default_rng(4)))


def _binary(logit: np.ndarray) -> np.ndarray:
    return np.column_stack([np.zeros_like(logit), logit])


def test_an_isotonic_map_follows_only_where_held_out_folds_gain():
    rng = np.random.default_rng(5)
    score = rng.normal(size=4000)
    folds = stratified_folds(np.zeros(4000, int), 5, rng)
    # A head whose logit is the true log-odds: temperature scaling is all it needs.
    honest = (rng.random(4000) < 1 / (1 + np.exp(-score))).astype(int)
    plain = choose_calibration(_binary(score), honest, folds)
    assert plain.knots is None
    # A head that is sure where it should not be: past +1 its posts are positive only 60% of
    # the time, below it the log-odds are right. No temperature mends both ends.
    truth = np.where(score > 1, 0.6, 1 / (1 + np.exp(-score)))
    bent = (rng.random(4000) < truth).astype(int)
    chosen = choose_calibration(_binary(4 * score), bent, folds)
    assert chosen.knots is not None
    proba = chosen.apply(_binary(4 * score))
    scaled_only = apply_scaling(_binary(4 * score), chosen.temperature, chosen.bias)
    assert log_loss(proba, bent) < log_loss(scaled_only, bent)
    top = score > 1.5
    assert abs(proba[top, 1].mean() - 0.6) < 0.06  # the flat end is read as such
    assert proba[:, 1].min() >= ISOTONIC_BOUND and proba[:, 1].max() <= 1 - ISOTONIC_BOUND
    order = np.argsort(score)
    assert np.all(np.diff(proba[order, 1]) >= -1e-12)  # monotone in the score
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # Three classes: temperature and bias only.
    three = choose_calibration(rng.normal(size=(300, 3)), rng.integers(0, 3, 300), folds[:300])
    assert three.knots is None


def test_a_test_scores_interval_holds_it_and_narrows_with_more_posts():
    from stormwatch.evaluation import score_interval

    rng = np.random.default_rng(2)

    def predictions(n):
        y = rng.integers(0, 3, n)
        return y, np.where(rng.random(n) < 0.6, y, rng.integers(0, 3, n))

    small, large = predictions(240), predictions(12_000)
    widths = []
    for y, pred in (small, large):
        low, high = score_interval("macro_recall", y, pred, 3)
        assert low <= official_score("macro_recall", y, pred, 3) <= high
        widths.append(high - low)
    assert widths[0] > 4 * widths[1] > 0  # ~sqrt(50) times narrower on 50 times the posts
    perfect = np.arange(100) % 2
    assert score_interval("f1_positive", perfect, perfect, 2) == [100.0, 100.0]
