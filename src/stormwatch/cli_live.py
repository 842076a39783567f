"""`stormwatch listen`, `stormwatch reply` and `stormwatch bench listen`: the live
connectors on the command line (registered on the main group in `cli.py`; shared pieces
in `cli_common.py`)."""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click
import orjson
from rich.console import Console, Group
from rich.live import Live as RichLive
from rich.table import Table

from stormwatch import settings
from stormwatch.cli_common import apply_campaign_tags, campaign_tag_option, err, plain
from stormwatch.models import TIERS, load_classifier
from stormwatch.sources.credentials import Credentials, CredentialsError, load

credentials_option = click.option(
    "--credentials",
    "credentials_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="STORMWATCH_CREDENTIALS",
    help="TOML file with [x] [mastodon] [bluesky] secrets, mode 600 "
    "(environment variables STORMWATCH_X_BEARER_TOKEN etc. win over it).",
)


def _credentials(path: Path | None) -> Credentials:
    try:
        return load(path)
    except CredentialsError as exc:
        raise click.UsageError(str(exc)) from None


# --- listen --------------------------------------------------------------------------------


@click.command()
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--x-rule", "x_rules", multiple=True, help="X filtered-stream rule, e.g. '#AskX -is:retweet'."
)
@click.option("--x-search", is_flag=True, help="Also fetch the rules' past week via recent search.")
@click.option("--x-api", default="https://api.x.com", show_default=True, help="X API base URL.")
@click.option("--mastodon-tag", help="Hashtag to follow on Mastodon (without #).")
@click.option("--mastodon-instance", help="Mastodon instance URL, e.g. https://mastodon.social.")
@click.option("--mastodon-streaming", help="Streaming API base, if not on the instance's host.")
@click.option(
    "--mastodon-transport",
    type=click.Choice(["sse", "websocket"]),
    default="sse",
    show_default=True,
)
@click.option("--bluesky-tag", "bluesky_tags", multiple=True, help="Hashtag to follow on Bluesky.")
@click.option(
    "--jetstream-url",
    default="wss://jetstream2.us-east.bsky.network/subscribe",
    show_default=True,
)
@credentials_option
@click.option("--tier", type=click.Choice(TIERS), default=None, help="Classifier tier.")
@click.option("--no-score", is_flag=True, help="Only store; score later with `analyze`.")
@click.option("--duration", type=float, help="Stop after this many seconds (default: Ctrl-C).")
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=Path), help="Rejects file.")
@click.option("--json", "as_json", is_flag=True, help="Print the final status as JSON.")
@campaign_tag_option
def listen(
    db: Path,
    x_rules: tuple[str, ...],
    x_search: bool,
    x_api: str,
    mastodon_tag: str | None,
    mastodon_instance: str | None,
    mastodon_streaming: str | None,
    mastodon_transport: str,
    bluesky_tags: tuple[str, ...],
    jetstream_url: str,
    credentials_file: Path | None,
    tier: str | None,
    no_score: bool,
    duration: float | None,
    rejects: Path | None,
    as_json: bool,
    campaign_tags: tuple[str, ...] | None,
) -> None:
    """Follow a hashtag (or an X rule) live on X, Mastodon and Bluesky at once, into the
    store that `analyze`, `serve` and `report` read. Restarting resumes each platform where
    it stopped (Jetstream cursor, X recent search, Mastodon timeline).

    \b
    stormwatch listen --db askx.db --bluesky-tag AskX \\
        --mastodon-tag AskX --mastodon-instance https://mastodon.social \\
        --x-rule '#AskX -is:retweet'
    """
    from stormwatch.listen import Listener
    from stormwatch.sources.jetstream import Jetstream
    from stormwatch.sources.live import LiveSource
    from stormwatch.sources.mastodon_stream import MastodonStream
    from stormwatch.sources.x_stream import XStream

    creds = _credentials(credentials_file)
    sources: list[LiveSource] = []
    try:
        if x_rules:
            sources.append(
                XStream(x_rules, creds.need("x", "bearer_token"), api=x_api, history=x_search)
            )
        if mastodon_tag:
            instance = mastodon_instance or creds.get("mastodon", "instance")
            if not instance:
                raise click.UsageError("--mastodon-tag needs --mastodon-instance URL")
            sources.append(
                MastodonStream(
                    instance,
                    mastodon_tag,
                    creds.get("mastodon", "token"),
                    transport=mastodon_transport,  # type: ignore[arg-type]
                    streaming=mastodon_streaming,
                )
            )
        if bluesky_tags:
            sources.append(Jetstream(bluesky_tags, url=jetstream_url))
    except CredentialsError as exc:
        raise click.UsageError(str(exc)) from None
    if not sources:
        raise click.UsageError("name at least one of --x-rule, --mastodon-tag, --bluesky-tag")
    if campaign_tags is None:  # the followed hashtags: every post found by them has them
        from stormwatch.core.text import campaign_tags as tags_of
        from stormwatch.core.text import hashtags_in

        followed = [*bluesky_tags, *([mastodon_tag] if mastodon_tag else [])]
        followed += [tag for rule in x_rules for tag in hashtags_in(rule)]
        try:
            campaign_tags = tags_of(followed) if followed else None
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    from stormwatch.store.sqlite import SQLiteStore

    with SQLiteStore(db) as store:
        apply_campaign_tags(store, campaign_tags)
    classifier = None if no_score else load_classifier(tier or settings.get("tier"))
    listener = Listener(db, sources, classifier=classifier, rejects=rejects)
    listener.start()
    deadline = None if duration is None else time.monotonic() + duration
    try:
        with RichLive(_status_view(listener.status()), console=err, refresh_per_second=2) as view:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.5)
                view.update(_status_view(listener.status()))
                if all(s.health.state in ("failed", "stopped") for s in sources):
                    break
    except KeyboardInterrupt:
        err.print("stopping: committing what was read…")
    finally:
        listener.stop()
    status = listener.status()
    if as_json:
        click.echo(orjson.dumps(status, option=orjson.OPT_INDENT_2).decode())
    else:
        err.print(_status_view(status))
    failed = [s for s in status["sources"] if s["state"] == "failed"]
    if failed or status["errors"]:
        for s in failed:
            err.print(plain(f"{s['source']} stopped: {s['last_error']}", "red"))
        for e in status["errors"]:
            err.print(plain(e, "red"))
        raise SystemExit(1)


def _status_view(status: dict[str, Any]) -> Group:
    table = Table(title="Live sources", title_justify="left")
    for column in ("source", "state", "up", "posts/min", "posts", "reconnects", "lag", "skipped"):
        table.add_column(column, justify="right" if column not in ("source", "state") else "left")
    table.add_column("last error", overflow="fold", max_width=50)
    for s in status["sources"]:
        skipped = ", ".join(f"{n} {reason}" for reason, n in s["dropped"].items()) or "-"
        table.add_row(
            s["source"],
            s["state"] + (f" (retry in {s['next_try_in_s']:.1f}s)" if s["next_try_in_s"] else ""),
            "-" if s["connected_for_s"] is None else f"{s['connected_for_s']:.0f}s",
            str(s["posts_per_min"]),
            f"{s['posts']:,}" + (f" (+{s['backfilled']} backfill)" if s["backfilled"] else ""),
            str(s["reconnects"]),
            "-" if s["lag_s"] is None else f"{s['lag_s']:.1f}s",
            skipped,
            plain(s["last_error"] or ""),
        )
    lag = status["scored_lag_s"]
    line = (
        f"stored {status['stored']:,} · duplicates {status['duplicates']:,} · deleted "
        f"{status['deleted']} · edited {status['edited']} · rejects {status['rejects']}"
    )
    if status["scored"] is not None:
        line += f" · scored {status['scored']:,} (backlog {status['backlog']:,})"
    if lag["p50"] is not None:
        line += f" · lag to scored p50 {lag['p50']:.2f}s p99 {lag['p99']:.2f}s"
    if status["rejects_file"]:
        line += f"\nrejects kept in {status['rejects_file']}"
    return Group(table, line)


# --- reply ---------------------------------------------------------------------------------


@click.command()
@click.argument("db", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--post", help="The question: its rowid in the store, or its platform id / uri.")
@click.option("--text", help="The answer.")
@click.option("--pending", is_flag=True, help="Take the answers drafted in the console's queue.")
@click.option("--list", "list_", is_flag=True, help="List every reply and its state.")
@click.option("--send", is_flag=True, help="Really post (without it: show what would be sent).")
@credentials_option
@click.option("--x-api", default=None, help="X API base URL.")
@click.option("--mastodon-instance", default=None, help="Your Mastodon instance URL.")
@click.option("--bluesky-pds", default=None, help="Your Bluesky PDS (default https://bsky.social).")
@click.option("--json", "as_json", is_flag=True)
def reply(
    db: Path,
    post: str | None,
    text: str | None,
    pending: bool,
    list_: bool,
    send: bool,
    credentials_file: Path | None,
    x_api: str | None,
    mastodon_instance: str | None,
    bluesky_pds: str | None,
    as_json: bool,
) -> None:
    """Post the host's answer as a reply on the question's own platform. A dry run unless
    --send: it prints the exact request, the length check and where it would go.

    \b
    stormwatch reply askx.db --post 1234 --text "Fees are reviewed in March."
    stormwatch reply askx.db --post 1234 --text "Fees are reviewed in March." --send
    stormwatch reply askx.db --pending --send      # answers drafted in the console
    """
    from stormwatch.replies import Outbox, ReplyError, find_rowid, repliers_from, target_of
    from stormwatch.store.sqlite import SQLiteStore

    if not (list_ or pending or (post and text)):
        raise click.UsageError("give --post and --text, or --pending, or --list")
    creds = _credentials(credentials_file)
    endpoints = {"x_api": x_api, "mastodon_instance": mastodon_instance, "bluesky_pds": bluesky_pds}
    repliers = repliers_from(creds, **{k: v for k, v in endpoints.items() if v})
    with ExitStack() as stack:
        for replier in repliers.values():
            stack.callback(replier.close)
        store = stack.enter_context(SQLiteStore(db))
        outbox = Outbox(store)
        outbox.recover()
        if list_:
            _print_replies(outbox.list(), as_json)
            return
        try:
            if post and text:
                rowid = find_rowid(store, post)
                target = target_of(store, rowid)
                replier = repliers.get(target.platform)
                if not send:
                    if replier is None:
                        raise ReplyError(
                            f"no {target.platform} credentials: set them to see the exact request"
                        )
                    planned = replier.plan(target, text, "<idempotency key>")
                    _print_plan(planned.shown(), target.platform, as_json)
                    return
                ids = [outbox.draft(rowid, text, "cli")]
            else:
                ids = [r["reply_id"] for r in outbox.list("status IN ('draft', 'failed')")]
                if not send:
                    _print_replies(outbox.list("status IN ('draft', 'failed')"), as_json)
                    err.print("dry run: add --send to post these")
                    return
            results = [_send_with_retries(outbox, i, repliers) for i in ids]
        except ReplyError as exc:
            raise click.ClickException(str(exc)) from None
    _print_replies(results, as_json)
    if any(r["status"] != "sent" for r in results):
        raise SystemExit(1)


def _send_with_retries(outbox: Any, reply_id: int, repliers: dict[str, Any]) -> dict[str, Any]:
    """Try, and retry when the outbox says when, until sent or given up."""
    while True:
        result = outbox.send(reply_id, repliers)
        if result["status"] != "failed" or result["next_attempt_ms"] < 0:
            return result
        wait = max(0.0, result["next_attempt_ms"] / 1000 - time.time())
        err.print(plain(f"reply {reply_id}: {result['last_error']}; retrying in {wait:.0f}s"))
        time.sleep(wait)


def _print_plan(shown: dict[str, Any], platform: str, as_json: bool) -> None:
    if as_json:
        click.echo(orjson.dumps({"dry_run": True, "platform": platform, **shown}).decode())
        return
    err.print(f"[bold]dry run[/bold] — would send to {platform}:")
    err.print(plain(f"{shown['method']} {shown['url']}"))
    for name, value in shown["headers"].items():
        err.print(f"{name}: {value}", markup=False)
    Console().print_json(data=shown["json"])
    err.print(f"length {shown['length']} of {shown['limit']}. Add --send to post it.")


def _print_replies(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        click.echo(orjson.dumps(rows).decode())
        return
    table = Table()
    for column in ("reply", "post", "platform", "status", "tries", "answer", "result"):
        table.add_column(column)
    for r in rows:
        result = r["remote_url"] or r["remote_id"] or r["last_error"] or ""
        table.add_row(
            str(r["reply_id"]),
            str(r["post_rowid"]),
            r["platform"],
            r["status"],
            str(r["attempts"]),
            plain(r["text"][:60]),
            plain(result[:80]),
        )
    Console().print(table)


# --- bench listen --------------------------------------------------------------------------


@click.command("listen")
@click.option("--rate", default=2000.0, show_default=True, help="Jetstream events per second.")
@click.option("--seconds", default=30.0, show_default=True, help="How long the firehose runs.")
@click.option("--tagged", default=1.0, show_default=True, help="Share of events with the tag.")
@click.option("--tier", type=click.Choice(TIERS), default="fast", show_default=True)
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path(".bench"))
@click.option("--json", "as_json", is_flag=True)
def bench_listen(
    rate: float, seconds: float, tagged: float, tier: str, workdir: Path, as_json: bool
) -> None:
    """A fake Jetstream on 127.0.0.1 at a steady rate into the store, scored behind:
    posts/s stored, lag to stored and to scored, peak memory; then a forced disconnect and
    a resume from the cursor, checked for anything missed."""
    from stormwatch.bench_listen import run_listen_bench

    figures = run_listen_bench(workdir, rate, seconds, tagged, load_classifier(tier), log=err.print)
    if as_json:
        click.echo(orjson.dumps(figures).decode())
    else:
        Console().print_json(data=figures)
