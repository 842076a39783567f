"""Text normalisation shared by every classifier tier: the same post always reads the same.

Users become `@user` (as in TweetEval), links become `http`, elongations are capped
(`soooooo` -> `sooo`), CamelCase hashtags are split (`#BuildThatWall` -> `#build that wall`),
literal `\\u2019`-style escapes (2013 tweets) and HTML entities are decoded.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"(?<!\w)@\w+")
_ELONGATED = re.compile(r"(.)\1{3,}")
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)")
_SPACES = re.compile(r"\s+")


def _split_hashtag(match: re.Match[str]) -> str:
    words = _CAMEL.sub(" ", match.group(1))
    return f"#{words}"


def unescape(text: str) -> str:
    """Decode literal `\\u2019`-style escapes left in 2013 tweet texts."""
    if "\\u" not in text:
        return text
    text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    if any("\ud800" <= c <= "\udfff" for c in text):
        # Escaped emoji come as surrogate pairs: join them; a lone half becomes U+FFFD.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def normalize(text: str) -> str:
    text = unescape(text)
    if "&" in text:
        text = html.unescape(text)
    if "http" in text or "www." in text:
        text = _URL.sub("http", text)
    if "@" in text:
        text = _MENTION.sub("@user", text)
    if "#" in text:
        text = _HASHTAG.sub(_split_hashtag, text)
    text = _ELONGATED.sub(r"\1\1\1", text)
    return _SPACES.sub(" ", text).strip().lower()


def normalize_all(texts: Iterable[str]) -> list[str]:
    return [normalize(t) for t in texts]
