"""The model card tells which heads learnt from the teacher, and says nothing of it when
none did."""

from stormwatch.models import artifact_dir
from stormwatch.models.artifact import read_config
from stormwatch.models.card import render_card


def _report(tier: str = "fast") -> dict:
    return {
        "tasks": {"offensive": {tier: 75.9}},
        "published": {"FastText": {"offensive": 73.4}},
        "validation": {"offensive": {tier: 74.6}},
        "ece": {"offensive": {tier: 0.051}},
        "sarcasm": {"published_best": 60.5},
        "speed": {tier: 30_000},
    }


def test_card_names_the_distilled_heads_and_the_teacher():
    config = read_config(artifact_dir("fast"))
    card = render_card(config, _report())
    distilled = [t for t in config["tasks"] if t.get("distilled_posts")]
    assert distilled, "the shipped fast tier has distilled heads"
    for task in distilled:
        assert f"{task['name']} ({task['distilled_posts']:,} posts)" in card
    assert "sentiment (" not in card  # never distilled (see training.fast.DISTIL_TASKS)
    assert config["distillation"]["teacher"] in card
    assert "Distilled heads learnt part of their view" in card
    assert "| offensive | 74.6 | 75.9 | 0.051 | 73.4 |" in card


def test_card_of_a_plain_model_says_nothing_of_distillation():
    config = dict(read_config(artifact_dir("fast")), distillation=None)
    card = render_card(config, _report())
    assert "Distillation" not in card and "Distilled heads" not in card


def test_card_of_the_requantised_accurate_tier_says_how_it_computes_and_how_to_rebuild():
    config = read_config(artifact_dir("accurate"))
    card = render_card(config, _report("accurate"))
    assert config["weights"] == "w4r8"
    assert "**Arithmetic.** w4r8:" in card and "multiplied in integers" in card
    assert all(f"{k} {v}" in card for k, v in config["validation_mean"].items())
    source = config["source"]
    sha = source["model.w4.onnx"][:12]
    assert f"version {source['version']} (model.w4.onnx, sha256 {sha})" in card
    assert "stormwatch train --tier accurate --requantise" in card
    # Fine-tuned by torch in an earlier run: its version is the one the card states.
    assert "torch 2.13.0" in card


def test_card_of_a_tier_without_a_recorded_arithmetic_says_nothing_of_it():
    config = read_config(artifact_dir("fast"))
    assert "weights" not in config
    assert "**Arithmetic.**" not in render_card(config, _report())


def test_card_names_each_teacher_and_its_heads():
    config = read_config(artifact_dir("fast"))
    first = dict(config["distillation"], teacher="accurate 1.0.0", heads=["hate"])
    config["distillation"] = dict(first, teacher="accurate 9.9.9", heads=["offensive"])
    config["distillation"]["earlier"] = first
    card = render_card(config, _report())
    assert card.count("**Distillation.**") == 2
    assert "The accurate 9.9.9 tier labelled" in card and "The accurate 1.0.0 tier" in card
    hate = next(t for t in config["tasks"] if t["name"] == "hate")
    assert f"points on validation: hate ({hate['distilled_posts']:,} posts)." in card


def test_card_says_how_the_question_heads_were_chosen_and_which_heads_are_isotonic():
    config = read_config(artifact_dir("fast"))
    card = render_card(config, _report())
    entry = next(t for t in config["tasks"] if t["name"] == "question")
    posts = entry["cross_validated"]["posts"]
    assert f"`genuine_question`, {posts:,} and {posts:,} hand-labelled posts (C, class" in card
    assert "5-fold cross-validation over them" in card
    isotonic = [t["name"] for t in config["tasks"] if t.get("isotonic")]
    assert isotonic and set(isotonic) <= {"question", "genuine_question"}
    assert f"for {', '.join(isotonic)} an isotonic map follows" in card
    # An artifact of the earlier recipe: a validation split, temperature and bias only.
    older = dict(
        config,
        tasks=[
            {k: v for k, v in t.items() if k not in ("cross_validated", "isotonic")}
            for t in config["tasks"]
        ],
    )
    card = render_card(older, _report())
    assert "hand-labelled posts to train on, and their validation posts (a seeded 80/20" in card
    assert "(temperature + class bias)." in card and "isotonic" not in card


def test_card_prints_each_test_score_with_its_interval_where_measured():
    config = read_config(artifact_dir("fast"))
    report = dict(_report(), interval={"offensive": {"fast": [74.0, 77.8]}})
    card = render_card(config, report)
    assert "| offensive | 74.6 | 75.9 (74.0-77.8) | 0.051 | 73.4 |" in card
    assert "95% interval over the test posts" in card
