"""Shares from people's labels of a random sample of the crowd (`stormwatch sample`): the
one reference no shift between the model's validation data and the crowd can bias. Every
post's probability carries the information, the labelled posts correct its bias on this
crowd — for the whole set (`labelled_sample`) and for its time windows (`labelled_groups`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stormwatch.core.quantify import Cells, Prevalence, clip_share, two_sided_z


def labelled_sample(
    scores: np.ndarray,
    labelled: np.ndarray,
    truth: np.ndarray,
    confidence: float = 0.95,
) -> Prevalence:
    """The share of a set of posts when people labelled a random sample of them (`labelled`:
    indices into `scores`; `truth`: their 0/1 labels). A regression estimator, as in survey
    sampling (and prediction-powered inference): every post's probability, corrected by
    the mean of (truth - lambda * probability) on the labelled ones, lambda fitted there.
    The correction is measured on this crowd, so no shift between the validation data and
    the crowd can bias it; the interval is the sampling error of the labelled sample (a
    normal interval with the finite-population correction: the estimand is this set's
    share). With probabilities that say little, it is no worse than the labels alone."""
    fit = _Regression.of(scores, labelled, truth)
    n_all, n = len(scores), len(fit.f)
    point = fit.slope * float(fit.f_all.mean()) + fit.correction
    half = two_sided_z(confidence) * np.sqrt((1 - n / n_all) * fit.spread / n)
    return Prevalence(
        clip_share(point), clip_share(point - half), clip_share(point + half), "labelled", n_all
    )


def _fits(f: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of labelled (probability, truth), one sample per row -> each row's slope of
    truth on probability (kept within 0..2: a probability that predicts backwards is not
    used) and its correction, the mean of (truth - slope * probability)."""
    centred = f - f.mean(axis=1, keepdims=True)
    var_f = (centred**2).sum(axis=1) / (f.shape[1] - 1)
    cov = (centred * (t - t.mean(axis=1, keepdims=True))).sum(axis=1) / (f.shape[1] - 1)
    slope = np.clip(np.where(var_f > 1e-12, cov / np.maximum(var_f, 1e-12), 0.0), 0.0, 2.0)
    return slope, (t - slope[:, None] * f).mean(axis=1)


@dataclass(frozen=True, slots=True)
class _Regression:
    """y ~ slope * probability over a labelled sample, and the spread of what is left."""

    f_all: np.ndarray
    f: np.ndarray
    slope: float
    correction: float  # mean of (y - slope * f) over the labelled posts
    spread: float  # variance of that residual

    @classmethod
    def of(cls, scores: np.ndarray, labelled: np.ndarray, truth: np.ndarray) -> _Regression:
        labelled = np.asarray(labelled, dtype=np.int64)
        y = np.asarray(truth, dtype=np.float64)
        n = len(labelled)
        if n < 2 or len(scores) < n:
            raise ValueError("a labelled sample needs at least 2 posts, all of them in the set")
        f_all = scores.astype(np.float64)
        f = f_all[labelled]
        slopes, _ = _fits(f[None, :], y[None, :])
        slope = float(slopes[0])
        residual = y - slope * f
        # A sample whose labels all agree still leaves doubt: at least the spread of a
        # sample with one post the other way (the rule of three, in spirit).
        spread = max(float(residual.var(ddof=1)), 1.0 / (n * n))
        return cls(f_all, f, slope, float(residual.mean()), spread)


def labelled_groups(
    scores: np.ndarray,
    labelled: np.ndarray,
    truth: np.ndarray,
    groups: np.ndarray,
    confidence: float = 0.95,
    replicates: int = 300,
    seed: int = 0,
) -> list[Prevalence | None]:
    """Each group's share (`groups`: a number 0..G-1 per post, e.g. its time window) from one
    labelled random sample of the whole set: the set's estimate (`labelled_sample`) plus
    the group's mean probability minus the set's, divided by the gap between the mean
    probability of labelled positives and of labelled negatives.

    Why this form: a window seldom holds enough labelled posts for an estimate of its own,
    and the share moves between windows (that is what a hijack is), which changes what a
    probability means there — P(label | probability) does not carry over from the whole
    set to a window, while the scores of positive and of negative posts do (PACC's
    assumption, with the gap measured on this crowd instead of the validation data). The
    groups average, post-weighted, to the set's estimate. Interval: a percentile bootstrap
    that redraws the labelled posts (both fits) and each group's posts together; None for
    a group without posts."""
    labelled = np.asarray(labelled, dtype=np.int64)
    y = np.asarray(truth, dtype=np.float64)
    f_all = np.asarray(scores, dtype=np.float64)
    groups = np.asarray(groups, dtype=np.int64)
    size = int(groups.max()) + 1 if len(groups) else 0
    posts = np.bincount(groups, minlength=size)
    means = np.bincount(groups, weights=f_all, minlength=size) / np.maximum(posts, 1)
    mean_all = float(f_all.mean())

    def direct_and_gap(f: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of labelled (probability, truth) -> the set's estimate and the score gap."""
        slope, correction = _fits(f, t)
        direct = slope * mean_all + correction  # labelled_sample's point, per row
        positives, negatives = t.sum(axis=1), (1 - t).sum(axis=1)
        tpr = np.where(positives > 0, (f * t).sum(axis=1) / np.maximum(positives, 1), 1.0)
        fpr = np.where(negatives > 0, (f * (1 - t)).sum(axis=1) / np.maximum(negatives, 1), 0.0)
        return direct, np.maximum(tpr - fpr, 1e-3)

    direct, gap = direct_and_gap(f_all[labelled][None, :], y[None, :])
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(labelled), (replicates, len(labelled)))
    direct_b, gap_b = direct_and_gap(f_all[labelled][index], y[index])
    tail = (1 - confidence) / 2
    out: list[Prevalence | None] = []
    for g in range(size):
        if not posts[g]:
            out.append(None)
            continue
        point = clip_share(float(direct[0] + (means[g] - mean_all) / gap[0]))
        # The window's posts resampled through their histogram: one multinomial draw per
        # replicate, whatever the window's size.
        cells = Cells.of(f_all[groups == g], np.zeros(int(posts[g]), dtype=bool))
        counts = rng.multinomial(int(posts[g]), cells.counts / cells.counts.sum(), replicates)
        mean_b = counts @ cells.scores / posts[g]
        draws = direct_b + (mean_b - mean_all) / gap_b
        low, high = np.quantile(draws, [tail, 1 - tail])
        out.append(
            Prevalence(
                point,
                min(clip_share(low), point),
                max(clip_share(high), point),
                "labelled",
                int(posts[g]),
            )
        )
    return out
