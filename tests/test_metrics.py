import numpy as np
import pytest
from sklearn.metrics import f1_score, recall_score

from stormwatch.core.calibration import apply_scaling, fit_scaling, softmax
from stormwatch.core.metrics import expected_calibration_error, official_score


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
