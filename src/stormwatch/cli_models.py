"""`stormwatch train` and `stormwatch eval`: rebuild the shipped models and measure them
(registered on the main group in `cli.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from stormwatch.cli_common import (
    data_option,
    data_root,
    emit_json,
    err,
    warning_config,
    warning_option,
)
from stormwatch.evaluation_quantify import HEADLINE_VIEWS, VIEWS
from stormwatch.models import TIERS
from stormwatch.training.accurate import Schedule


@click.command()
@data_option
@click.option(
    "--tier",
    type=click.Choice(["fast", "accurate", "embedding", "purpose"]),
    default="fast",
    show_default=True,
    help="A classifier tier, or the static post embedding used for themes.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Artifact folder (default: the one shipped inside the package).",
)
@click.option(
    "--work",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".train-cache/accurate"),
    show_default=True,
    help="Accurate tier: folder for checkpoints and the unquantised model.",
)
@click.option(
    "--steps",
    type=click.IntRange(1),
    default=Schedule.steps,
    show_default=True,
    help="Accurate tier: fine-tuning steps (batches of 32).",
)
@click.option("--fresh", is_flag=True, help="Ignore checkpoints of an earlier, interrupted run.")
@click.option(
    "--requantise",
    is_flag=True,
    help="Accurate tier: no fine-tuning — derive the int8-arithmetic model from the 4-bit "
    "one in --work (model.w4.onnx, e.g. an earlier release's model.onnx) and recalibrate.",
)
@click.option(
    "--heads",
    metavar="TASK[,TASK]",
    help="Fast tier: retrain only these heads (e.g. question,genuine_question after new "
    "labels), keeping the shipped artifact's IDF and every other head as they are.",
)
def train(
    data: Path | None,
    tier: str,
    out: Path | None,
    work: Path,
    steps: int,
    fresh: bool,
    requantise: bool,
    heads: str | None,
) -> None:
    """Rebuild a classifier tier's artifact from the labelled datasets (seeded, resumable),
    or the static post embedding (`--tier embedding`, distilled from MiniLM).

    The accurate tier and the embedding need the training extra: pip install -e '.[train]'."""
    import shutil

    from stormwatch.evaluation import run_eval
    from stormwatch.models import artifact_dir
    from stormwatch.models.artifact import read_config
    from stormwatch.models.card import write_card

    root = data_root(data)
    if tier == "purpose":
        from stormwatch.purpose import CALIBRATION, calibrate

        err.print(f"calibrating the off-purpose threshold from {root} into {CALIBRATION}")
        calibrate(root, log=err.print)
        return
    out = out or artifact_dir(tier)
    err.print(f"training the {tier} tier from {root} into {out}")
    if tier == "embedding":
        from stormwatch.training.embedding import train_embedding

        work = work if work != Path(".train-cache/accurate") else Path(".train-cache/embedding")
        if fresh:
            shutil.rmtree(work, ignore_errors=True)
        train_embedding(root, out, work, log=err.print)
        err.print(f"wrote {out}")
        return
    if heads and tier != "fast":
        raise click.UsageError("--heads applies to the fast tier only")
    if requantise and tier != "accurate":
        raise click.UsageError("--requantise applies to the accurate tier only")
    if tier == "fast":
        from stormwatch.datasets import TASKS
        from stormwatch.training.fast import train_fast

        retrain = [h.strip() for h in heads.split(",")] if heads else None
        unknown = sorted(set(retrain or ()) - set(TASKS))
        if unknown:
            raise click.BadParameter(
                f"unknown task {', '.join(unknown)} (tasks: {', '.join(TASKS)})",
                param_hint="--heads",
            )
        if fresh:
            shutil.rmtree(out / ".checkpoints", ignore_errors=True)
        # The teacher's labels outlive the build: they only change with the teacher or data.
        train_fast(
            root,
            out,
            log=err.print,
            teacher_cache=Path(".train-cache") / "fast",
            retrain=retrain,
            base=artifact_dir("fast") if retrain else None,
        )
        shutil.rmtree(out / ".checkpoints", ignore_errors=True)
    else:
        from stormwatch.training.accurate import Schedule, finalize, train_accurate

        if fresh and not requantise:
            shutil.rmtree(work, ignore_errors=True)
        if not requantise:
            train_accurate(root, work, Schedule(steps=steps), log=err.print)
        try:
            finalize(root, work, out, log=err.print, requantise=requantise)
        except FileNotFoundError as exc:
            raise click.ClickException(str(exc)) from None
    if out == artifact_dir(tier):
        err.print("evaluating the new artifact for its model card ...")
        report = run_eval(root, (tier,), log=err.print)
        write_card(out, read_config(out), report)
    err.print(f"wrote {out}")


@click.group("eval", invoke_without_command=True)
@data_option
@click.option(
    "--tier",
    "tiers",
    type=click.Choice(TIERS),
    multiple=True,
    help="Tier(s) to evaluate (default: all that are installed).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the JSON to this file.",
)
@click.option("--card", is_flag=True, help="Rewrite each trained tier's MODEL_CARD.md.")
@click.pass_context
def eval_command(
    ctx: click.Context,
    data: Path | None,
    tiers: tuple[str, ...],
    as_json: bool,
    output: Path | None,
    card: bool,
) -> None:
    """Official TweetEval metrics (test splits) per tier beside the published leaderboard,
    calibration error (ECE), posts/s; iSarcasmEval F1 cross-validated; the question tasks
    on their held-out posts. `stormwatch eval quantify` evaluates prevalence estimates."""
    if ctx.invoked_subcommand is not None:
        return
    from stormwatch.evaluation import run_eval

    root = data_root(data)
    from stormwatch.models import available_tiers

    report = run_eval(root, tiers or available_tiers(), log=err.print)
    if card:
        from stormwatch.models import artifact_dir
        from stormwatch.models.artifact import read_config
        from stormwatch.models.card import write_card

        for tier in report["speed"]:
            if tier != "baseline":
                write_card(artifact_dir(tier), read_config(artifact_dir(tier)), report)
    if not emit_json(report, as_json, output):
        print_eval(report, Console())


@eval_command.command("warning")
@data_option
@click.option("--tier", type=click.Choice(["fast", "accurate"]), default="fast", show_default=True)
@click.option(
    "--split",
    type=click.Choice(["test", "val"]),
    default="test",
    show_default=True,
    help="Posts the streams are built from (thresholds were chosen on val).",
)
@click.option("--calm", type=click.IntRange(1), default=8, show_default=True, help="Calm streams.")
@click.option("--hijack", type=click.IntRange(1), default=20, show_default=True)
@click.option(
    "--viral",
    type=click.IntRange(0),
    default=20,
    show_default=True,
    help="Streams with a friendly viral surge (a warning there is a false alarm).",
)
@click.option("--seed", default=0, show_default=True)
@warning_option
@click.option("--json", "as_json", is_flag=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
def eval_warning(
    data: Path | None,
    tier: str,
    split: str,
    calm: int,
    hijack: int,
    viral: int,
    seed: int,
    warning_set: tuple[str, ...],
    as_json: bool,
    output: Path | None,
) -> None:
    """Early-warning detection delay on simulated hijacks and false alarms on calm
    streams (built from labelled TweetEval posts), beside the k-sigma spike rule. Choose
    settings on `--split val`; report the test split's figures."""
    from stormwatch.core.warning import changed_settings, settings_text
    from stormwatch.evaluation_warning import run_warning_eval

    config = warning_config(warning_set)
    report = run_warning_eval(
        data_root(data),
        tier,
        split,
        calm,
        hijack,
        seed,
        config,
        log=err.print,
        viral_streams=viral,
    )
    if emit_json(report, as_json, output):
        return
    table = Table(title=f"eval warning — {tier} tier, streams from the {split} split")
    for column in ("rule", "false alarms / week", "delay median min", "p90 min", "detected"):
        table.add_column(column, justify="right")
    rows = [
        (
            f"Stormwatch {level}+",
            report["calm"]["false_alarms_per_week"][level],
            report["hijack"][level]["minutes"],
        )
        for level in ("watch", "warning", "critical")
    ] + [
        (f"spike rule {name}", row["false_alarms_per_week"], row["minutes"])
        for name, row in report["spike_rule"].items()
    ]
    from stormwatch.models.card import with_interval

    def cell(delay: dict, name: str) -> str:
        return "-" if delay[name] is None else with_interval(delay[name], delay[f"{name}_ci"])

    for name, false_alarms, delay in rows:
        table.add_row(
            name,
            f"{false_alarms:.3f}",
            cell(delay, "median"),
            cell(delay, "p90"),
            delay["detected"],
        )
    Console().print(table)
    err.print("delays: minutes after onset, with 95% intervals over the hijack streams (bootstrap)")
    changed = settings_text(changed_settings(config))
    if changed:
        err.print(f"detector settings changed: {changed} (the rest as shipped)")
    surges = report["viral"]
    err.print(
        f"friendly viral surges (volume 10-50x, mood unchanged): {surges['streams']} streams, "
        f"watch+ on {surges['raised']['watch']}, warning+ on {surges['raised']['warning']} "
        f"(false alarms), critical on {surges['raised']['critical']}"
    )
    err.print(
        f"{report['calm']['weeks']} calm weeks; detector speed "
        f"{report['minutes_per_second']:,} stream-minutes/s (includes building the streams)"
    )


@eval_command.command("duplicates")
@data_option
@click.option("--groups", default=300, show_default=True, help="Planted copy-paste groups.")
@click.option("--background", default=5000, show_default=True, help="Other real posts.")
@click.option("--seed", default=0, show_default=True)
def eval_duplicates(data: Path | None, groups: int, background: int, seed: int) -> None:
    """Near-duplicate detection on planted copy-paste groups (real TweetEval posts copied
    with small edits): pair precision and recall, and the time taken."""
    from stormwatch.evaluation_duplicates import run_duplicates_eval

    emit_json(run_duplicates_eval(data_root(data), groups, background, seed), True, None)


@eval_command.command("themes")
@data_option
@click.option("--split", type=click.Choice(["test", "train"]), default="test", show_default=True)
@click.option("--no-minilm", is_flag=True, help="Only the static embedding (no PyTorch needed).")
def eval_themes(data: Path | None, split: str, no_minilm: bool) -> None:
    """Themes against the five TweetEval stance targets mixed: NMI, ARI, noise share and
    time, for Stormwatch and BERTopic-style and k-means baselines."""
    from stormwatch.evaluation_themes import run_themes_eval

    report = run_themes_eval(data_root(data), split, minilm=not no_minilm, log=err.print)
    table = Table(title=report["data"], title_justify="left")
    for column in (
        "method",
        "embedding",
        "themes",
        "noise",
        "NMI",
        "ARI",
        "NMI (noise a group)",
        "s",
    ):
        table.add_column(column)
    for r in report["rows"]:
        table.add_row(
            r["method"],
            r["embedding"],
            str(r["themes"]),
            f"{r['noise']:.0%}",
            f"{r['nmi']:.3f}",
            f"{r['ari']:.3f}",
            f"{r['nmi_noise_as_group']:.3f}",
            f"{r['seconds']:.1f}",
        )
    err.print(table)
    d = report["near_duplicates"]
    err.print(
        f"planted copy-paste groups: precision {d['precision']:.3f}, recall {d['recall']:.3f}"
    )
    if report["minilm_skipped"]:
        err.print(f"MiniLM rows skipped: {report['minilm_skipped']}")
    emit_json(report, True, None)


@eval_command.command("quantify")
@data_option
@click.option("--tier", type=click.Choice(TIERS), default="fast", show_default=True)
@click.option(
    "--label",
    "labels",
    type=click.Choice([*VIEWS, "all"]),
    multiple=True,
    help="Binary view(s) to evaluate, each on its own task's test split; `all`: every one "
    "(default: negative, offensive).",
)
@click.option("--sizes", default="100,500,5000", show_default=True, help="Sample sizes.")
@click.option(
    "--samples",
    type=click.IntRange(1),
    default=20,
    show_default=True,
    help="Samples per prevalence point.",
)
@click.option(
    "--replicates",
    type=click.IntRange(10),
    default=200,
    show_default=True,
    help="Bootstrap replicates per interval.",
)
@click.option("--json", "as_json", is_flag=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--save", is_flag=True, help="Record each label's measured-best method as the tier's default."
)
def eval_quantify(
    data: Path | None,
    tier: str,
    labels: tuple[str, ...],
    sizes: str,
    samples: int,
    replicates: int,
    as_json: bool,
    output: Path | None,
    save: bool,
) -> None:
    """Prevalence error and interval coverage: artificial- and natural-prevalence protocols
    on the TweetEval test sets, every method side by side."""
    from stormwatch.evaluation_quantify import run_quantify_eval

    root = data_root(data)
    try:
        size_list = [int(x) for x in sizes.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"{sizes!r} is not a list like 100,500", "--sizes") from None
    chosen = tuple(VIEWS) if "all" in labels else labels or HEADLINE_VIEWS
    report = run_quantify_eval(
        root,
        tier,
        chosen,
        size_list,
        samples,
        replicates,
        log=err.print,
    )
    if save:
        from stormwatch.evaluation_quantify import record_defaults
        from stormwatch.models import artifact_dir
        from stormwatch.models.artifact import read_config, write_config

        folder = artifact_dir(tier)
        config = record_defaults(read_config(folder), report)
        write_config(folder, config)
        err.print(f"saved default methods {config['quantification']} to {folder}")
    if emit_json(report, as_json, output):
        return
    table = Table(
        title=f"Prevalence estimation, {tier} tier: mean absolute error "
        "(coverage of 95% intervals, mean width)",
        title_justify="left",
    )
    table.add_column("label / protocol / n")
    methods = list(dict.fromkeys(m for row in report["table"].values() for m in row))
    for m in methods:
        table.add_column(m.upper(), justify="right")
    for key, row in report["table"].items():
        table.add_row(
            key,
            *[
                f"{row[m]['mae']:.3f} ({row[m]['coverage']:.2f}, {row[m]['width']:.2f})"
                if m in row
                else "-"
                for m in methods
            ],
        )
    Console().print(table)


def print_eval(report: dict[str, Any], console: Console) -> None:
    from stormwatch.models.card import with_interval

    tiers = list(report["speed"])
    table = Table(
        title="Test sets, official metric x100 (its 95% interval over the test posts), ECE",
        title_justify="left",
    )
    table.add_column("task")
    for name in [*tiers, *report["published"]]:
        table.add_column(name, justify="right")
    for task, scores in report["tasks"].items():
        cells = [
            f"{with_interval(scores[t], report['interval'][task][t])}, {report['ece'][task][t]:.3f}"
            if t in scores
            else "-"
            for t in tiers
        ]
        published = [
            f"{report['published'][p][task]:.1f}" if task in report["published"][p] else "-"
            for p in report["published"]
        ]
        table.add_row(task, *cells, *published)
    table.add_row(
        "posts/s", *[f"{report['speed'][t]:,}" for t in tiers], *["" for _ in report["published"]]
    )
    console.print(table)
    for tier, figures in report["sarcasm"].items():
        if isinstance(figures, dict) and not figures["folds"]:
            console.print(
                f"iSarcasmEval ({tier}, {figures['n']:,} held-out train posts): F1 sarcastic "
                f"{with_interval(figures['f1_sarcastic'], figures.get('f1_interval'))}, "
                f"ECE {figures['ece']:.3f}"
            )
        elif isinstance(figures, dict):
            console.print(
                f"iSarcasmEval ({tier}, {figures['folds']}-fold CV on {figures['n']:,} train "
                "posts): F1 sarcastic "
                f"{with_interval(figures['f1_sarcastic'], figures.get('f1_interval'))}, "
                f"ECE {figures['ece']:.3f} "
                f"(best published system, official test: {report['sarcasm']['published_best']})"
            )
