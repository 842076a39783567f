"""One table of settings: name, default, help. Environment variables override defaults.

The CLI's flags override both. `docs/settings.md` is checked against this table by a test.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stormwatch.core.warning import WarningConfig


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    default: str
    help: str

    @property
    def env(self) -> str:
        return "STORMWATCH_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "data_dir",
        "",
        "Folder of labelled datasets (TweetEval, iSarcasmEval) used by "
        "train/eval. Empty: ./shared/data, ../shared/data, then shared/data beside the "
        "source checkout.",
    ),
    Setting("batch_size", "2048", "Posts per batch when reading, storing and scoring."),
    Setting("tier", "fast", "Classifier tier used to label posts."),
    Setting(
        "warning",
        "",
        "Early-warning detector settings as NAME=VALUE pairs separated by commas "
        "(WarningConfig fields, e.g. margin=0.2,persist=5). Empty: as shipped.",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


class SettingError(ValueError):
    """A setting has a value that cannot be used; the message names the key and the value."""


def get(name: str) -> str:
    """The value of a setting: environment variable if set, else the default."""
    setting = _BY_NAME[name]
    return os.environ.get(setting.env, setting.default)


def get_int(name: str) -> int:
    value = get(name)
    try:
        number = int(value)
    except ValueError:
        raise SettingError(f"{_BY_NAME[name].env}={value!r} is not a whole number") from None
    if number <= 0:
        raise SettingError(f"{_BY_NAME[name].env}={value!r} must be positive")
    return number


def warning_config(flags: Sequence[str] = ()) -> WarningConfig:
    """The early warning's settings: as shipped, then STORMWATCH_WARNING's pairs, then
    the command line's `--warning-set` ones (the last word on a name wins)."""
    from stormwatch.core.warning import WarningConfig, with_settings

    config = WarningConfig()
    for where, pairs in (
        (_BY_NAME["warning"].env, [p for p in get("warning").split(",") if p.strip()]),
        ("--warning-set", flags),
    ):
        try:
            config = with_settings(config, pairs)
        except ValueError as exc:
            raise SettingError(f"{where}: {exc}") from None
    return config


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the labelled datasets live; says what to set when they cannot be found."""
    candidates = [Path(explicit)] if explicit else []
    if not candidates and get("data_dir"):
        candidates = [Path(get("data_dir"))]
    if not candidates:
        repository = Path(__file__).resolve().parents[2]  # a source checkout's root
        candidates = [
            Path("shared/data"),
            Path("../shared/data"),
            repository.parent / "shared" / "data",
        ]
    for path in candidates:
        if (path / "tweeteval").is_dir():
            return path.resolve()
    tried = ", ".join(str(p) for p in candidates)
    raise SettingError(
        f"no datasets found (tried {tried}); pass --data DIR or set STORMWATCH_DATA_DIR "
        "to the folder that holds tweeteval/"
    )
