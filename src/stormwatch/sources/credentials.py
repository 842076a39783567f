"""Platform credentials, from the environment or a config file that only its owner can read.

Secrets are wrapped so that printing, logging or formatting one shows `***`, and every
value loaded is registered with `redact`, which scrubs them from error messages before
anything is shown or stored. They are never written to the store.
"""

from __future__ import annotations

import os
import stat
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_KNOWN: set[str] = set()
_KNOWN_LOCK = threading.Lock()

# env variable -> (section, key) in the config file
ENVIRONMENT = {
    "STORMWATCH_X_BEARER_TOKEN": ("x", "bearer_token"),
    "STORMWATCH_X_USER_TOKEN": ("x", "user_token"),
    "STORMWATCH_MASTODON_TOKEN": ("mastodon", "token"),
    "STORMWATCH_BLUESKY_HANDLE": ("bluesky", "handle"),
    "STORMWATCH_BLUESKY_APP_PASSWORD": ("bluesky", "app_password"),
}
_NOT_SECRET = {("bluesky", "handle")}


class CredentialsError(ValueError):
    pass


class Secret:
    """A credential; `str()` and `repr()` never show it, `reveal()` does (for the one header
    that needs it)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        if len(value) >= 4:
            with _KNOWN_LOCK:
                _KNOWN.add(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def redact(text: str) -> str:
    """The text with every loaded secret replaced by ***."""
    with _KNOWN_LOCK:
        known = sorted(_KNOWN, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, "***")
    return text


@dataclass(frozen=True)
class Credentials:
    values: dict[tuple[str, str], Any]

    def get(self, section: str, key: str) -> Any:
        return self.values.get((section, key))

    def need(self, section: str, key: str) -> Any:
        value = self.get(section, key)
        if not value:
            env = next(n for n, where in ENVIRONMENT.items() if where == (section, key))
            raise CredentialsError(
                f"no {section} {key.replace('_', ' ')}: set {env} or put `{key}` under "
                f"[{section}] in the credentials file (chmod 600)"
            )
        return value


def load(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Credentials:
    """Environment variables win over the file. The file must not be readable by group or
    others (like ssh keys), or loading stops with what to run."""
    environ = dict(os.environ) if environ is None else environ
    values: dict[tuple[str, str], Any] = {}
    if path is not None:
        path = Path(path)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise CredentialsError(f"credentials file {path} does not exist") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CredentialsError(
                f"credentials file {path} can be read by others (mode "
                f"{stat.S_IMODE(mode):o}): run `chmod 600 {path}`"
            )
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise CredentialsError(f"credentials file {path} is not valid TOML: {exc}") from None
        for section, table in data.items():
            if not isinstance(table, dict):
                raise CredentialsError(f"credentials file {path}: [{section}] must be a table")
            for key, value in table.items():
                values[(section, key)] = _wrap(section, key, value)
    for name, (section, key) in ENVIRONMENT.items():
        if environ.get(name):
            values[(section, key)] = _wrap(section, key, environ[name])
    return Credentials(values)


def _wrap(section: str, key: str, value: Any) -> Any:
    if (
        isinstance(value, str)
        and (section, key) not in _NOT_SECRET
        and ("token" in key or "password" in key or "secret" in key)
    ):
        return Secret(value)
    return value
