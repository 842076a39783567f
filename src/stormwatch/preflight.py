"""`stormwatch preflight`: before opening a public Q&A, how hostile is the crowd already?

From a sample of recent posts that mention the brand (or already use the campaign's
hashtag): the baseline prevalence of negative, offensive and ironic posts with intervals,
how concentrated the negativity is, and a risk level from a stated, monotone rule on the
*lower bounds* of those prevalences — so a level is only as high as the evidence is sure.
The baseline it measures can be handed to the early warning (`analyze --baseline`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stormwatch.core.labels import hard_labels
from stormwatch.core.quantify import Cells, binary_views, prevalences
from stormwatch.core.warning import WarningConfig, compared_share
from stormwatch.store.base import ModelRef
from stormwatch.store.sqlite import SQLiteStore

LEVELS = ("low", "elevated", "high", "severe")
# The rule: the highest level any of whose conditions holds; a condition holds when every
# lower bound in it reaches its threshold. Raising any share can only raise the level
# (monotone); every condition is printed with the result. Irony counts only together with
# negativity: the irony head also fires on plain enthusiasm ("what a wonderful idea!").
RULE: dict[str, list[dict[str, float]]] = {
    "severe": [{"negative": 0.50}, {"offensive": 0.30}],
    "high": [{"negative": 0.35}, {"offensive": 0.20}],
    "elevated": [{"negative": 0.20}, {"offensive": 0.10}, {"irony": 0.40, "negative": 0.15}],
}
ADVICE = {
    "low": "an open Q&A is reasonable; keep a moderator on the stream and the early warning on",
    "elevated": (
        "open Q&A only with moderation: questions reviewed before they are shown, a "
        "holding statement ready, the early warning on"
    ),
    "high": (
        "do not open an unmoderated hashtag Q&A: collect questions in advance, answer a "
        "curated set, or use a format you control (a live stream with screened questions)"
    ),
    "severe": (
        "do not run a public Q&A now: the crowd is already hostile; address the grievances "
        "first (statements, direct replies), and reconsider the format later"
    ),
}


def level_for(lows: dict[str, float]) -> tuple[str, list[str]]:
    """The risk level and the reasons, from each label's lower bound."""
    for level in ("severe", "high", "elevated"):
        reasons = [
            " and ".join(
                f"at least {lows[label]:.0%} of posts are {label} "
                f"(the {level} threshold is {threshold:.0%})"
                for label, threshold in condition.items()
            )
            for condition in RULE[level]
            if all(label in lows and lows[label] >= t for label, t in condition.items())
        ]
        if reasons:
            return level, reasons
    return "low", [
        "no share reaches the elevated thresholds: "
        + ", ".join(f"{label} at least {low:.0%}" for label, low in lows.items())
    ]


def concentration(store: SQLiteStore, model: ModelRef) -> dict[str, Any]:
    """How much of the negativity the loudest accounts produce (top 1% and 10% of the
    accounts that posted anything negative)."""
    scored = store.scores(model)
    flags = hard_labels(scored.proba, model.layout).get("negative")
    if flags is None or not flags.any():
        return {"accounts": 0, "negative_posts": 0}
    authors = store.authors_of(scored.rowids[flags].tolist())
    _, counts = np.unique(np.array(authors, dtype=object), return_counts=True)
    counts = np.sort(counts)[::-1]
    total = counts.sum()

    def top(share: float) -> float:
        k = max(1, int(np.ceil(len(counts) * share)))
        return round(float(counts[:k].sum() / total), 3)

    return {
        "accounts": len(counts),
        "negative_posts": int(total),
        "top_1pct_share": top(0.01),
        "top_10pct_share": top(0.10),
    }


def grievance_themes(store: SQLiteStore, model: ModelRef, top: int = 5) -> list[dict[str, Any]]:
    """The themes that hold most of the negative posts, largest share of them first."""
    from stormwatch.models.embedding import load_embedder
    from stormwatch.themes import describe_themes, find_themes

    find_themes(store, load_embedder("static"))
    themes = describe_themes(store, model, examples=3)
    negative = {t["id"]: t["size"] * t["mix"].get("negative", 0.0) for t in themes}
    total = sum(negative.values())
    ranked = sorted(themes, key=lambda t: -negative[t["id"]])
    return [
        {
            "id": t["id"],
            "label": t["label"],
            "keywords": t["keywords"],
            "negative_posts": round(negative[t["id"]]),
            "share_of_negative": round(negative[t["id"]] / total, 3) if total else 0.0,
            "negative_within": t["mix"].get("negative"),
            "examples": t["examples"],
        }
        for t in ranked[:top]
        if negative[t["id"]] > 0
    ]


def assess(
    store: SQLiteStore,
    model: ModelRef,
    brand: str | None = None,
    themes: bool = True,
    purpose: Any = None,
) -> dict[str, Any]:
    from stormwatch.core.quantify import held_short
    from stormwatch.models import interval_evidence, reference_for

    validation, methods = reference_for(model.name, model.version)
    evidence = interval_evidence(model.name, model.version)
    scored = store.scores(model)
    estimated = prevalences(
        scored.proba,
        model.layout,
        validation,
        methods,
        labels=("negative", "offensive", "irony"),
    )
    # The early warning compares what it compares (mean scores, `WarningConfig.method`),
    # so its baseline is measured the same way; the prevalence above stays adjusted.
    views = binary_views(scored.proba, model.layout, validation)
    method = WarningConfig().method
    baseline = {
        label: compared_share(method, Cells.of(scores, decisions), ref).as_dict()
        for label, (scores, decisions, ref) in views.items()
        if label in ("negative", "offensive")
    }
    if purpose is not None and len(scored):
        from stormwatch.purpose import off_purpose_view

        # Counted: the early warning counts a label without validated error rates.
        off = compared_share("cc", Cells.of(*off_purpose_view(store, scored.rowids, purpose)), None)
        baseline["off_purpose"] = off.as_dict()  # judged against, not part of the level rule
    lows = {label: p.low for label, p in estimated.items()}
    level, reasons = level_for(lows)
    concentrated = concentration(store, model)
    if concentrated.get("top_10pct_share", 0) >= 0.5:
        reasons.append(
            f"the loudest 10% of accounts wrote {concentrated['top_10pct_share']:.0%} of the "
            "negative posts: a few loud accounts rather than a broad crowd (moderation and "
            "muting can contain them)"
        )
    elif concentrated.get("accounts"):
        reasons.append(
            f"the negativity is broad: the loudest 10% of accounts wrote "
            f"{concentrated['top_10pct_share']:.0%} of the negative posts"
        )
    short = {
        label: held
        for label, p in estimated.items()
        if (held := held_short(p, evidence.get(label))) is not None
    }
    if short:
        reasons.append(
            "the bounds above come from the model alone, whose 95% intervals held the truth "
            "less often on test posts from other years ("
            + ", ".join(f"{label} {held:.0%}" for label, held in short.items())
            + "): before deciding on them, label 100-200 of these posts "
            "(`stormwatch sample`, then `--crowd-labels`)"
        )
    grievances = grievance_themes(store, model) if themes else None
    if grievances:
        lead = grievances[0]
        reasons.append(
            f"the negativity centres on '{lead['label']}' ({lead['share_of_negative']:.0%} of "
            "the negative posts): expect it to be raised, and prepare an answer"
        )
    return {
        "brand": brand,
        "posts": len(scored),
        "model": {"name": model.name, "version": model.version},
        "prevalence": {label: p.as_dict() for label, p in estimated.items()},
        "concentration": concentrated,
        "themes": grievances,
        "level": level,
        "reasons": reasons,
        "recommendation": ADVICE[level],
        "rule": {
            "levels": list(LEVELS),
            "conditions_on_lower_bounds": RULE,
            "text": "the highest level with a condition whose every 95% lower bound reaches "
            "its threshold",
        },
        "baseline": baseline,
        "campaign_tags": list(store.campaign_tags()),  # read alike by `analyze --baseline`
    }
