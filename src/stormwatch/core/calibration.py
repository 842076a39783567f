"""Turn raw scores into calibrated probabilities: temperature and per-class bias, fitted by
minimising the negative log-likelihood on held-out (validation) data; for a binary head,
optionally followed by an isotonic map where held-out data says it helps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from stormwatch.core.metrics import stratified_folds

# An isotonic map never says 0 or 1: a few hundred held-out posts cannot show certainty.
ISOTONIC_BOUND = 0.005
CALIBRATION_FOLDS = 5
CALIBRATION_SEED = 13


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    weights = np.exp(shifted)
    return weights / weights.sum(axis=1, keepdims=True)


def apply_scaling(logits: np.ndarray, temperature: float, bias: np.ndarray) -> np.ndarray:
    return softmax(logits / temperature + bias)


def fit_scaling(
    logits: np.ndarray, y: np.ndarray, with_bias: bool = True
) -> tuple[float, np.ndarray]:
    """(temperature, bias) minimising NLL of `y` under softmax(logits / T + bias).

    Temperature alone keeps every decision and fixes over/under-confidence; the bias also
    moves the class prior to the held-out data's, which a class-weighted model needs."""
    n_classes = logits.shape[1]
    onehot = np.eye(n_classes)[y]

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        log_t = params[0]
        bias = np.concatenate(([0.0], params[1:])) if with_bias else np.zeros(n_classes)
        scaled = logits * np.exp(-log_t) + bias
        shifted = scaled - scaled.max(axis=1, keepdims=True)
        log_z = np.log(np.exp(shifted).sum(axis=1))
        log_p = shifted - log_z[:, None]
        nll = -(onehot * log_p).sum() / len(y)
        residual = (np.exp(log_p) - onehot) / len(y)
        grad_t = -(residual * logits * np.exp(-log_t)).sum()
        grad = [grad_t] + (list(residual.sum(axis=0)[1:]) if with_bias else [])
        return float(nll), np.array(grad)

    start = np.zeros(1 + (n_classes - 1 if with_bias else 0))
    result = minimize(loss, start, jac=True, method="L-BFGS-B")
    temperature = float(np.exp(result.x[0]))
    bias = np.concatenate(([0.0], result.x[1:])) if with_bias else np.zeros(n_classes)
    return temperature, bias


@dataclass(frozen=True)
class Calibration:
    """One head's calibration: temperature and class bias, then (binary heads only) an
    optional monotone map of P(positive), given by its knots, linear in between."""

    temperature: float
    bias: np.ndarray
    knots: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def from_config(cls, task: dict[str, Any]) -> Calibration:
        """A task's calibration as its artifact config records it."""
        isotonic = task.get("isotonic")
        return cls(
            float(task.get("temperature", 1.0)),
            np.asarray(task.get("calibration_bias", [0.0] * len(task["classes"])), np.float64),
            (np.asarray(isotonic["x"], np.float64), np.asarray(isotonic["y"], np.float64))
            if isotonic
            else None,
        )

    def to_config(self) -> dict[str, Any]:
        """The entries `from_config` reads back (`isotonic` only where a map was chosen)."""
        record: dict[str, Any] = {
            "temperature": float(self.temperature),
            "calibration_bias": [float(v) for v in self.bias],
        }
        if self.knots is not None:
            record["isotonic"] = {"x": self.knots[0].tolist(), "y": self.knots[1].tolist()}
        return record

    def apply(self, logits: np.ndarray) -> np.ndarray:
        proba = apply_scaling(logits, self.temperature, self.bias)
        if self.knots is None:
            return proba
        positive = np.interp(proba[:, 1], *self.knots)
        return np.column_stack([1.0 - positive, positive]).astype(proba.dtype)


def fit_isotonic(positive: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Knots of the monotone map from P(positive) to the positive rate of held-out posts
    (pool adjacent violators), kept within [ISOTONIC_BOUND, 1 - ISOTONIC_BOUND]."""
    from sklearn.isotonic import IsotonicRegression

    fit = IsotonicRegression(
        y_min=ISOTONIC_BOUND, y_max=1 - ISOTONIC_BOUND, out_of_bounds="clip"
    ).fit(positive, y)
    return fit.X_thresholds_.astype(np.float64), fit.y_thresholds_.astype(np.float64)


def _fit_calibration(logits: np.ndarray, y: np.ndarray, isotonic: bool) -> Calibration:
    temperature, bias = fit_scaling(logits, y, with_bias=True)
    if not isotonic:
        return Calibration(temperature, bias)
    scaled = apply_scaling(logits, temperature, bias)
    return Calibration(temperature, bias, fit_isotonic(scaled[:, 1], y))


def log_loss(proba: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, 1.0))))


def choose_calibration(
    logits: np.ndarray, y: np.ndarray, fold_of: np.ndarray | None = None
) -> Calibration:
    """Temperature and bias, followed for a binary head by an isotonic map only where that
    lowers the log-loss of posts it was not fitted on (each fold calibrated by the others;
    `fold_of`: the folds, by default CALIBRATION_FOLDS seeded stratified ones): temperature
    scaling cannot mend a head that is over-sure at one end and unsure in the middle, but an
    isotonic map fitted on few posts can be worse than none."""
    if fold_of is None:
        fold_of = stratified_folds(y, CALIBRATION_FOLDS, np.random.default_rng(CALIBRATION_SEED))
    if logits.shape[1] != 2 or len(np.unique(y)) < 2:
        return _fit_calibration(logits, y, isotonic=False)
    losses = []
    for isotonic in (False, True):
        held_out = np.zeros_like(logits, dtype=np.float64)
        for fold in np.unique(fold_of):
            part = fold_of == fold
            held_out[part] = _fit_calibration(logits[~part], y[~part], isotonic).apply(logits[part])
        losses.append(log_loss(held_out, y))
    return _fit_calibration(logits, y, isotonic=losses[1] < losses[0])
