"""The `stormwatch` command: a thin layer that parses flags, calls one core function each,
and turns errors into one clear sentence."""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib.resources import as_file, files
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
    parse_window,
    summarize,
)
from stormwatch.export import EXPORT_FORMATS
from stormwatch.models import TIERS, load_classifier
from stormwatch.sources.files import FORMATS, InputError, only_posts, read_posts
from stormwatch.sources.tabular import ColumnMap
from stormwatch.store.alerts import AlertStore
from stormwatch.store.sqlite import SQLiteStore
from stormwatch.training.accurate import Schedule

EXIT_NOTHING_READ = 1
EXIT_STRICT = 3
SAMPLE = "sample_campaign.jsonl.gz"

err = Console(stderr=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="stormwatch")
def main() -> None:
    """Stormwatch reads a crowd on social media: ingest the posts of a hashtag Q&A or a
    campaign, label each one, and summarise who is saying what.

    \b
    Start with:  stormwatch demo
    Your posts:  stormwatch analyze posts.jsonl.gz --db campaign.db
    """


data_option = click.option(
    "--data",
    "data",
    type=click.Path(file_okay=False, path_type=Path),
    help="Datasets folder (default: STORMWATCH_DATA_DIR or ../shared/data).",
)


def emit_json(obj: Any, as_json: bool, output: Path | None) -> bool:
    """Write `obj` as indented JSON to `output` (if given) and to stdout (if `as_json`);
    True when stdout got the JSON, so the caller prints no tables."""
    payload = orjson.dumps(obj, option=orjson.OPT_INDENT_2) + b"\n"
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(payload)
    if as_json:
        sys.stdout.buffer.write(payload)
        sys.stdout.flush()
    return as_json


def data_root(data: Path | None) -> Path:
    """The datasets folder, or one clear sentence saying what to set."""
    try:
        return settings.data_dir(data)
    except settings.SettingError as exc:
        raise click.ClickException(str(exc)) from None


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
) -> tuple[dict[str, Any], RunCounts]:
    classifier = load_classifier(tier)
    sink = RejectsFile(rejects)
    with SQLiteStore(db) as store:
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
        )
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
    console.print(table)
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
        console.print(f"• {summary['purpose']['statement']}.")
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
    console.print(f"store: {summary['db']}")
    if summary.get("rejects_file"):
        console.print(f"rejected/skipped lines kept in: {summary['rejects_file']}")


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
    """Themes as a table: id, label, size, share with its interval, negative and offensive
    shares within the theme, and its most typical post."""
    table = Table(title="Themes", title_justify="left")
    for column in ("id", "theme", "posts", "share (95%)", "negative", "offensive", "for example"):
        justify = "right" if column in ("id", "posts", "negative", "offensive") else "left"
        table.add_column(column, justify=justify, overflow="fold")
    for t in themes:
        share = t["share"]
        example = t["examples"][0]["text"] if t["examples"] else ""
        table.add_row(
            str(t["id"]),
            t["label"],
            f"{t['size']:,}",
            f"{share['estimate']:.1%} ({share['low']:.1%}-{share['high']:.1%})",
            f"{t['mix']['negative']:.0%}" if "negative" in t["mix"] else "-",
            f"{t['mix']['offensive']:.0%}" if "offensive" in t["mix"] else "-",
            example[:90] + ("…" if len(example) > 90 else ""),
        )
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
    if baseline_file is not None:
        from stormwatch.analysis import read_baseline

        try:
            baseline = read_baseline(orjson.loads(baseline_file.read_bytes()))
        except (ValueError, orjson.JSONDecodeError) as exc:
            raise click.BadParameter(str(exc), param_hint="--baseline") from None
    stated = _purpose_or_none(purpose, purpose_examples)
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
        )
    except InputError as exc:
        raise click.ClickException(str(exc)) from None
    if not emit_json(summary, as_json, output):
        print_summary(summary, Console())
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
def report(
    db: Path,
    output: Path,
    pdf: bool,
    title: str,
    window: str | None,
    count_reposts: bool,
    all_languages: bool,
    as_json: bool,
) -> None:
    """The post-mortem report of a stored campaign: one self-contained HTML file (charts
    inline, no network needed) to read, print and quote."""
    from stormwatch.report import build_report, render_html, write_pdf

    window_ms = _window_ms(window)
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
        data = build_report(store, model, count_reposts, all_languages, window_ms)
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
    )
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
def preflight(
    paths: tuple[str, ...],
    brand: str | None,
    db: Path | None,
    tier: str | None,
    as_json: bool,
    output: Path | None,
    purpose: str | None,
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
        f"[{colour[result['level']]}]Risk: {result['level'].upper()}[/] "
        f"({result['posts']:,} posts{' about ' + brand if brand else ''})"
    )
    for reason in result["reasons"]:
        console.print(f"  - {reason}")
    console.print(f"What to do: {result['recommendation']}.")
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


def sample_path() -> Path:
    """The bundled sample campaign (see src/stormwatch/data/SAMPLE.md)."""
    with as_file(files("stormwatch.data") / SAMPLE) as path:
        return Path(path)


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


@main.command()
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
def train(
    data: Path | None, tier: str, out: Path | None, work: Path, steps: int, fresh: bool
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
    if tier == "fast":
        from stormwatch.training.fast import train_fast

        if fresh:
            shutil.rmtree(out / ".checkpoints", ignore_errors=True)
        train_fast(root, out, log=err.print)
        shutil.rmtree(out / ".checkpoints", ignore_errors=True)
    else:
        from stormwatch.training.accurate import Schedule, finalize, train_accurate

        if fresh:
            shutil.rmtree(work, ignore_errors=True)
        train_accurate(root, work, Schedule(steps=steps), log=err.print)
        finalize(root, work, out, log=err.print)
    if out == artifact_dir(tier):
        err.print("evaluating the new artifact for its model card ...")
        report = run_eval(root, (tier,), log=err.print)
        write_card(out, read_config(out), report)
    err.print(f"wrote {out}")


@main.group("eval", invoke_without_command=True)
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
    as_json: bool,
    output: Path | None,
) -> None:
    """Early-warning detection delay on simulated hijacks and false alarms on calm
    streams (built from labelled TweetEval posts), beside the k-sigma spike rule."""
    from stormwatch.evaluation_warning import run_warning_eval

    report = run_warning_eval(
        data_root(data), tier, split, calm, hijack, seed, log=err.print, viral_streams=viral
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
    for name, false_alarms, delay in rows:
        table.add_row(
            name, f"{false_alarms:.3f}", str(delay["median"]), str(delay["p90"]), delay["detected"]
        )
    Console().print(table)
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
    type=click.Choice(["negative", "offensive", "hate", "irony"]),
    multiple=True,
    help="Binary view(s) to evaluate (default: negative, offensive).",
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
    report = run_quantify_eval(
        root,
        tier,
        labels or ("negative", "offensive"),
        size_list,
        samples,
        replicates,
        log=err.print,
    )
    if save:
        from stormwatch.evaluation_quantify import choose_methods
        from stormwatch.models import artifact_dir
        from stormwatch.models.artifact import read_config, write_config

        folder = artifact_dir(tier)
        config = read_config(folder)
        evidence = choose_methods(report)
        config["quantification"] = {label: e["method"] for label, e in evidence.items()}
        config["quantification_evidence"] = evidence
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
    tiers = list(report["speed"])
    table = Table(
        title="TweetEval test sets, official metric x100 (ECE in brackets)", title_justify="left"
    )
    table.add_column("task")
    for name in [*tiers, *report["published"]]:
        table.add_column(name, justify="right")
    for task, scores in report["tasks"].items():
        cells = [
            f"{scores[t]:.1f} ({report['ece'][task][t]:.3f})" if t in scores else "-" for t in tiers
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
                f"{figures['f1_sarcastic']:.1f}, ECE {figures['ece']:.3f}"
            )
        elif isinstance(figures, dict):
            console.print(
                f"iSarcasmEval ({tier}, {figures['folds']}-fold CV on {figures['n']:,} train "
                f"posts): F1 sarcastic {figures['f1_sarcastic']:.1f}, ECE {figures['ece']:.3f} "
                f"(best published system, official test: {report['sarcasm']['published_best']})"
            )


@main.group()
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


def _register_live_commands() -> None:
    from stormwatch.cli_live import bench_listen, listen, reply

    main.add_command(listen)
    main.add_command(reply)
    bench.add_command(bench_listen)


_register_live_commands()

if __name__ == "__main__":
    main()
