"""The streams `stormwatch eval warning` is judged on: a hijack surges in volume and
negativity; a viral moment surges in volume only."""

import numpy as np

from stormwatch.core.labels import Layout, Task
from stormwatch.evaluation_warning import DAY, build_pool, make_stream


def _pool():
    # A perfect classifier over 300 negative and 700 other posts.
    layout = Layout(
        (
            Task("sentiment", ("negative", "neutral", "positive")),
            Task("offensive", ("not_offensive", "offensive")),
        )
    )
    truth = np.array([0] * 300 + [1] * 400 + [2] * 300)
    proba = np.zeros((len(truth), layout.width), dtype=np.float32)
    proba[np.arange(len(truth)), truth] = 1.0
    proba[:, 3] = 1.0
    return build_pool(proba, layout, truth)


def _shares(stream, start, end):
    negatives = stream.negatives[start:end].sum()
    return negatives / max(stream.posts[start:end].sum(), 1), stream.posts[start:end].mean()


def test_a_hijack_surges_in_volume_and_negativity_a_viral_moment_in_volume_only():
    pool = _pool()
    hijack = make_stream(np.random.default_rng(3), pool, 3, hijack=True)
    viral = make_stream(np.random.default_rng(3), pool, 3, hijack=True, hostile=False)
    for stream in (hijack, viral):
        assert stream.onset is not None and DAY < stream.onset < 3 * DAY
    onset = hijack.onset
    assert viral.onset == onset  # same draws: only the mood differs
    before_h, rate_before = _shares(hijack, onset - 360, onset)
    after_h, rate_after = _shares(hijack, onset + 60, onset + 360)
    before_v, viral_before = _shares(viral, onset - 360, onset)
    after_v, viral_after = _shares(viral, onset + 60, onset + 360)
    assert rate_after > 8 * rate_before and viral_after > 8 * viral_before
    assert after_h >= 0.5 and after_h > before_h + 0.15
    assert abs(after_v - before_v) < 0.06


def test_delay_summaries_carry_bootstrap_intervals_that_widen_with_fewer_streams():
    from stormwatch.evaluation_warning import _summarise

    rng = np.random.default_rng(1)
    many = list(rng.gamma(4.0, 3.5, 400)) + [None] * 3
    few = many[:20]
    big, small = _summarise(many), _summarise(few)
    assert big["detected"] == "400/403" and small["detected"] == "20/20"
    for summary, values in ((big, many[:400]), (small, few)):
        assert summary["median"] == round(float(np.median(values)), 1)
        for name in ("median", "p90"):
            low, high = summary[f"{name}_ci"]
            assert low <= summary[name] <= high
    width = lambda s, name: s[f"{name}_ci"][1] - s[f"{name}_ci"][0]  # noqa: E731
    assert width(small, "median") > 2 * width(big, "median")
    assert width(small, "p90") > width(small, "median")  # the tail is the less certain
    # The true median of gamma(4, 3.5) (about 12.9 minutes) lies inside the wide interval.
    assert small["median_ci"][0] < 12.9 < small["median_ci"][1]
    assert _summarise([None, None]) == {
        "detected": "0/2",
        "median": None,
        "p90": None,
        "median_ci": None,
        "p90_ci": None,
    }
