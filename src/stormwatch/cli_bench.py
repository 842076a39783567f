"""`stormwatch bench`: speed figures (posts/s, latency, peak memory) for each part
(registered on the main group in `cli.py`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.table import Table

from stormwatch.cli_common import data_option, data_root, emit_json, err, sample_path
from stormwatch.models import TIERS


@click.group()
def bench() -> None:
    """Speed benchmarks that print posts/second and peak memory."""


@bench.command("ingest")
@click.option("--posts", "n_posts", type=click.IntRange(1000), default=80_000, show_default=True)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".bench"),
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True)
def bench_ingest(n_posts: int, workdir: Path, as_json: bool) -> None:
    """Parse, store and full-analyze rates on a synthetic X v2 campaign of N posts."""
    from stormwatch.bench import run_ingest_bench

    figures = run_ingest_bench(n_posts, workdir, sample_path())
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(figures, option=orjson.OPT_INDENT_2) + b"\n")
        return
    table = Table(title=f"bench ingest — {n_posts:,} posts", show_header=True)
    table.add_column("stage")
    table.add_column("figure", justify="right")
    table.add_column("target", justify="right")
    for row in figures["rows"]:
        table.add_row(row["stage"], row["figure"], row["target"])
    Console().print(table)


@bench.command("classify")
@click.option("--posts", "n_posts", type=click.IntRange(1000), default=80_000, show_default=True)
@click.option(
    "--tier",
    "tiers",
    type=click.Choice(TIERS),
    multiple=True,
    help="Tier(s) to measure (default: all).",
)
@click.option("--json", "as_json", is_flag=True)
def bench_classify(n_posts: int, tiers: tuple[str, ...], as_json: bool) -> None:
    """Posts/s and peak memory of each classifier tier on N posts (one process per tier)."""
    from stormwatch.bench import run_classify_bench
    from stormwatch.models import available_tiers

    rows = run_classify_bench(n_posts, tiers or available_tiers())
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2) + b"\n")
        return
    table = Table(title=f"bench classify — {n_posts:,} posts, single process")
    for column in ("tier", "posts/s", "seconds", "model load s", "peak MiB"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row["tier"],
            f"{row['posts_per_s']:,}",
            f"{row['seconds']:.1f}",
            f"{row['load_seconds']:.2f}",
            f"{row['peak_mib']:,.0f}",
        )
    Console().print(table)


@bench.command("warning")
@click.option("--rate", default=5000, show_default=True, help="Posts per second simulated.")
@click.option("--minutes", default=240, show_default=True)
def bench_warning(rate: int, minutes: int) -> None:
    """The early-warning detector's throughput on one core (aggregation included)."""
    from stormwatch.bench import run_warning_bench

    emit_json(run_warning_bench(rate, minutes), True, None)


@bench.command("console")
@click.option("--posts", "n_posts", type=click.IntRange(1000), default=40_000, show_default=True)
@click.option(
    "--big",
    type=click.IntRange(0),
    default=500_000,
    show_default=True,
    help="Store size for the page-load stage (0 skips it).",
)
@click.option("--threads", default=4, show_default=True, help="Concurrent client threads.")
@click.option(
    "--rate", default=2500.0, show_default=True, help="Offered posts/s in the paced stage."
)
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path(".bench"))
@click.option("--json", "as_json", is_flag=True)
def bench_console(
    n_posts: int, big: int, threads: int, rate: float, workdir: Path, as_json: bool
) -> None:
    """The console under load on 127.0.0.1: ingest rate and latency, time to the
    dashboard, page load with a big store."""
    from stormwatch.bench_console import run_console_bench

    figures = run_console_bench(
        workdir, sample_path(), n_posts, big, threads, log=err.print, rate=rate
    )
    emit_json(figures, True, None) if as_json else Console().print_json(data=figures)


@bench.command("themes")
@data_option
@click.option("--posts", "n_posts", default=80_000, show_default=True)
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path(".bench"))
def bench_themes(data: Path | None, n_posts: int, workdir: Path) -> None:
    """Themes and coordination over N distinct real tweets (TweetEval texts): time per
    stage and peak memory, in a fresh process."""
    from stormwatch.bench_themes import run_themes_bench

    try:
        figures = run_themes_bench(data_root(data), n_posts, workdir, log=err.print)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    Console().print_json(data=figures)
