"""The model card written beside each artifact: data, metrics, limits, intended use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson


def _question_posts(config: dict[str, Any]) -> str:
    """How many hand-labelled posts each question head learned from (round 1 had 368), and
    how its hyper-parameters and calibration were chosen."""
    tasks = {t["name"]: t for t in config["tasks"]}
    question, genuine = tasks.get("question", {}), tasks.get("genuine_question", {})
    folds = question.get("cross_validated", {}).get("folds")
    if folds and genuine.get("cross_validated"):
        return (
            f"{question['cross_validated']['posts']:,} and "
            f"{genuine['cross_validated']['posts']:,} hand-labelled posts (C, class weight and "
            f"calibration chosen on {folds}-fold cross-validation over them, seeded and "
            "stratified, then fitted on all; their validation figure is out-of-fold"
        )
    if question.get("train_size") and genuine.get("train_size"):
        return (
            f"{question['train_size']:,} and {genuine['train_size']:,} hand-labelled posts to "
            "train on, and their validation posts (a seeded 80/20 split"
        )
    return "460 hand-labelled posts (a seeded 80/20 split"


def _calibration_sentence(config: dict[str, Any]) -> str:
    """Which heads an isotonic map follows temperature scaling for."""
    isotonic = [t["name"] for t in config["tasks"] if t.get("isotonic")]
    if not isotonic:
        return "(temperature + class bias)."
    return (
        "(temperature + class bias; for "
        + ", ".join(isotonic)
        + " an isotonic map follows, as it lowered the log-loss of held-out folds)."
    )


def with_interval(score: float, interval: list[float] | None) -> str:
    """A test score as the card and `eval` print it: with its interval where measured."""
    if not interval:
        return f"{score:.1f}"
    return f"{score:.1f} ({interval[0]:.1f}-{interval[1]:.1f})"


def render_card(config: dict[str, Any], report: dict[str, Any]) -> str:
    tier = config["name"]
    lines = [
        f"# Model card: Stormwatch `{tier}` tier, version {config['version']}",
        "",
        f"**What it is.** {config['kind']}. Text is normalised first (users -> `@user`, links ->",
        "`http`, elongations capped, CamelCase hashtags split, escapes decoded). Probabilities",
        "are calibrated per task on the validation split " + _calibration_sentence(config),
        "",
        "**Intended use.** Labelling posts of a hashtag Q&A or brand campaign in bulk so that",
        "shares and prevalences can be estimated; as evidence for people, never as the sole",
        "ground for acting against an account.",
        "",
        "**Training data.** TweetEval (Barbieri et al. 2020) train splits for sentiment,",
        "offensive, hate, irony and emotion; iSarcasmEval (Abu Farha et al. 2022) English train",
        "split (seeded 80/20 train/validation) for sarcasm; for `question` and",
        f"`genuine_question`, {_question_posts(config)}; see",
        "data/questions/GUIDELINE.md), tested on 240 more never used for training or tuning.",
        "English only.",
        *_distillation_lines(config),
        *_arithmetic_lines(config),
        "",
        "## Test figures (official metric x100; ECE = expected calibration error)",
        "",
        "In brackets: the test score's 95% interval over the test posts (bootstrap); a gap",
        "to a published row inside it is not one the test set can show.",
        "",
        "| task | validation | test | ECE (test) | SVM | FastText | RoBERTa-Base | BERTweet |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for task, scores in report["tasks"].items():
        if tier not in scores:
            continue
        published = [
            f"{report['published'][p][task]:.1f}" if task in report["published"][p] else "-"
            for p in report["published"]
        ]
        validation = report["validation"].get(task, {}).get(tier)
        lines.append(
            f"| {task} | {validation if validation is not None else '-'} | "
            f"{with_interval(scores[tier], report.get('interval', {}).get(task, {}).get(tier))}"
            f" | {report['ece'][task][tier]:.3f} | " + " | ".join(published) + " |"
        )
    sarcasm = report["sarcasm"].get(tier)
    if isinstance(sarcasm, dict) and not sarcasm["folds"]:
        lines += [
            "",
            "Sarcasm (iSarcasmEval): F1 of the sarcastic class "
            f"{with_interval(sarcasm['f1_sarcastic'], sarcasm.get('f1_interval'))},",
            f"ECE {sarcasm['ece']:.3f}, on the {sarcasm['n']:,} held-out posts of the train split",
            "(the same posts calibrate the head, so this is optimistic; no test split here).",
            f"The best published system scored {report['sarcasm']['published_best']} on the "
            "official test set.",
        ]
    elif isinstance(sarcasm, dict):
        lines += [
            "",
            f"Sarcasm (iSarcasmEval, {sarcasm['folds']}-fold cross-validation over "
            f"{sarcasm['n']:,} train posts; no test split is available here): F1 of the",
            f"sarcastic class {with_interval(sarcasm['f1_sarcastic'], sarcasm.get('f1_interval'))}"
            f", ECE {sarcasm['ece']:.3f}. The best",
            f"published system scored {report['sarcasm']['published_best']} on the official "
            "test set.",
        ]
    evidence = config.get("quantification_evidence", {})
    if evidence:
        lines += [
            "",
            "## Prevalence estimation (`stormwatch eval quantify --save`)",
            "",
            "Default method per label, measured on samples of 500 posts of each label's test",
            "split (TweetEval; the question labels on the 240 held-out hand-labelled posts,",
            "drawn with replacement), artificial and natural prevalence; see",
            "docs/quantification.md:",
            "",
            "| label | method | mean abs. error | 95% interval coverage (worse protocol) |",
            "|---|---|---|---|",
        ] + [
            f"| {label} | {e['method'].upper()} | {e['mae']:.3f} | {e['coverage']:.2f} |"
            for label, e in sorted(evidence.items())
        ]
        lines += [
            "",
            "Adjusted methods are a default only for negative and offensive. The other labels'",
            "data were selected for their task, and on the bundled campaign their adjusted",
            "estimates went to 0% or 100%: they are counted, and the table gives counting's",
            "error. Sarcasm (no test split here) is counted too.",
        ]
    lines += [
        "",
        f"Speed: {report['speed'][tier]:,} posts/s, one process on a 2-core machine.",
        "",
        "## Limits",
        "- Hate (HatEval) test data is shifted from its training data: the model flags far",
        "  more test posts as hateful than are. Treat the hate label as weak evidence.",
        "- Calibration holds on data like the validation split; under shift (a new crowd,",
        "  another year) probabilities drift. The prevalence estimators correct for this",
        "  with the validation predictions shipped in `validation.npz`.",
        "- English only. Sarcasm, irony and genuine-vs-rhetorical questions often need",
        "  context a single post does not carry; expect many errors on them.",
        *(
            [
                "- Distilled heads learnt part of their view from the accurate tier, whose error",
                "  rates on validation transfer poorly to other years' posts: better labels, but",
                "  their prevalence intervals hold the truth less often than the plain heads' did.",
            ]
            if config.get("distillation")
            else []
        ),
        "",
        "## Reproduce",
        *_reproduce_lines(tier, config),
        "Package versions used: "
        + ", ".join(f"{k} {v}" for k, v in sorted(config["versions"].items()))
        + ".",
    ]
    return "\n".join(lines) + "\n"


def _reproduce_lines(tier: str, config: dict[str, Any]) -> list[str]:
    base = config.get("base")
    source = config.get("source")
    if source:
        return [
            f"Derived without fine-tuning again from the 4-bit model of version "
            f"{source.get('version') or 'unknown'} (model.w4.onnx, sha256 "
            f"{source['model.w4.onnx'][:12]}), then recalibrated. With that version's",
            "model.onnx copied to `.train-cache/accurate/model.w4.onnx`:",
            "```sh",
            f"stormwatch train --tier {tier} --requantise",
            f"stormwatch eval --tier {tier}",
            "```",
            f"`stormwatch train --tier {tier} --fresh` fine-tunes from scratch instead (the",
            "[train] extra): another artifact.",
        ]
    if not base:
        return [
            "```sh",
            f"stormwatch train --tier {tier} --fresh   # rebuilds the artifact files",
            f"stormwatch eval --tier {tier}",
            "```",
            "Identical files need the same data: a changed dataset (../shared/data, or new",
            "labels in data/questions) gives another artifact; config.json lists the shipped",
            "files' digests to compare with.",
        ]
    return [
        f"Built on version {base['version']} (its files as shipped: "
        + ", ".join(f"{name} {digest[:12]}" for name, digest in sorted(base["files"].items()))
        + f"), with only {', '.join(base['retrained'])} retrained; from a checkout holding",
        f"version {base['version']} in the package:",
        "```sh",
        f"stormwatch train --tier {tier} --heads {','.join(base['retrained'])}",
        f"stormwatch eval --tier {tier}",
        "```",
        "`--fresh` instead retrains every head from today's data: another artifact.",
    ]


ARITHMETIC = {
    "fp32": "32-bit floats throughout.",
    "w8": "weights in 8-bit blocks, int8 embedding tables; float arithmetic.",
    "w4": "weights in 4-bit blocks, int8 embedding tables; float arithmetic.",
    "w4r8": "the 4-bit block weights re-quantised to int8 per output column and every "
    "token's activations rounded to int8 with a scale of their own, multiplied in integers "
    "(training/int8_rows.py): a post's probabilities do not depend on the posts batched "
    "with it; the word embeddings in 4-bit blocks of 32.",
}


def _arithmetic_lines(config: dict[str, Any]) -> list[str]:
    """How the shipped graph computes, and the validation means that chose it."""
    weights = config.get("weights")
    if weights not in ARITHMETIC:
        return []
    from stormwatch.training.accurate import PREFERENCE, VALIDATION_TOLERANCE

    means = ", ".join(f"{k} {v}" for k, v in config.get("validation_mean", {}).items())
    return [
        "",
        f"**Arithmetic.** {weights}: {ARITHMETIC[weights]} Mean validation score of each "
        f"variant built: {means}; the shipped one is the first of {', '.join(PREFERENCE)} "
        f"within {VALIDATION_TOLERANCE} points of the reference (fp32, or the source model).",
    ]


def _distillation_lines(config: dict[str, Any]) -> list[str]:
    """Which heads also learnt from a teacher's labels of unlabelled tweets, and which
    teacher (heads kept from an earlier build may have had another), if any."""
    distillation = config.get("distillation")
    if not distillation:
        return []
    posts = {t["name"]: t.get("distilled_posts", 0) for t in config["tasks"]}
    lines = [""]
    for record in (distillation, distillation.get("earlier")):
        if not record:
            continue
        names = record.get("heads", [n for n, k in posts.items() if k])
        heads = ", ".join(f"{n} ({posts[n]:,} posts)" for n in names if posts.get(n)) or "none"
        lines += [
            f"**Distillation.** The {record['teacher']} tier labelled "
            f"{record['posts']:,} unlabelled tweets",
            f"({record['source']}). A TweetEval head kept them (each post once per class,",
            f"weighted {record['weight']} x the teacher's probability) only where that beat "
            f"the plain head by {record['margin']}",
            f"points on validation: {heads}.",
        ]
    return lines


def tier_figures(tier: str, report: dict[str, Any]) -> dict[str, Any]:
    """One tier's measured figures from an evaluation report, for reports to cite."""
    return {
        "tasks": {
            task: {
                "test": scores[tier],
                "validation": report["validation"].get(task, {}).get(tier),
                "ece": report["ece"][task][tier],
                "test_interval": report.get("interval", {}).get(task, {}).get(tier),
                "published": {
                    name: row[task] for name, row in report["published"].items() if task in row
                },
            }
            for task, scores in report["tasks"].items()
            if tier in scores
        },
        "sarcasm": report["sarcasm"].get(tier),
        "posts_per_second": report["speed"][tier],
    }


def write_card(folder: Path, config: dict[str, Any], report: dict[str, Any]) -> None:
    """MODEL_CARD.md for people, evaluation.json (the same figures) for reports."""
    (folder / "MODEL_CARD.md").write_text(render_card(config, report), encoding="utf-8")
    figures = tier_figures(config["name"], report)
    (folder / "evaluation.json").write_bytes(
        orjson.dumps(figures, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    )


def read_figures(tier: str) -> dict[str, Any] | None:
    """The measured figures shipped beside a tier's artifact, if any."""
    from stormwatch.models import artifact_dir

    path = artifact_dir(tier) / "evaluation.json"
    return orjson.loads(path.read_bytes()) if path.is_file() else None
