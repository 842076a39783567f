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
