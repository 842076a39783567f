import numpy as np

from stormwatch.core.labels import Layout, Task, hard_labels
from stormwatch.core.triage import group_questions, priority, split_questions

LAYOUT = Layout(
    (
        Task("offensive", ("not_offensive", "offensive")),
        Task("irony", ("not_irony", "irony")),
        Task("question", ("not_question", "question")),
        Task("genuine_question", ("not_genuine", "genuine")),
    )
)


def rows(*cases):
    """Each case: P(offensive), P(irony), P(question), P(genuine)."""
    return np.array([[1 - o, o, 1 - i, i, 1 - q, q, 1 - g, g] for o, i, q, g in cases])


def test_offensive_or_not_genuine_questions_go_to_the_hostile_list():
    proba = rows(
        (0.1, 0.1, 0.9, 0.9), (0.9, 0.1, 0.9, 0.9), (0.1, 0.1, 0.9, 0.2), (0.1, 0.1, 0.1, 0.9)
    )
    split = split_questions(hard_labels(proba, LAYOUT), len(proba))
    assert split.question.tolist() == [True, True, True, False]
    assert split.genuine.tolist() == [True, False, False, False]
    assert split.hostile.tolist() == [False, True, True, False]


def test_priority_prefers_civil_engaged_recent_questions():
    proba = rows(*[(0.05, 0.05, 0.9, 0.9)] * 4 + [(0.6, 0.05, 0.9, 0.9), (0.05, 0.7, 0.9, 0.9)])
    now = 10_000_000
    created = np.array([now, now, now - 3_600_000, -1, now, now])
    engagement = np.array([0, 50, 0, 0, 0, 0])
    score = priority(proba, LAYOUT, created, engagement, now_ms=now)
    assert score[1] > score[0] > score[2] > score[3]  # engaged > plain > an hour old > no time
    assert score[0] > score[4] and score[0] > score[5]  # civil and sincere first


def test_copies_are_grouped_counted_and_led_by_the_first_asked():
    texts = [
        "What time do you open on Sunday? #AskBrand 1",
        "@brand what time do you open on sunday?? #AskBrand 2 http://t.co/x",
        "Can I open an account online?",
        "What time do you open on Sunday",
    ]
    groups = group_questions([10, 11, 12, 13], texts, [0.5, 0.4, 0.45, 0.3])
    assert [g.count for g in groups] == [3, 1]
    assert groups[0].lead == 10 and groups[0].rowids == [10, 11, 13]
    # Asked three times outranks a single question with a slightly better score.
    assert groups[0].score > 0.5 > groups[1].score
