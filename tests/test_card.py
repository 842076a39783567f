"""The model card tells which heads learnt from the teacher, and says nothing of it when
none did."""

from stormwatch.models import artifact_dir
from stormwatch.models.artifact import read_config
from stormwatch.models.card import render_card


def _report() -> dict:
    return {
        "tasks": {"offensive": {"fast": 75.9}},
        "published": {"FastText": {"offensive": 73.4}},
        "validation": {"offensive": {"fast": 74.6}},
        "ece": {"offensive": {"fast": 0.051}},
        "sarcasm": {"published_best": 60.5},
        "speed": {"fast": 30_000},
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
