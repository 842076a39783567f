"""Turn raw scores into calibrated probabilities: temperature and per-class bias, fitted by
minimising the negative log-likelihood on held-out (validation) data."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize


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
