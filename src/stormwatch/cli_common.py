"""Pieces every `stormwatch` command module shares: the error console, hostile text shown
as plain text, the datasets option and folder, the early warning's settings, and JSON
output."""

from __future__ import annotations

import sys
from importlib.resources import as_file, files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import orjson
from rich.console import Console
from rich.text import Text

from stormwatch import settings

if TYPE_CHECKING:
    from stormwatch.core.warning import WarningConfig
    from stormwatch.store.base import Store

err = Console(stderr=True)
SAMPLE = "sample_campaign.jsonl.gz"
SAMPLE_TAGS = ("askbrand",)  # the sample campaign's own hashtag, #AskBrand


data_option = click.option(
    "--data",
    "data",
    type=click.Path(file_okay=False, path_type=Path),
    help="Datasets folder (default: STORMWATCH_DATA_DIR or ../shared/data).",
)


warning_option = click.option(
    "--warning-set",
    "warning_set",
    multiple=True,
    metavar="NAME=VALUE",
    help="An early-warning setting (a WarningConfig field, e.g. margin=0.2); repeatable. "
    "Also STORMWATCH_WARNING.",
)


def _campaign_tags(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
    from stormwatch.core.text import campaign_tags

    try:
        return campaign_tags(value) if value else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


campaign_tag_option = click.option(
    "--campaign-tag",
    "campaign_tags",
    multiple=True,
    metavar="TAG",
    callback=_campaign_tags,
    help="The campaign's own hashtag (e.g. AskJPM; repeatable), left out when posts are "
    "labelled: every post carries it, and the models would read it as words. Recorded in "
    "the store; changing it labels the stored posts again.",
)


def apply_campaign_tags(store: Store, tags: tuple[str, ...] | None) -> None:
    """Record the campaign's tags (`--campaign-tag`, normalised) in the store; None keeps
    what it holds. Says so when posts labelled with other tags will be labelled again."""
    if tags is None:
        return
    dropped = store.set_campaign_tags(tags)
    if dropped:
        err.print(
            f"the campaign's tags are now {', '.join('#' + t for t in tags)}: "
            f"{dropped:,} stored labels will be computed again without them"
        )


def warning_config(flags: tuple[str, ...]) -> WarningConfig:
    """The early warning's settings (`settings.warning_config`), or one clear error."""
    try:
        return settings.warning_config(flags)
    except settings.SettingError as exc:
        raise click.UsageError(str(exc)) from None


# Control characters but newline and tab, shown as `\x1b`: a post holding a terminal escape
# sequence must not clear the screen, retitle the window or forge other output.
_CONTROLS = {
    code: f"\\x{code:02x}" for code in (*range(32), *range(127, 160)) if chr(code) not in "\n\t"
}


def plain(text: object, style: str = "") -> Text:
    """Text the terminal shows as it is. Posts, theme labels and servers' errors may hold
    `[bold]` or `[link=...]`, which rich would read as markup (hiding text, adding links),
    and a stray `[/bold]` would stop the command with a MarkupError; control characters are
    shown escaped."""
    return Text(str(text).translate(_CONTROLS), style=style)


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


def sample_path() -> Path:
    """The bundled sample campaign (see src/stormwatch/data/SAMPLE.md)."""
    with as_file(files("stormwatch.data") / SAMPLE) as path:
        return Path(path)
