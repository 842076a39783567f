import numpy as np
import pytest

from stormwatch.core.quantify import Cells, Reference, acc, cc, emq, estimate, pacc, pcc

# Validation: 10 positives (8 decided positive, soft 0.9 / 0.2), 10 negatives (1 decided
# positive at 0.8, nine at 0.1).
REF = Reference(
    scores=np.array([0.9] * 8 + [0.2] * 2 + [0.8] + [0.1] * 9),
    decisions=np.array([1] * 8 + [0] * 2 + [1] + [0] * 9, dtype=bool),
    labels=np.array([1] * 10 + [0] * 10),
)
SCORES = np.array([0.9] * 45 + [0.1] * 55)
DECISIONS = SCORES > 0.5


def test_hand_checked_values():
    assert cc(SCORES, DECISIONS) == pytest.approx(0.45)
    assert pcc(SCORES, DECISIONS) == pytest.approx(0.46)
    # ACC: TPR 0.8, FPR 0.1 -> (0.45 - 0.1) / 0.7
    assert acc(SCORES, DECISIONS, REF) == pytest.approx(0.5)
    # PACC: soft TPR (8*.9 + 2*.2)/10 = .76, soft FPR (.8 + 9*.1)/10 = .17
    assert pacc(SCORES, DECISIONS, REF) == pytest.approx((0.46 - 0.17) / 0.59)


def test_adjusted_estimates_clipped_at_the_end_with_an_honest_interval():
    all_negative = np.zeros(300)
    assert acc(all_negative, all_negative > 0.5, REF) == pytest.approx(-0.1 / 0.7)  # raw
    pinned = estimate("acc", all_negative, all_negative > 0.5, REF)
    assert pinned.estimate == 0.0 and pinned.low == 0.0
    assert pinned.high == 0.0  # every draw is below zero: the data say "none" here
    rng = np.random.default_rng(2)
    few = (rng.random(300) < 0.12).astype(float)
    near_zero = estimate("acc", few, few > 0.5, REF)
    assert near_zero.low == 0.0 < near_zero.high  # not a fake zero-width interval
    with pytest.raises(ValueError, match="validation"):
        acc(SCORES, DECISIONS)


def test_emq_recovers_a_pure_prior_shift():
    """Calibrated posteriors for a 30% prior, applied to a sample whose prior is 70%."""
    rng = np.random.default_rng(3)

    def sample(n, prior):
        y = rng.random(n) < prior
        x = rng.normal(np.where(y, 1.0, -1.0), 1.0)
        # Exact posterior under the 30% training prior (equal-variance Gaussians).
        odds = np.exp(2 * x) * 0.3 / 0.7
        return odds / (1 + odds), y.astype(int)

    val_scores, val_labels = sample(4000, 0.3)
    ref = Reference(val_scores, val_scores > 0.5, val_labels)
    scores, truth = sample(20000, 0.7)
    assert emq(scores, scores > 0.5, ref) == pytest.approx(truth.mean(), abs=0.02)
    assert abs(pcc(scores, scores > 0.5) - truth.mean()) > 0.1  # PCC is biased here
    # Its bootstrap (every replicate's EM run at once) gives an interval around it that
    # holds the truth and is not degenerate.
    small = rng.choice(len(scores), 500, replace=False)
    p = estimate("emq", scores[small], scores[small] > 0.5, ref, replicates=300)
    assert p.low < truth[small].mean() < p.high and 0.02 < p.high - p.low < 0.25
    assert p.low <= p.estimate <= p.high


def test_weighted_estimators_equal_repeated_rows():
    weights = np.array([3.0, 1.0, 2.0])
    scores = np.array([0.9, 0.2, 0.6])
    repeated = np.repeat(scores, weights.astype(int))
    for fn in (cc, pcc, acc, pacc, emq):
        assert fn(scores, scores > 0.5, REF, weights) == pytest.approx(
            fn(repeated, repeated > 0.5, REF)
        )


def test_cells_keep_counts_and_mean_scores():
    rng = np.random.default_rng(0)
    scores = rng.random(10_000)
    cells = Cells.of(scores, scores > 0.3)
    assert cells.counts.sum() == 10_000
    assert np.average(cells.scores, weights=cells.counts) == pytest.approx(scores.mean())
    assert np.average(cells.decisions, weights=cells.counts) == pytest.approx((scores > 0.3).mean())


def test_interval_contains_point_narrows_with_n_and_is_seeded():
    rng = np.random.default_rng(1)
    small_scores = rng.random(200)
    large_scores = rng.random(20_000)
    small = estimate("cc", small_scores, small_scores > 0.5)
    large = estimate("cc", large_scores, large_scores > 0.5)
    assert small.low <= small.estimate <= small.high
    assert (large.high - large.low) < (small.high - small.low) / 5
    adjusted = estimate("acc", large_scores, large_scores > 0.5, REF)
    # Twenty validation posts leave the error rates uncertain: the interval must stay wide
    # however many posts are counted.
    assert adjusted.high - adjusted.low > 0.3
    assert estimate("acc", large_scores, large_scores > 0.5, REF) == adjusted
    assert small.n == 200 and adjusted.method == "acc"
    empty = estimate("cc", np.zeros(0), np.zeros(0, bool))
    assert (empty.low, empty.high, empty.n) == (0.0, 1.0, 0)
    with pytest.raises(ValueError, match="unknown method"):
        estimate("magic", small_scores, small_scores > 0.5)


def test_wilson_interval_hand_checked_and_zero_counts_are_not_certain():
    from stormwatch.core.quantify import wilson

    low, high = wilson(0.5, 100)
    assert (low, high) == (pytest.approx(0.4038, abs=1e-4), pytest.approx(0.5962, abs=1e-4))
    none_seen = estimate("cc", np.zeros(150), np.zeros(150, bool))
    assert none_seen.estimate == 0.0 and none_seen.low == 0.0
    assert 0.02 < none_seen.high < 0.03  # ~ rule of three: 3/150


def test_prevalences_count_unvalidated_labels_and_name_the_method():
    from stormwatch.core.labels import Layout, Task
    from stormwatch.core.quantify import prevalences, statement

    layout = Layout((Task("offensive", ("not_offensive", "offensive")),))
    proba = np.array([[0.2, 0.8]] * 30 + [[0.9, 0.1]] * 70, dtype=np.float32)
    validation = {
        "offensive.proba": np.array([[0.1, 0.9], [0.8, 0.2]] * 50),
        "offensive.labels": np.array([1, 0] * 50),
    }
    counted = prevalences(proba, layout, validation)["offensive"]
    assert counted.method == "cc" and counted.estimate == pytest.approx(0.3)
    adjusted = prevalences(proba, layout, validation, {"offensive": "acc"})["offensive"]
    assert adjusted.method == "acc" and adjusted.estimate == pytest.approx(0.3)
    assert prevalences(proba, layout, None, {"offensive": "acc"})["offensive"].method == "cc"
    sentence = statement("offensive", adjusted)
    assert sentence.startswith(f"at least {adjusted.low:.1%} of 100 posts are offensive")
    assert sentence.endswith("method ACC)")


def test_a_quoted_bound_says_how_often_such_intervals_held_where_that_fell_short():
    from stormwatch.core.quantify import COVERAGE_FLOOR, Prevalence, held_short, statement

    p = Prevalence(estimate=0.331, low=0.276, high=0.39, method="macc", n=4791)
    short = {"method": "macc", "coverage": 0.837, "mae": 0.0455, "n": 500}
    assert held_short(p, short) == 0.837
    assert statement("negative", p, held=held_short(p, short)) == (
        "at least 27.6% of 4,791 posts are negative (95% confidence; estimate 33.1%, "
        "method MACC; such intervals held the truth in 84% of test samples)"
    )
    # Evidence for another method says nothing of this one; coverage at the floor is enough.
    assert held_short(p, dict(short, method="acc")) is None
    assert held_short(p, dict(short, coverage=COVERAGE_FLOOR)) is None
    assert held_short(p, None) is None
    assert statement("negative", p, held=None).endswith("method MACC)")


def _three_class_reference():
    """Validation for a 3-class task: of every 10 posts of a class, 8 are decided as that
    class and one as each other class (C = 0.8 on the diagonal, 0.1 off it)."""
    from stormwatch.core.quantify import TaskReference

    labels, decisions = [], []
    for true in range(3):
        decided = [true] * 8 + [c for c in range(3) if c != true]
        labels += [true] * 10
        decisions += decided
    return TaskReference(np.array(decisions), np.array(labels), 3)


def test_multiclass_adjustment_hand_checked():
    from stormwatch.core.quantify import TaskReference, estimate_task, macc

    ref = _three_class_reference()
    # True shares (0.5, 0.3, 0.2) are decided as C @ pi = (0.45, 0.31, 0.24).
    winners = np.array([0] * 45 + [1] * 31 + [2] * 24)
    assert macc(winners, 0, ref) == pytest.approx(0.5)
    assert macc(winners, 2, ref) == pytest.approx(0.2)
    # Binary ACC of class 0 vs rest would give the same here (symmetric errors), but
    # not when the rest's make-up differs from validation: a crowd of classes 0 and 2
    # only, decided (0.8*0.5 + 0.1*0.5, ...) = (0.45, 0.1, 0.45).
    skewed = np.array([0] * 45 + [1] * 10 + [2] * 45)
    assert macc(skewed, 0, ref) == pytest.approx(0.5)
    assert macc(skewed, 1, ref) == pytest.approx(0.0, abs=1e-9)
    p = estimate_task(winners, 0, ref, replicates=300, seed=1)
    assert p.method == "macc" and p.n == 100
    assert p.low < 0.5 < p.high
    assert p == estimate_task(winners, 0, ref, replicates=300, seed=1)  # seeded
    # Both the posts and the validation set are uncertain: more of either narrows it.
    big_ref = TaskReference(np.tile(ref.decisions, 20), np.tile(ref.labels, 20), 3)
    sure_rates = estimate_task(winners, 0, big_ref, replicates=300, seed=1)
    more_posts = estimate_task(np.repeat(winners, 20), 0, big_ref, replicates=300, seed=1)
    width = [x.high - x.low for x in (p, sure_rates, more_posts)]
    assert width[0] > width[1] > width[2]


def test_prevalences_use_the_multiclass_adjustment_when_chosen():
    from stormwatch.core.labels import Layout, Task
    from stormwatch.core.quantify import prevalences

    ref = _three_class_reference()
    layout = Layout((Task("sentiment", ("negative", "neutral", "positive")),))
    validation = {"sentiment.proba": np.eye(3)[ref.decisions], "sentiment.labels": ref.labels}
    proba = np.eye(3, dtype=np.float32)[[0] * 45 + [1] * 10 + [2] * 45]
    out = prevalences(proba, layout, validation, {"negative": "macc"})
    assert out["negative"].method == "macc"
    assert out["negative"].estimate == pytest.approx(0.5)
    assert out["neutral"].method == "cc" and out["neutral"].estimate == pytest.approx(0.1)
    binary = Layout((Task("offensive", ("not_offensive", "offensive")),))
    binary_validation = {
        "offensive.proba": np.array([[0.1, 0.9], [0.8, 0.2]] * 5),
        "offensive.labels": np.array([1, 0] * 5),
    }
    with pytest.raises(ValueError, match="multi-class"):
        prevalences(proba[:, :2], binary, binary_validation, {"offensive": "macc"})


def test_labelled_sample_hand_checked_cases():
    from stormwatch.core.labelled import labelled_sample

    truth = np.array([1, 0, 0, 1, 0, 0, 0, 1, 0, 0] * 20)  # 30% of 200
    # Perfect probabilities: slope 1, no residual, the set's share exactly.
    p = labelled_sample(truth.astype(float), np.arange(0, 200, 4), truth[::4])
    assert abs(p.estimate - 0.3) < 1e-12 and p.method == "labelled" and p.n == 200
    # Probabilities that say nothing: the labels' own share, with the finite-population
    # normal interval: 1.96 * sqrt((1 - 50/200) * var / 50), var the labels' own.
    chosen = np.arange(50)
    p = labelled_sample(np.full(200, 0.5), chosen, truth[chosen])
    share = truth[chosen].mean()
    half = 1.959964 * np.sqrt(0.75 * truth[chosen].var(ddof=1) / 50)
    assert abs(p.estimate - share) < 1e-12
    assert abs((p.high - p.low) / 2 - half) < 1e-5
    # Every post labelled: no doubt left.
    p = labelled_sample(np.full(200, 0.5), np.arange(200), truth)
    assert abs(p.low - 0.3) < 1e-12 and abs(p.high - 0.3) < 1e-12


def test_labelled_sample_is_unbiased_where_the_classifier_is_shifted():
    # Probabilities that over-state the share by 0.1 (a crowd unlike the
    # validation data): PCC is off by 0.1; the labelled sample corrects it and its 95%
    # intervals hold the truth about 95% of the time.
    from stormwatch.core.labelled import labelled_sample

    rng = np.random.default_rng(3)
    errors, covered = [], []
    for _ in range(300):
        truth = rng.random(2000) < 0.3
        scores = np.clip(0.25 + 0.5 * truth + rng.normal(0, 0.15, 2000), 0, 1)
        chosen = rng.choice(2000, 100, replace=False)
        p = labelled_sample(scores, chosen, truth[chosen])
        errors.append(p.estimate - truth.mean())
        covered.append(p.low <= truth.mean() <= p.high)
        assert scores.mean() - truth.mean() > 0.07  # PCC is biased
    assert abs(np.mean(errors)) < 0.005
    assert 0.92 <= np.mean(covered) <= 0.99
    # Better than the labels alone (whose standard error here is about 0.046).
    assert np.sqrt(np.mean(np.square(errors))) < 0.035


def test_a_mean_score_compared_by_the_early_warning_has_its_sampling_interval():
    from stormwatch.core.quantify import estimate_cells, wilson
    from stormwatch.core.warning import compared_share

    rng = np.random.default_rng(5)
    scores = np.clip(rng.normal(0.3, 0.05, 400), 0, 1)
    cells = Cells.of(scores, scores >= 0.5)
    floored = estimate_cells("pcc", cells, confidence=0.95)
    compared = compared_share("pcc", cells, None, confidence=0.95)
    # Scores this close together: the mean's own interval is about 2 x 1.96 x 0.05 / 20
    # wide, a tenth of the Wilson interval a 0/1 share of 0.3 would get.
    assert compared.low <= compared.estimate <= compared.high
    assert compared.high - compared.low < 0.015
    assert (
        floored.high - floored.low
        >= wilson(floored.estimate, 400)[1] - wilson(floored.estimate, 400)[0] - 1e-9
    )
    # A counted share keeps its Wilson floor; adjusted methods are not what it compares.
    counted = compared_share("cc", cells, None, confidence=0.95)
    assert counted == estimate_cells("cc", cells, None, 0.95, 200)
    with pytest.raises(ValueError, match="compares"):
        compared_share("acc", cells, None)


def _classifier_like(rng, truth, shift=0.0):
    """Probabilities as a classifier gives them: the sigmoid of a score that is normal
    within each class, moved by `shift` in log-odds (a crowd unlike the validation data)."""
    score = np.where(truth, 1.2, -1.2) + rng.normal(0, 1, len(truth)) + shift
    return 1 / (1 + np.exp(-score))


def test_labelled_groups_average_to_the_whole_sets_estimate():
    from stormwatch.core.labelled import labelled_groups, labelled_sample
    from stormwatch.core.quantify import pacc

    rng = np.random.default_rng(11)
    truth = rng.random(900) < np.repeat([0.2, 0.5, 0.8], 300)
    scores = _classifier_like(rng, truth, shift=0.8)
    decisions = scores >= 0.5
    groups = np.repeat([0, 1, 2], 300)
    chosen = rng.choice(900, 150, replace=False)
    whole = labelled_sample(scores, chosen, truth[chosen])
    parts = labelled_groups(scores, chosen, truth[chosen], groups, replicates=50)
    assert [p.n for p in parts] == [300, 300, 300]
    assert abs(np.mean([p.estimate for p in parts]) - whole.estimate) < 1e-9
    assert all(p.low <= p.estimate <= p.high for p in parts)
    # By hand: PACC with the labelled posts' mean scores per class, moved by one shift.
    f, y = scores[chosen], truth[chosen]
    tpr, fpr = f[y].mean(), f[~y].mean()
    adjusted = [(scores[groups == g].mean() - fpr) / (tpr - fpr) for g in range(3)]
    shifts = [p.estimate - a for p, a in zip(parts, adjusted, strict=True)]
    assert np.ptp(shifts) < 1e-9 and abs(shifts[0]) < 0.05
    assert abs(pacc(scores, decisions, _ref(f, y)) - np.mean(adjusted)) < 1e-9
    # A group with no posts has no estimate.
    emptied = np.where(groups == 1, 2, groups)
    assert labelled_groups(scores, chosen, truth[chosen], emptied)[1] is None


def _ref(f, y):
    from stormwatch.core.quantify import Reference

    return Reference(f, f >= 0.5, y.astype(int))


def test_labelled_groups_follow_each_window_where_the_share_moves():
    # Windows whose true shares differ (0.15 / 0.45 / 0.75), probabilities over-stating
    # every one (log-odds + 0.8): from 120 labelled posts of the whole set, each window's
    # estimate is unbiased and its interval holds the truth about 95% of the time. (A
    # curve of P(label | probability) fitted on the labelled posts missed by 0.10 at the
    # edges here: the share moving between windows changes that curve.)
    from stormwatch.core.labelled import labelled_groups

    rng = np.random.default_rng(5)
    groups = np.repeat([0, 1, 2], 1000)
    errors, covered, widths = [], [], []
    for _ in range(100):
        truth = rng.random(3000) < np.repeat([0.15, 0.45, 0.75], 1000)
        scores = _classifier_like(rng, truth, shift=0.8)
        chosen = rng.choice(3000, 120, replace=False)
        parts = labelled_groups(scores, chosen, truth[chosen], groups)
        for g, part in enumerate(parts):
            share = truth[groups == g].mean()
            errors.append(part.estimate - share)
            covered.append(part.low <= share <= part.high)
            widths.append(part.high - part.low)
    assert np.abs(np.mean(np.reshape(errors, (-1, 3)), axis=0)).max() < 0.015
    assert 0.92 <= np.mean(covered) <= 0.99
    # Not padded: a 95% interval of a normal error is 3.9 of its spreads wide.
    assert np.mean(widths) < 5 * np.sqrt(np.mean(np.square(errors)))
