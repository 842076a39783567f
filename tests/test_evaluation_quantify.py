import numpy as np

from stormwatch.evaluation_quantify import PREVALENCES, _draw, choose_methods


def _row(mae, coverage):
    return {"mae": mae, "coverage": coverage, "width": 0.1, "samples": 20}


def test_choose_methods_prefers_covered_then_accurate():
    report = {
        "table": {
            "negative/artificial/n=500": {
                "cc": _row(0.12, 0.20),
                "acc": _row(0.05, 0.93),
                "pacc": _row(0.04, 0.85),
                "labelled100": _row(0.02, 0.95),
            },
            "negative/natural/n=500": {
                "cc": _row(0.08, 0.50),
                "acc": _row(0.06, 0.95),
                "pacc": _row(0.03, 0.97),
                "labelled100": _row(0.02, 0.96),
            },
            "hate/artificial/n=500": {"cc": _row(0.30, 0.10), "acc": _row(0.20, 0.40)},
            "hate/natural/n=500": {"cc": _row(0.25, 0.30), "acc": _row(0.22, 0.35)},
        }
    }
    chosen = choose_methods(report)
    # PACC is more accurate but under-covers on the artificial protocol: ACC wins. The
    # labelled-sample rows beat both but need people's labels: never a default.
    assert chosen["negative"] == {"method": "acc", "mae": 0.055, "coverage": 0.93, "n": 500}
    # Nothing covers for hate: the best-covered method, and the evidence says so.
    assert chosen["hate"]["method"] == "acc" and chosen["hate"]["coverage"] == 0.35


def test_draw_hits_the_requested_prevalence_exactly():
    rng = np.random.default_rng(0)
    positives, negatives = np.arange(0, 50), np.arange(50, 1000)
    for prevalence in PREVALENCES:
        index = _draw(rng, positives, negatives, 500, prevalence)
        assert len(index) == 500
        assert (index < 50).sum() == round(500 * prevalence)
