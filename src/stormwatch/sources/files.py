"""Read posts from files, folders, globs and stdin, in any supported format.

Compression (gzip, zstd) is found from the magic bytes, the format from the file name or,
failing that, from the first line; JSON records are recognised one by one, so a file may
mix platforms. Everything that cannot become a post comes out as a `Reject`.
"""

from __future__ import annotations

import csv
import glob
import gzip
import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

import orjson
import zstandard

from stormwatch.records import Post, Reject
from stormwatch.sources import bluesky, mastodon, x
from stormwatch.sources.errors import MalformedRecord, NotAPost
from stormwatch.sources.tabular import ColumnMap, MissingColumn, post_from_line, post_from_row

FORMATS = ("auto", "x2", "v1", "mastodon", "bluesky", "json", "csv", "parquet", "text")
_JSON_FORMATS = ("auto", "x2", "v1", "mastodon", "bluesky", "json")
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_RAW_KEEP = 2000  # characters of a rejected line kept in the rejects file
_V2_KEYS = frozenset(
    {
        "author_id",
        "edit_history_tweet_ids",
        "public_metrics",
        "referenced_tweets",
        "conversation_id",
        "note_tweet",
    }
)
_V1_KEYS = frozenset({"id_str", "user", "full_text", "retweeted_status", "extended_tweet"})

Converter = Callable[[dict[str, Any], "str | None"], list[Post]]
Item = Post | Reject


class InputError(ValueError):
    """A path the user gave cannot be used at all (not found, not a file or folder)."""


def expand_paths(specs: Sequence[str]) -> list[str]:
    """Files named by paths, folders (recursively, hidden files skipped) and globs; `-` is
    stdin. Raises InputError naming a path that matches nothing."""
    paths: list[str] = []
    for spec in specs:
        if spec == "-":
            paths.append(spec)
        elif os.path.isdir(spec):
            found = sorted(
                str(p)
                for p in Path(spec).rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(spec).parts)
            )
            paths.extend(found)
        elif glob.has_magic(spec):
            matches = sorted(m for m in glob.glob(spec, recursive=True) if os.path.isfile(m))
            if not matches:
                raise InputError(f"no files match {spec!r}")
            paths.extend(matches)
        elif os.path.isfile(spec):
            paths.append(spec)
        else:
            raise InputError(f"{spec}: no such file or folder")
    return paths


@contextmanager
def open_binary(path: str) -> Iterator[IO[bytes]]:
    """A decompressed byte stream for a path (or `-`), whatever the compression; closes
    everything it opened (never stdin)."""
    with ExitStack() as stack:
        if path == "-":
            raw: IO[bytes] = sys.stdin.buffer
        else:
            raw = stack.enter_context(open(path, "rb"))
        buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type]
        head = buffered.peek(4)[:4]
        if head.startswith(_GZIP_MAGIC):
            yield stack.enter_context(gzip.GzipFile(fileobj=buffered, mode="rb"))
        elif head.startswith(_ZSTD_MAGIC):
            reader = zstandard.ZstdDecompressor().stream_reader(
                buffered, read_across_frames=True, closefd=False
            )
            yield stack.enter_context(io.BufferedReader(reader))  # type: ignore[arg-type]
        else:
            yield buffered


def _strip_compression(name: str) -> str:
    for ext in (".gz", ".gzip", ".zst", ".zstd"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


def format_from_name(path: str) -> str | None:
    name = _strip_compression(path.lower())
    for ext, fmt in (
        (".csv", "csv"),
        (".tsv", "csv"),
        (".parquet", "parquet"),
        (".pq", "parquet"),
        (".txt", "text"),
        (".jsonl", "auto"),
        (".ndjson", "auto"),
        (".json", "auto"),
        (".js", "auto"),
    ):
        if name.endswith(ext):
            return fmt
    return None


def read_posts(
    specs: Sequence[str], fmt: str = "auto", columns: ColumnMap | None = None
) -> Iterator[Item]:
    """Every post (and every reject) from the given inputs, streamed in input order."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    columns = columns or ColumnMap()
    for path in expand_paths(specs):
        yield from read_file(path, fmt, columns)


def read_bytes(data: bytes, source: str = "<request>", fmt: str = "auto") -> Iterator[Item]:
    """Posts and rejects from bytes already in memory (an API request body): a JSON
    document or array, JSON lines, in any format the file readers accept."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if data.lstrip()[:1] == b"[":
        # A JSON array: rejects are numbered by item (1-based), not by line.
        yield from _document_items(data, source, "auto" if fmt == "auto" else fmt, ColumnMap(), 1)
        return
    stream = io.BufferedReader(io.BytesIO(data))  # type: ignore[arg-type]
    yield from _items(stream, "-", source, fmt, ColumnMap())


def read_file(path: str, fmt: str = "auto", columns: ColumnMap | None = None) -> Iterator[Item]:
    columns = columns or ColumnMap()
    source = "<stdin>" if path == "-" else path
    try:
        with open_binary(path) as stream:
            yield from _items(stream, path, source, fmt, columns)
    except OSError as exc:
        yield Reject(source, 0, f"cannot open: {exc.strerror or exc}", "")


def _items(
    stream: IO[bytes], path: str, source: str, fmt: str, columns: ColumnMap
) -> Iterator[Item]:
    chosen = fmt
    if fmt == "auto":
        chosen = format_from_name(path) if path != "-" else None
        if chosen is None:
            chosen = _sniff(stream)
    try:
        if chosen == "csv":
            yield from _csv_items(stream, source, columns, path)
        elif chosen == "parquet":
            yield from _parquet_items(stream, source, columns)
        elif chosen == "text":
            yield from _text_items(stream, source)
        else:
            yield from _json_items(stream, source, chosen, columns)
    except MissingColumn as exc:
        yield Reject(source, 0, str(exc), "")
    except (OSError, EOFError, zstandard.ZstdError) as exc:
        yield Reject(source, 0, f"read error (truncated or corrupt file?): {exc}", "")


def _sniff(stream: IO[bytes]) -> str:
    head = stream.peek(4096)[:4096] if hasattr(stream, "peek") else b""  # type: ignore[attr-defined]
    if head.startswith(b"PAR1"):
        return "parquet"
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "auto" if first in (b"{", b"[") or head.startswith(b"window.") else "text"


# --- JSON -------------------------------------------------------------------------------


def converter_for(obj: dict[str, Any], fmt: str, columns: ColumnMap) -> Converter:
    """The reader for one JSON object: the forced format, or recognised from its keys."""
    if fmt == "x2":
        return x.posts_from_v2
    if fmt == "v1":
        return x.posts_from_v1
    if fmt == "mastodon":
        return mastodon.posts_from_status
    if fmt == "bluesky":
        return bluesky.posts_from_bluesky
    if fmt == "auto":
        # The export shape (it names its platform) reads back through the generic reader.
        is_v2_tweet = (
            "text" in obj
            and "platform" not in obj
            and not _V2_KEYS.isdisjoint(obj)
            and _V1_KEYS.isdisjoint(obj)
        )
        if "data" in obj or is_v2_tweet:
            return x.posts_from_v2
        if not _V1_KEYS.isdisjoint(obj) or "tweet" in obj or "delete" in obj:
            return x.posts_from_v1
        if mastodon.looks_like_status(obj):
            return mastodon.posts_from_status
        if bluesky.looks_like_bluesky(obj):
            return bluesky.posts_from_bluesky
        if "errors" in obj and "title" not in obj:
            return x.posts_from_v2
    return _generic(columns)


def _generic(columns: ColumnMap) -> Converter:
    def convert(obj: dict[str, Any], raw: str | None) -> list[Post]:
        try:
            roles = columns.resolve(list(obj), "JSON object")
        except MissingColumn:
            keys = ", ".join(list(obj)[:8])
            raise MalformedRecord(
                f"unrecognised JSON record (keys: {keys}); not X, Mastodon or Bluesky, "
                "and no text field"
            ) from None
        return [post_from_row(obj, roles, "json", 0)]

    return convert


def _convert(
    obj: Any, raw: str | None, fmt: str, columns: ColumnMap, source: str, line: int
) -> Iterator[Item]:
    if isinstance(obj, list):
        for element in obj:
            yield from _convert(element, None, fmt, columns, source, line)
        return
    if not isinstance(obj, dict):
        yield Reject(
            source,
            line,
            f"expected a JSON object, got {type(obj).__name__}",
            (raw or "")[:_RAW_KEEP],
        )
        return
    try:
        yield from converter_for(obj, fmt, columns)(obj, raw)
    except NotAPost as exc:
        yield Reject(source, line, str(exc), (raw or _dumps(obj))[:_RAW_KEEP], "skipped")
    except (MalformedRecord, KeyError, TypeError, AttributeError, ValueError) as exc:
        reason = str(exc) if isinstance(exc, MalformedRecord) else f"bad record: {exc!r}"
        yield Reject(source, line, reason, (raw or _dumps(obj))[:_RAW_KEEP])


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


def _json_items(stream: IO[bytes], source: str, fmt: str, columns: ColumnMap) -> Iterator[Item]:
    lines = iter(stream)
    first_content = True
    for line_no, raw_line in enumerate(lines, start=1):
        line = raw_line.strip()
        if not line:
            continue
        if first_content:
            first_content = False
            if line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if line.startswith(b"window.") or (line[:1] in (b"[", b"{") and not _parses(line)):
                # A whole JSON document (pretty-printed, or a Twitter archive's tweets.js).
                yield from _document_items(
                    raw_line + b"".join(lines), source, fmt, columns, line_no
                )
                return
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield Reject(source, line_no, f"invalid JSON: {exc}", _text_of(line))
            continue
        text = None if isinstance(obj, list) else line.decode()
        yield from _convert(obj, text, fmt, columns, source, line_no)


def _parses(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def _document_items(
    data: bytes, source: str, fmt: str, columns: ColumnMap, first_line: int
) -> Iterator[Item]:
    body = data
    if body.lstrip().startswith(b"window."):
        body = body[body.index(b"=") + 1 :] if b"=" in body else body
    try:
        doc = orjson.loads(body.strip().rstrip(b";"))
    except orjson.JSONDecodeError:
        # Not one document after all: fall back to line by line, rejecting what is broken.
        for offset, raw_line in enumerate(data.splitlines(), start=first_line):
            line = raw_line.strip()
            if not line:
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield Reject(source, offset, f"invalid JSON: {exc}", _text_of(line))
                continue
            yield from _convert(obj, None, fmt, columns, source, offset)
        return
    items = doc if isinstance(doc, list) else [doc]
    for index, obj in enumerate(items, start=1):
        yield from _convert(obj, None, fmt, columns, source, index)


def _text_of(line: bytes) -> str:
    return line[: _RAW_KEEP * 2].decode("utf-8", "replace")[:_RAW_KEEP]


# --- text and CSV ------------------------------------------------------------------------


def _decoded(
    stream: IO[bytes], source: str, rejects: list[Reject], counter: list[int]
) -> Iterator[str]:
    """UTF-8 lines; a line that is not valid UTF-8 becomes a reject, never mojibake."""
    for raw_line in stream:
        counter[0] += 1
        if counter[0] == 1 and raw_line.startswith(b"\xef\xbb\xbf"):
            raw_line = raw_line[3:]
        try:
            yield raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            rejects.append(
                Reject(
                    source,
                    counter[0],
                    f"not valid UTF-8 ({exc.reason} at byte {exc.start}); "
                    "re-encode the file as UTF-8",
                    _text_of(raw_line),
                )
            )


def _text_items(stream: IO[bytes], source: str) -> Iterator[Item]:
    rejects: list[Reject] = []
    counter = [0]
    for text in _decoded(stream, source, rejects, counter):
        if rejects:
            yield from rejects
            rejects.clear()
        stripped = text.strip()
        if stripped:
            yield post_from_line(stripped, source, counter[0])
    yield from rejects


def _csv_items(stream: IO[bytes], source: str, columns: ColumnMap, path: str) -> Iterator[Item]:
    rejects: list[Reject] = []
    counter = [0]
    lines = _decoded(stream, source, rejects, counter)
    delimiter = "\t" if _strip_compression(path.lower()).endswith(".tsv") else ","
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        yield from rejects
        return
    except csv.Error as exc:
        yield Reject(source, counter[0], f"unreadable CSV header: {exc}", "")
        return
    roles = columns.resolve(header, source)
    width = len(header)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield Reject(source, counter[0], f"malformed CSV: {exc}", "")
            continue
        if rejects:
            yield from rejects
            rejects.clear()
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != width:
            yield Reject(
                source,
                counter[0],
                f"expected {width} fields, found {len(row)}",
                delimiter.join(row)[:_RAW_KEEP],
            )
            continue
        try:
            yield post_from_row(dict(zip(header, row, strict=True)), roles, source, counter[0])
        except MalformedRecord as exc:
            yield Reject(source, counter[0], str(exc), delimiter.join(row)[:_RAW_KEEP])
    yield from rejects


def _parquet_items(stream: IO[bytes], source: str, columns: ColumnMap) -> Iterator[Item]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(io.BytesIO(stream.read()))
    except (pa.ArrowInvalid, OSError) as exc:
        yield Reject(source, 0, f"not a readable Parquet file: {exc}", "")
        return
    roles = columns.resolve(file.schema_arrow.names, source)
    row_no = 0
    for batch in file.iter_batches(batch_size=8192):
        for row in batch.to_pylist():
            row_no += 1
            try:
                yield post_from_row(row, roles, source, row_no)
            except MalformedRecord as exc:
                yield Reject(source, row_no, str(exc), _dumps(row)[:_RAW_KEEP])


def only_posts(items: Iterable[Item]) -> Iterator[Post]:
    """The posts of a read, for callers that do not care about rejects (tests, notebooks)."""
    return (item for item in items if isinstance(item, Post))
