"""The `stormwatch` command: a thin layer that parses flags, calls one core function each,
and turns errors into one clear sentence."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import orjson
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from stormwatch import settings
from stormwatch.analysis import (
    RejectsFile,
    RunCounts,
    ingest_and_score,
    likely_campaign_tag,
    parse_window,
    summarize,
)
from stormwatch.cli_common import (
    SAMPLE_TAGS,
    apply_campaign_tags,
    campaign_tag_option,
    emit_json,
    err,
    plain,
    sample_path,
    warning_config,
    warning_option,
)
from stormwatch.core.text import tags_text
from stormwatch.crowd import SheetError
from stormwatch.export import EXPORT_FORMATS
from stormwatch.models import TIERS, load_classifier
from stormwatch.sources.files import FORMATS, InputError, expand_paths, only_posts, read_posts
from stormwatch.sources.tabular import ColumnMap
from stormwatch.store.alerts import AlertStore
from stormwatch.store.sqlite import SQLiteStore

EXIT_NOTHING_READ = 1
EXIT_STRICT = 3


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="stormwatch")
def main() -> None:
    """Stormwatch reads a crowd on social media: ingest the posts of a hashtag Q&A or a
    campaign, label each one, and summarise who is saying what.

    \b
    Start with:  stormwatch demo
    Your posts:  stormwatch analyze posts.jsonl.gz --db campaign.db
    """


def default_db_for(paths: tuple[str, ...]) -> Path:
    """`posts.jsonl.gz` -> `posts.stormwatch.db` in the current folder (stdin -> stdin...)."""
    first = paths[0]
    stem = "stdin" if first == "-" else Path(first.rstrip("/")).name.split(".")[0] or "posts"
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)
    return Path(f"{stem}.stormwatch.db")


def _progress() -> tuple[Progress | None, Callable[[int], None] | None]:
    if not err.is_terminal:
        return None, None
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,.0f} posts"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task("reading, storing and labelling", total=None)
    return bar, lambda n: bar.advance(task, n)


CROWD_OPTION = click.option(
    "--crowd-labels",
    "crowd_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A sheet from `stormwatch sample`, labelled by people: the labels it covers are "
    "estimated from it and the model together (no shift can bias them).",
)


def _crowd_or_none(path: Path | None) -> Any:
    if path is None:
        return None
    from stormwatch.crowd import read_sheet

    try:
        return read_sheet(path)
    except SheetError as exc:
        raise click.BadParameter(str(exc), param_hint="--crowd-labels") from None


def run_analyze(
    paths: tuple[str, ...],
    db: Path,
    fmt: str,
    columns: ColumnMap,
    rejects: Path,
    tier: str,
    count_reposts: bool,
    batch_size: int,
    window_ms: int | None = None,
    all_languages: bool = False,
    baseline: Any = None,
    themes: bool = True,
    purpose: Any = None,
    crowd: Any = None,
    warning: Any = None,
    campaign_tags: tuple[str, ...] | None = None,
) -> tuple[dict[str, Any], RunCounts]:
    # A missing input fails here, before any store file is made. (The paths are expanded
    # again as they are read: an expanded file name may itself look like a glob.)
    expand_paths(paths)
    classifier = load_classifier(tier)
    sink = RejectsFile(rejects)
    with SQLiteStore(db) as store:
        apply_campaign_tags(store, campaign_tags)
        run_id = store.start_run("analyze", {"paths": list(paths), "format": fmt, "tier": tier})
        bar, advance = _progress()
        status = "failed"
        counts = RunCounts()
        try:
            if bar is not None:
                bar.start()
            counts, model = ingest_and_score(
                store,
                classifier,
                read_posts(paths, fmt, columns),
                sink,
                batch_size=batch_size,
                run_id=run_id,
                progress=advance,
            )
            status = "finished"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            if bar is not None:
                bar.stop()
            sink.close()
            store.finish_run(run_id, status, counts.as_dict())
        if themes:
            from stormwatch.models.embedding import load_embedder
            from stormwatch.themes import find_themes

            find_themes(store, load_embedder("static"), log=err.print)
        summary = summarize(
            store,
            model,
            counts,
            include_reposts=count_reposts,
            window_ms=window_ms,
            include_non_english=all_languages,
            baseline=baseline,
            with_themes=themes,
            purpose=purpose,
            crowd=crowd,
            warning=warning,
        )
        summary["likely_campaign_tag"] = likely_campaign_tag(store)
        AlertStore(store.db).record(summary["alerts"])  # kept once, however often re-run
    summary["db"] = str(db)
    summary["rejects_file"] = str(rejects) if counts.rejected or counts.skipped else None
    return summary, counts


def print_summary(summary: dict[str, Any], console: Console) -> None:
    table = Table(title="Stormwatch summary", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    for key, label in (
        ("posts", "posts stored"),
        ("reposts", "of which reposts"),
        ("non_english", "not English (left out of the labels)"),
        ("authors", "unique accounts"),
        ("duplicates", "duplicates (this run)"),
        ("rejected", "rejected lines (this run)"),
        ("skipped", "skipped non-posts (this run)"),
    ):
        table.add_row(label, f"{summary[key]:,}")
    table.add_row("first post", str(summary["first"] or "-"))
    table.add_row("last post", str(summary["last"] or "-"))
    if summary["posts_per_hour"] is not None:
        table.add_row("posts per hour", f"{summary['posts_per_hour']:,.1f}")
    table.add_row(
        "campaign tag (not read by the models)", plain(tags_text(summary["campaign_tags"]))
    )
    console.print(table)
    if summary.get("likely_campaign_tag"):
        tag = summary["likely_campaign_tag"]
        console.print(
            plain(
                f"Most posts carry #{tag}. If it is the campaign's own hashtag, run again with "
                f"--campaign-tag {tag}: the models would otherwise read it as words in every "
                "post (see README, `analyze`)."
            )
        )
    counted = "posts" if summary["shares_include_reposts"] else "original posts"
    shares = Table(
        title="Labels: share counted, and prevalence estimated with its interval",
        caption=f"{summary['labelled']:,} {counted}; model {summary['model']['name']}",
        title_justify="left",
        caption_justify="left",
        min_width=44,
    )
    shares.add_column("label")
    shares.add_column("share", justify="right")
    shares.add_column("estimate", justify="right")
    shares.add_column("95% interval", justify="right")
    shares.add_column("method")
    for label, share in summary["shares"].items():
        p = summary["prevalence"].get(label)
        cells = (
            [f"{p['estimate']:.1%}", f"{p['low']:.1%} – {p['high']:.1%}", p["method"]]
            if p
            else ["-", "-", "-"]
        )
        shares.add_row(label, f"{share:.1%}", *cells)
    console.print(shares)
    for sentence in summary.get("statements", []):
        console.print(f"• {sentence[0].upper()}{sentence[1:]}.")
    if summary.get("purpose"):
        console.print(plain(f"• {summary['purpose']['statement']}."))
    if summary.get("windows"):
        labels = list(summary["windows"][0]["prevalence"]) or []
        series = Table(
            title="Per window, % of posts: estimate (95% interval)", title_justify="left"
        )
        series.add_column("window start")
        series.add_column("posts", justify="right")
        for label in labels:
            series.add_column(label, justify="right")
        for w in summary["windows"]:
            cells = [
                "{estimate:.0%} ({low:.0%}-{high:.0%})".format(**w["prevalence"][label]).replace(
                    "%", ""
                )
                if label in w["prevalence"]
                else "-"
                for label in labels
            ]
            series.add_row(w["start"][5:16].replace("T", " "), f"{w['posts']:,}", *cells)
        console.print(series)
    if summary.get("themes"):
        console.print(themes_table(summary["themes"][:10]))
    _print_alerts(summary, console)
    console.print(f"store: {summary['db']}")
    if summary.get("rejects_file"):
        console.print(f"rejected/skipped lines kept in: {summary['rejects_file']}")


def _print_alerts(summary: dict[str, Any], console: Console, most: int = 10) -> None:
    """The early warning's warning and critical alerts, a line each in the posts' own
    time (watch alerts only counted), and the settings changed from the shipped ones."""
    from stormwatch.core.warning import describe, settings_text

    alerts = summary.get("alerts") or []
    raised = [a for a in alerts if a["level"] != "watch"]
    changed = settings_text(summary.get("warning_settings") or {})
    console.print(
        f"Early warning: {len(raised)} warning or critical alert(s), "
        f"{len(alerts) - len(raised)} watch"
        + (f" (settings changed: {changed})" if changed else ""),
        markup=False,
    )
    for alert in raised[:most]:
        at = alert["at"][:16].replace("T", " ")
        console.print(
            f"• {at} UTC  {describe(alert)}", markup=False, highlight=False, soft_wrap=True
        )
    if len(raised) > most:
        console.print(f"• ... and {len(raised) - most} more (analyze --json lists them all)")


def _purpose_or_none(sentence: str | None, examples: Path | None = None) -> Any:
    """The stated purpose for the hijack signal, or None; a bad one is a usage error."""
    if not sentence and not examples:
        return None
    from stormwatch.purpose import make_purpose

    texts = [p.text for p in only_posts(read_posts([str(examples)], "auto"))] if examples else []
    try:
        return make_purpose(sentence, texts)
    except (ValueError, FileNotFoundError) as exc:
        raise click.BadParameter(str(exc), param_hint="--purpose") from None


def themes_table(themes: list[dict[str, Any]]) -> Table:
    """Themes as a table: id, label with its most typical post beneath it, size, share with
    its interval, and the negative and offensive shares within the theme. The post sits in
    the label's cell, not a column of its own, so the table still reads in an 80-column
    terminal (a column of its own was squeezed to a word a line)."""
    table = Table(title="Themes", title_justify="left")
    table.add_column("id", justify="right")
    table.add_column("theme, and a typical post", ratio=1, overflow="fold")
    table.add_column("posts", justify="right")
    table.add_column("share (95%)", justify="right")
    table.add_column("neg.", justify="right")
    table.add_column("off.", justify="right")
    for t in themes:
        share = t["share"]
        example = t["examples"][0]["text"] if t["examples"] else ""
        cell = plain(t["label"], style="bold")
        if example:
            clipped = example[:90] + ("…" if len(example) > 90 else "")
            cell.append("\n")
            cell.append_text(plain(f"“{clipped}”", style="dim"))
        table.add_row(
            str(t["id"]),
            cell,
            f"{t['size']:,}",
            f"{share['estimate']:.1%}\n{share['low']:.1%}-{share['high']:.1%}",
            f"{t['mix']['negative']:.0%}" if "negative" in t["mix"] else "-",
            f"{t['mix']['offensive']:.0%}" if "offensive" in t["mix"] else "-",
        )
    table.caption = "neg., off.: share of the theme's posts labelled negative, offensive"
    return table


@main.command()
@click.argument("db", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--refresh", is_flag=True, help="Find the themes again (ids of themes found again stay)."
)
@click.option(
    "--embedding",
    type=click.Choice(["static", "minilm"]),
    default="static",
    show_default=True,
    help="static: fast, shipped; minilm: better, needs the [train] extra (PyTorch).",
)
@click.option("--exclude", multiple=True, help="A term never to name a theme by (the brand, say).")
@click.option("--json", "as_json", is_flag=True)
def themes(
    db: Path, refresh: bool, embedding: str, exclude: tuple[str, ...], as_json: bool
) -> None:
    """What the crowd is talking about: themes with keywords, size, share, sentiment and
    abuse mix and typical posts. Finds them first if the store has none (or --refresh)."""
    from stormwatch.models.embedding import load_embedder
    from stormwatch.store.themes import ThemeStore
    from stormwatch.themes import describe_themes, find_themes

    with SQLiteStore(db) as store:
        if refresh or not ThemeStore(store.db).active():
            try:
                embedder = load_embedder(embedding)
            except RuntimeError as exc:
                raise click.ClickException(str(exc)) from None
            terms = frozenset(t.lower().lstrip("#@") for t in exclude) | frozenset(
                t.lower() for t in exclude
            )
            find_themes(store, embedder, exclude=terms, log=err.print)
        found = describe_themes(store, store.latest_model())
    if as_json:
        click.echo(orjson.dumps(found).decode())
    elif not found:
        err.print("no themes: too few posts, or none dense enough to form one")
    else:
        Console().print(themes_table(found))


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite store to write (default: <first input name>.stormwatch.db here).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="auto",
    show_default=True,
    help="Input format; auto recognises each record.",
)
@click.option("--text-column", help="CSV/Parquet column holding the post text.")
@click.option("--id-column", help="CSV/Parquet column holding the post id.")
@click.option("--time-column", help="CSV/Parquet column holding the post time.")
@click.option("--author-column", help="CSV/Parquet column holding the author.")
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to keep rejected lines (default: beside the store).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the JSON summary to this file.",
)
@click.option("--strict", is_flag=True, help=f"Exit {EXIT_STRICT} if any line was rejected.")
@click.option(
    "--count-reposts",
    is_flag=True,
    help="Count reposts as voices in the shares (default: amplification only).",
)
@click.option(
    "--all-languages",
    is_flag=True,
    help="Label shares over every post (default: posts detected as English; the models "
    "are English-only, so other posts are counted as non_english instead).",
)
@click.option(
    "--tier",
    type=click.Choice(TIERS),
    default=lambda: settings.get("tier"),
    show_default="fast",
    help="Classifier tier.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=lambda: settings.get_int("batch_size"),
    show_default="2048",
)
@click.option("--window", help="Also estimate prevalence per time window, e.g. 15m, 1h, 1d.")
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The early warning's baseline: a `preflight --json` result (else learned from the "
    "first hours).",
)
@click.option("--no-themes", is_flag=True, help="Skip finding themes (faster on huge stores).")
@click.option(
    "--purpose",
    help="What the campaign is for, in a sentence: posts far from it count as off-purpose "
    "(hijack), a share the early warning watches.",
)
@click.option(
    "--purpose-examples",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file of example on-purpose posts (any input format), with or instead of --purpose.",
)
@CROWD_OPTION
@warning_option
@campaign_tag_option
def analyze(
    paths: tuple[str, ...],
    db: Path | None,
    fmt: str,
    text_column: str | None,
    id_column: str | None,
    time_column: str | None,
    author_column: str | None,
    rejects: Path | None,
    as_json: bool,
    output: Path | None,
    strict: bool,
    count_reposts: bool,
    all_languages: bool,
    tier: str,
    batch_size: int,
    window: str | None,
    baseline_file: Path | None,
    no_themes: bool,
    purpose: str | None,
    purpose_examples: Path | None,
    crowd_file: Path | None,
    warning_set: tuple[str, ...],
    campaign_tags: tuple[str, ...] | None,
) -> None:
    """Read posts from files, folders, globs or - (stdin), store and label them, and
    summarise the crowd: shares, prevalence, alerts, coordination and themes.

    \b
    Formats are recognised per record: X API v2 (tweets and response pages), Twitter v1.1
    and archives, Mastodon statuses, Bluesky posts and Jetstream events, CSV, Parquet and
    plain text; gzip and zstd are decompressed. Malformed lines are skipped, counted and
    kept in the rejects file; re-running is safe (posts are stored once).

    \b
    Exit status: 0 done, 1 nothing could be read, 2 usage error, 3 rejects with --strict.
    """
    db = db or default_db_for(paths)
    rejects = rejects or db.with_suffix(".rejects.jsonl")
    columns = ColumnMap(text=text_column, id=id_column, time=time_column, author=author_column)
    window_ms = _window_ms(window)
    baseline = None
    baseline_tags = None
    if baseline_file is not None:
        from stormwatch.analysis import read_baseline

        try:
            preflight_result = orjson.loads(baseline_file.read_bytes())
            baseline = read_baseline(preflight_result)
        except (ValueError, orjson.JSONDecodeError) as exc:
            raise click.BadParameter(str(exc), param_hint="--baseline") from None
        baseline_tags = preflight_result.get("campaign_tags")
    stated = _purpose_or_none(purpose, purpose_examples)
    crowd = _crowd_or_none(crowd_file)
    warning = warning_config(warning_set)
    try:
        summary, counts = run_analyze(
            paths,
            db,
            fmt,
            columns,
            rejects,
            tier,
            count_reposts,
            batch_size,
            window_ms,
            all_languages,
            baseline,
            themes=not no_themes,
            purpose=stated,
            crowd=crowd,
            warning=warning,
            campaign_tags=campaign_tags,
        )
    except InputError as exc:
        raise click.ClickException(str(exc)) from None
    except SheetError as exc:  # a sheet that does not fit this store
        raise click.BadParameter(str(exc), param_hint="--crowd-labels") from None
    if not emit_json(summary, as_json, output):
        print_summary(summary, Console())
    if baseline_tags is not None and baseline_tags != summary["campaign_tags"]:
        err.print(
            plain(
                f"The baseline was labelled leaving out {tags_text(baseline_tags)}, this "
                f"campaign leaving out {tags_text(summary['campaign_tags'])}: the early "
                "warning compares unlike readings. Give preflight and analyze the same "
                "--campaign-tag."
            )
        )
    if counts.read == 0:
        err.print(
            f"[red]Nothing could be read from {', '.join(paths)}[/red]: "
            f"{counts.rejected} lines rejected (see {rejects})."
        )
        sys.exit(EXIT_NOTHING_READ)
    if strict and counts.rejected:
        err.print(f"[red]--strict: {counts.rejected} lines rejected[/red] (see {rejects}).")
        sys.exit(EXIT_STRICT)


@main.command()
@click.argument("db", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-n", "size", type=click.IntRange(2, 100_000), default=200, show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The CSV sheet to write.",
)
@click.option(
    "--label",
    "labels",
    multiple=True,
    help="A label column to fill in (repeatable; default: negative and offensive).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--count-reposts", is_flag=True, help="Draw from reposts too (as analyze does).")
@click.option("--all-languages", is_flag=True, help="Draw from every language (as analyze does).")
def sample(
    db: Path,
    size: int,
    output: Path,
    labels: tuple[str, ...],
    seed: int,
    count_reposts: bool,
    all_languages: bool,
) -> None:
    """Draw posts at random into a sheet for people to label (1 or 0 per label column).

    \b
    Label from the top and skip none you find hard (a guess beats a gap: leaving out the
    hard ones biases the sample); then `analyze ... --crowd-labels sheet.csv` estimates
    those labels' shares from the sheet and the model together. Measured by `eval
    quantify` (fast tier, TweetEval test samples): 100 labelled posts, mean error
    0.026-0.030 on sets of 500 posts; 200 labelled, 0.015-0.021 on sets of 500 to 5,000.
    """
    from stormwatch.crowd import DEFAULT_LABELS, write_sheet

    with SQLiteStore(db) as store:
        model = store.latest_model()
        if model is None:
            raise click.ClickException(
                f"{db} has no labelled posts; run `stormwatch analyze` first"
            )
        try:
            n = write_sheet(
                store,
                model,
                output,
                size,
                labels or DEFAULT_LABELS,
                seed,
                include_reposts=count_reposts,
                include_non_english=all_languages,
            )
        except SheetError as exc:
            raise click.BadParameter(str(exc), param_hint="--label") from None
    err.print(f"wrote {n:,} posts to {output}: fill in 1 or 0 per label, from the top")


@main.command()
@click.argument("db", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    default="jsonl",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: stdout; required for parquet).",
)
def export(db: Path, fmt: str, output: Path | None) -> None:
    """Every stored post with its labels, one record per post (see docs/export.md)."""
    from stormwatch import export as exporter

    if fmt == "parquet" and output is None:
        raise click.UsageError("--format parquet needs -o FILE")
    with SQLiteStore(db) as store:
        if fmt == "parquet":
            n = exporter.write_parquet(store, str(output))
        else:
            write = exporter.write_jsonl if fmt == "jsonl" else exporter.write_csv
            if output is None:
                n = write(store, sys.stdout.buffer)
                sys.stdout.buffer.flush()
            else:
                with open(output, "wb") as handle:
                    n = write(store, handle)
    err.print(f"exported {n:,} posts" + (f" to {output}" if output else ""))


@main.command()
@click.argument("db", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("report.html"),
    show_default=True,
    help="HTML file to write.",
)
@click.option("--pdf", is_flag=True, help="Also print it to a PDF beside the HTML (WeasyPrint).")
@click.option("--title", default="Stormwatch report", show_default=True)
@click.option("--window", help="Window width for the charts, e.g. 15m, 1h (default: automatic).")
@click.option("--count-reposts", is_flag=True, help="Count reposts in shares.")
@click.option("--all-languages", is_flag=True, help="Count posts flagged as not English.")
@click.option("--json", "as_json", is_flag=True, help="Print the report's data as JSON.")
@CROWD_OPTION
@warning_option
def report(
    db: Path,
    output: Path,
    pdf: bool,
    title: str,
    window: str | None,
    count_reposts: bool,
    all_languages: bool,
    as_json: bool,
    crowd_file: Path | None,
    warning_set: tuple[str, ...],
) -> None:
    """The post-mortem report of a stored campaign: one self-contained HTML file (charts
    inline, no network needed) to read, print and quote."""
    from stormwatch.report import build_report, render_html, write_pdf

    window_ms = _window_ms(window)
    crowd = _crowd_or_none(crowd_file)
    warning = warning_config(warning_set)
    with SQLiteStore(db) as store:
        model = store.latest_model()
        if model is None:
            raise click.ClickException(
                f"{db} holds no labelled posts; run `stormwatch analyze FILES --db {db}` first"
            )
        from stormwatch.store.themes import ThemeStore

        if not ThemeStore(store.db).active():  # a store made before themes existed
            from stormwatch.models.embedding import load_embedder
            from stormwatch.themes import find_themes

            find_themes(store, load_embedder("static"), log=err.print)
        try:
            data = build_report(
                store, model, count_reposts, all_languages, window_ms, crowd=crowd, warning=warning
            )
        except SheetError as exc:  # a sheet that does not fit this store
            raise click.BadParameter(str(exc), param_hint="--crowd-labels") from None
    html = render_html(data, title)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(html, encoding="utf-8")
    written = [str(output)]
    if pdf:
        try:
            write_pdf(html, output.with_suffix(".pdf"))
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from None
        written.append(str(output.with_suffix(".pdf")))
    if as_json:
        emit_json(data, True, None)
    err.print(f"wrote {' and '.join(written)}")


def _window_ms(window: str | None) -> int | None:
    try:
        return parse_window(window) if window else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--window") from None


@main.command()
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("stormwatch.db"),
    show_default=True,
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--tier", type=click.Choice(TIERS), default=None, help="Classifier tier.")
@click.option("--secure-cookies", is_flag=True, help="Mark cookies Secure (behind HTTPS).")
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The early warning's baseline: a `preflight --json` result.",
)
@click.option("--webhook", "hooks", multiple=True, help="Send warning and critical alerts here.")
@click.option("--webhook-kind", type=click.Choice(["slack", "json"]), default="json")
@click.option("--webhook-secret", envvar="STORMWATCH_WEBHOOK_SECRET", help="HMAC secret (json).")
@click.option(
    "--send-replies",
    is_flag=True,
    help="Post queue answers as replies on their platform (credentials as for `reply`).",
)
@click.option(
    "--credentials",
    "credentials_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="STORMWATCH_CREDENTIALS",
    help="Credentials file (mode 600) for --send-replies.",
)
@click.option("--mastodon-instance", help="Your Mastodon instance, for --send-replies.")
@click.option("--purpose", help="What the campaign is for, in a sentence (the hijack signal).")
@warning_option
@campaign_tag_option
def serve(
    db: Path,
    host: str,
    port: int,
    tier: str | None,
    secure_cookies: bool,
    baseline_file: Path | None,
    hooks: tuple[str, ...],
    webhook_kind: str,
    webhook_secret: str | None,
    send_replies: bool,
    credentials_file: Path | None,
    mastodon_instance: str | None,
    purpose: str | None,
    warning_set: tuple[str, ...],
    campaign_tags: tuple[str, ...] | None,
) -> None:
    """The live Q&A console: ingest API, dashboard, question queue, live sources' status
    (see docs/console.md). Answers to live posts become reply drafts; --send-replies posts
    them."""
    import uvicorn

    from stormwatch.analysis import read_baseline
    from stormwatch.web.app import Config, create_app
    from stormwatch.webhooks import Webhook

    try:
        webhooks = tuple(Webhook(url, webhook_kind, webhook_secret) for url in hooks)
        baseline = (
            read_baseline(orjson.loads(baseline_file.read_bytes())) if baseline_file else None
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    repliers = None
    if send_replies:
        from stormwatch.cli_live import _credentials
        from stormwatch.replies import repliers_from

        endpoints = {"mastodon_instance": mastodon_instance} if mastodon_instance else {}
        repliers = repliers_from(_credentials(credentials_file), **endpoints)
        if not repliers:
            raise click.UsageError("--send-replies needs credentials for at least one platform")
        err.print(f"posting answers as replies on: {', '.join(sorted(repliers))}")
    config = Config(
        secure_cookies=secure_cookies,
        baseline=baseline,
        webhooks=webhooks,
        dead_letters=db.with_suffix(".dead-letters.jsonl"),
        repliers=repliers,
        purpose=_purpose_or_none(purpose),
        warning=warning_config(warning_set),
    )
    with SQLiteStore(db) as store:
        apply_campaign_tags(store, campaign_tags)
    app = create_app(db, load_classifier(tier or settings.get("tier")), config)
    err.print(f"Stormwatch console on http://{host}:{port}/ (store {db}); Ctrl-C stops it")
    uvicorn.run(app, host=host, port=port, log_level="warning")


@main.group()
def token() -> None:
    """API tokens for the ingest API (`Authorization: Bearer TOKEN`)."""


@token.command("create")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--name", default="ingest", show_default=True, help="What the token is for.")
def token_create(db: Path, name: str) -> None:
    """Create a token; it is printed once, as the last line (only its hash is stored)."""
    from stormwatch.store.console import ConsoleStore

    with SQLiteStore(db) as store:
        secret = ConsoleStore(store.db).create_token(name)
    err.print(f"token {name!r} created; keep it, it cannot be shown again:")
    click.echo(secret)


@main.group()
def user() -> None:
    """Console users (viewer, moderator, admin)."""


@user.command("add")
@click.argument("username")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--role", type=click.Choice(["viewer", "moderator", "admin"]), default="moderator")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_add(db: Path, username: str, role: str, password_stdin: bool) -> None:
    """Add a user, or reset an existing user's password and role."""
    from stormwatch.store.console import ConsoleStore

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    with SQLiteStore(db) as store:
        try:
            ConsoleStore(store.db).add_user(username, password, role)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    err.print(f"user {username!r} can log in as {role}")


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to", "url", default="http://127.0.0.1:8000", show_default=True)
@click.option("--token", envvar="STORMWATCH_TOKEN", required=True, help="API token.")
@click.option("--speed", default=60.0, show_default=True, help="Campaign seconds per second.")
@click.option("--batch", default=100, show_default=True, help="Posts per request, at most.")
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Progress file for resuming (default: PATH.replay).",
)
@click.option("--restart", is_flag=True, help="Start from the beginning, ignoring progress.")
def replay(
    path: Path, url: str, token: str, speed: float, batch: int, state: Path | None, restart: bool
) -> None:
    """Send a recorded campaign to a console, keeping the posts' relative timing (sped
    up by --speed); resumable, and safe to repeat (ingest is idempotent)."""
    from stormwatch.replay import ReplayError, replay_file

    state = state or path.with_name(path.name + ".replay")
    if restart and state.exists():
        state.unlink()
    bar, advance = _progress()
    try:
        if bar is not None:
            bar.start()
        result = replay_file(path, url, token, speed, batch, state, advance)
    except ReplayError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if bar is not None:
            bar.stop()
    err.print(
        f"sent {result.sent:,} posts in {result.requests:,} requests: {result.accepted:,} "
        f"accepted, {result.duplicate:,} duplicates, {result.rejected:,} rejected "
        f"({result.retried:,} retries after 429)"
    )


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--brand", help="The brand or campaign, for the output.")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the labelled mentions in this store (default: a temporary one).",
)
@click.option("--tier", type=click.Choice(TIERS), default=None, help="Classifier tier.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="HTML file to write."
)
@click.option(
    "--purpose",
    help="What the Q&A would be for: the off-purpose share joins the baseline (hijack).",
)
@campaign_tag_option
def preflight(
    paths: tuple[str, ...],
    brand: str | None,
    db: Path | None,
    tier: str | None,
    as_json: bool,
    output: Path | None,
    purpose: str | None,
    campaign_tags: tuple[str, ...] | None,
) -> None:
    """Before launch: how hostile are the posts that mention the brand already, and how
    risky is an open Q&A? Prints a risk level (low / elevated / high / severe) with the
    reasons, from a stated rule on the prevalences' lower bounds."""
    import tempfile

    from stormwatch.preflight import assess

    with tempfile.TemporaryDirectory() as folder:
        store_path = db or Path(folder) / "preflight.db"
        classifier = load_classifier(tier or settings.get("tier"))
        with SQLiteStore(store_path) as store:
            apply_campaign_tags(store, campaign_tags)
            try:
                counts, model = ingest_and_score(
                    store,
                    classifier,
                    read_posts(paths),
                    RejectsFile(Path(folder) / "preflight.rejects.jsonl"),
                )
            except InputError as exc:
                raise click.ClickException(str(exc)) from None
            if counts.read == 0:
                raise click.ClickException(f"no posts could be read from {', '.join(paths)}")
            result = assess(store, model, brand, purpose=_purpose_or_none(purpose))
    result["rejected"] = counts.rejected
    if output is not None:
        from stormwatch.report import render_template

        output.write_text(render_template("preflight.html", result=result), encoding="utf-8")
    if emit_json(result, as_json, None):
        return
    console = Console()
    colour = {"low": "green", "elevated": "yellow", "high": "red", "severe": "bold red"}
    console.print(
        plain(f"Risk: {result['level'].upper()}", colour[result["level"]]),
        plain(f"({result['posts']:,} posts{' about ' + brand if brand else ''})"),
    )
    for reason in result["reasons"]:  # they quote theme labels: words of the posts
        console.print(plain(f"  - {reason}"))
    console.print(plain(f"What to do: {result['recommendation']}."))
    for label, p in result["prevalence"].items():
        console.print(
            f"  {label}: {p['estimate']:.1%} (95% interval {p['low']:.1%}-{p['high']:.1%}, "
            f"{p['method'].upper()})"
        )


@main.group()
def alerts() -> None:
    """Alert delivery: Slack-compatible webhooks and HMAC-signed JSON."""


webhook_options = [
    click.option("--hook", "url", required=True, help="The webhook URL."),
    click.option("--kind", type=click.Choice(["slack", "json"]), default="json", show_default=True),
    click.option("--secret", envvar="STORMWATCH_WEBHOOK_SECRET", help="HMAC secret (json)."),
    click.option(
        "--dead-letters",
        type=click.Path(dir_okay=False, path_type=Path),
        default=Path("webhooks.dead.jsonl"),
        show_default=True,
        help="Where failed deliveries are kept.",
    ),
]


def _with_webhook_options(fn: Callable) -> Callable:
    for option in reversed(webhook_options):
        fn = option(fn)
    return fn


@alerts.command("test")
@_with_webhook_options
def alerts_test(url: str, kind: str, secret: str | None, dead_letters: Path) -> None:
    """Send a test alert to a webhook and say whether it arrived."""
    from stormwatch.webhooks import Webhook, deliver, trial_alert

    try:
        hook = Webhook(url, kind, secret)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    result = deliver(hook, trial_alert(), dead_letters)
    if not result.ok:
        raise click.ClickException(
            f"not delivered after {result.attempts} tries ({result.error}); kept in {dead_letters}"
        )
    err.print(f"delivered to {url} (HTTP {result.status}, {result.attempts} try)")


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-out"),
    show_default=True,
    help="Folder for the demo's files.",
)
@click.option(
    "--live",
    is_flag=True,
    help="Start the console and replay the sample into it, as if it were happening now.",
)
@click.option("--port", default=8000, show_default=True, type=int, help="With --live.")
@click.option(
    "--speed", default=600.0, show_default=True, help="With --live: campaign seconds per second."
)
@click.option("--exit", "exit_after", is_flag=True, help="With --live: stop after the replay.")
def demo(out: Path, live: bool, port: int, speed: float, exit_after: bool) -> None:
    """Analyse the bundled sample campaign: a hashtag Q&A that gets hijacked. With --live,
    watch it happen in the console instead."""
    if live:
        from stormwatch.demo_live import run_live_demo

        run_live_demo(out, sample_path(), port, speed, exit_after, err)
        return
    out.mkdir(parents=True, exist_ok=True)
    db = out / "demo.db"
    sample = sample_path()
    err.print(f"Analysing the bundled sample campaign {sample.name} into {db} ...")
    summary, _ = run_analyze(
        (str(sample),),
        db,
        "auto",
        ColumnMap(),
        out / "demo.rejects.jsonl",
        settings.get("tier"),
        False,
        settings.get_int("batch_size"),
        campaign_tags=SAMPLE_TAGS,
    )
    (out / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    from stormwatch import export as exporter

    with SQLiteStore(db) as store, open(out / "posts.jsonl", "wb") as handle:
        exporter.write_jsonl(store, handle)
    from stormwatch.report import build_report, render_html

    with SQLiteStore(db) as store:
        model = store.latest_model()
        assert model is not None  # the sample was just labelled
        data = build_report(store, model)
    (out / "report.html").write_text(
        render_html(data, "#AskBrand sample campaign"), encoding="utf-8"
    )
    print_summary(summary, Console())
    Console().print(
        f"wrote {out / 'summary.json'}, {out / 'posts.jsonl'} and the report {out / 'report.html'}"
    )


def _register_commands() -> None:
    """The commands that live in modules of their own."""
    from stormwatch.cli_bench import bench
    from stormwatch.cli_live import bench_listen, listen, reply
    from stormwatch.cli_models import eval_command, train

    main.add_command(train)
    main.add_command(eval_command)
    main.add_command(bench)
    main.add_command(listen)
    main.add_command(reply)
    bench.add_command(bench_listen)


_register_commands()

if __name__ == "__main__":
    main()
