import numpy as np

from stormwatch.evaluation_quantify import (
    PREVALENCES,
    _draw,
    choose_methods,
    record_defaults,
)


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
            "offensive/artificial/n=500": {"cc": _row(0.30, 0.10), "acc": _row(0.20, 0.40)},
            "offensive/natural/n=500": {"cc": _row(0.25, 0.30), "acc": _row(0.22, 0.35)},
        }
    }
    chosen = choose_methods(report)
    # PACC is more accurate but under-covers on the artificial protocol: ACC wins. The
    # labelled-sample rows beat both but need people's labels: never a default.
    assert chosen["negative"] == {"method": "acc", "mae": 0.055, "coverage": 0.93, "n": 500}
    # Nothing covers for offensive: the best-covered method, and the evidence says so.
    assert chosen["offensive"]["method"] == "acc" and chosen["offensive"]["coverage"] == 0.35


def _both(label, rows):
    return {f"{label}/{p}/n=500": rows for p in ("artificial", "natural")}


def test_with_no_covered_method_ties_in_coverage_go_to_the_smaller_error():
    report = {"table": _both("negative", {"cc": _row(0.38, 0.0), "pcc": _row(0.29, 0.0)})}
    assert choose_methods(report)["negative"]["method"] == "pcc"


def test_labels_outside_the_adjustable_ones_count():
    # EMQ wins irony's test split, but irony's posts were collected for the task: an
    # adjusted default is for negative and offensive only; irony counts, with its error.
    rows = {"cc": _row(0.12, 0.2), "pcc": _row(0.13, 0.3), "emq": _row(0.04, 1.0)}
    report = {"table": _both("irony", rows) | _both("offensive", rows)}
    chosen = choose_methods(report)
    assert chosen["irony"] == {"method": "cc", "mae": 0.12, "coverage": 0.2, "n": 500}
    assert chosen["offensive"]["method"] == "emq"


def test_saved_defaults_keep_labels_not_run():
    config = {
        "name": "fast",
        "quantification": {"negative": "macc", "offensive": "cc"},
        "quantification_evidence": {"negative": {"method": "macc", "mae": 0.05}},
    }
    report = {"table": _both("offensive", {"cc": _row(0.07, 0.2), "acc": _row(0.02, 0.99)})}
    saved = record_defaults(config, report)
    # offensive re-measured; negative kept from the earlier run.
    assert saved["quantification"] == {"negative": "macc", "offensive": "acc"}
    assert set(saved["quantification_evidence"]) == {"negative", "offensive"}
    assert config["quantification"]["offensive"] == "cc"  # the caller's config is not changed


def test_draw_hits_the_requested_prevalence_exactly():
    rng = np.random.default_rng(0)
    positives, negatives = np.arange(0, 50), np.arange(50, 1000)
    for prevalence in PREVALENCES:
        index = _draw(rng, positives, negatives, 500, prevalence)
        assert len(index) == 500
        assert (index < 50).sum() == round(500 * prevalence)
