"""Every stored post with its labels, as JSONL, CSV or Parquet — the shape analysts load.

JSONL record: {"id", "platform", "author", "author_id", "created_at", "text", "lang",
"reply_to", "quote_of", "repost_of", "hashtags", "english", "theme", "labels"}; `theme` is the
id of the post's theme (null for noise, and for posts themes were not found for); `labels`
maps each binary task to P(positive class) and each multi-class task to {class: probability}.
CSV and Parquet carry the same fields with labels flattened to columns (`offensive`,
`sentiment.negative`, ...). Posts are hostile text: a CSV cell a spreadsheet would run as a
formula (starting with = + - @, a tab or a carriage return) gets a leading `'`, as OWASP
advises against CSV injection; JSONL and Parquet keep every text exactly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

import orjson

from stormwatch.core.labels import Layout, labels_record
from stormwatch.records import Post
from stormwatch.sources.timeparse import iso
from stormwatch.store.sqlite import SQLiteStore

EXPORT_FORMATS = ("jsonl", "csv", "parquet")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BASE_FIELDS = (
    "id",
    "platform",
    "author",
    "author_id",
    "created_at",
    "text",
    "lang",
    "reply_to",
    "quote_of",
    "repost_of",
    "hashtags",
    "english",
    "theme",
)


def post_record(p: Post) -> dict[str, Any]:
    """A post in the export shape (which the generic JSON reader reads back)."""
    return {
        "id": p.id,
        "platform": p.platform,
        "author": p.author_handle,
        "author_id": p.author_id,
        "created_at": iso(p.created_at),
        "text": p.text,
        "lang": p.lang,
        "reply_to": p.reply_to,
        "quote_of": p.quote_of,
        "repost_of": p.repost_of,
        "hashtags": list(p.hashtags),
    }


def records(store: SQLiteStore) -> Iterator[dict[str, Any]]:
    model = store.latest_model()
    theme_of = dict(store.db.execute("SELECT post_rowid, theme_id FROM post_themes").fetchall())
    for stored, proba in store.iter_posts(model):
        yield post_record(stored.post) | {
            "english": stored.english,
            "theme": theme_of.get(stored.rowid),
            "labels": labels_record(proba, model.layout) if proba is not None and model else None,
        }


def label_columns(layout: Layout | None) -> list[str]:
    if layout is None:
        return []
    columns = []
    for task in layout.tasks:
        if task.binary:
            columns.append(task.name)
        else:
            columns.extend(f"{task.name}.{c}" for c in task.classes)
    return columns


def flat(record: dict[str, Any]) -> dict[str, Any]:
    row = {k: record[k] for k in BASE_FIELDS}
    row["hashtags"] = " ".join(record["hashtags"])
    for task, value in (record["labels"] or {}).items():
        if isinstance(value, dict):
            for cls, prob in value.items():
                row[f"{task}.{cls}"] = prob
        else:
            row[task] = value
    return row


def spreadsheet_cell(value: Any) -> Any:
    """A text a spreadsheet would run as a formula, defused with a leading `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_jsonl(store: SQLiteStore, out: IO[bytes]) -> int:
    n = 0
    for record in records(store):
        out.write(orjson.dumps(record) + b"\n")
        n += 1
    return n


def write_csv(store: SQLiteStore, out: IO[bytes]) -> int:
    model = store.latest_model()
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.DictWriter(text, fieldnames=[*BASE_FIELDS, *label_columns(model and model.layout)])
    writer.writeheader()
    n = 0
    for record in records(store):
        writer.writerow({k: spreadsheet_cell(v) for k, v in flat(record).items()})
        n += 1
    text.detach()
    return n


def write_parquet(store: SQLiteStore, path: str, chunk: int = 50_000) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    model = store.latest_model()
    label_cols = label_columns(model and model.layout)
    schema = pa.schema(
        [
            (name, {"english": pa.bool_(), "theme": pa.int64()}.get(name, pa.string()))
            for name in BASE_FIELDS
            if name != "created_at"
        ]
        + [("created_at", pa.timestamp("ms", tz="UTC"))]
        + [(name, pa.float32()) for name in label_cols]
    )
    n = 0
    with pq.ParquetWriter(path, schema) as writer:
        rows: list[dict[str, Any]] = []
        for record in records(store):
            rows.append(flat(record))
            if len(rows) >= chunk:
                writer.write_table(_table(rows, schema))
                n += len(rows)
                rows = []
        if rows:
            writer.write_table(_table(rows, schema))
            n += len(rows)
    return n


def _table(rows: list[dict[str, Any]], schema: Any) -> Any:
    import pyarrow as pa

    columns = {}
    for field in schema:
        values = [r.get(field.name) for r in rows]
        if field.name == "created_at":
            values = [datetime.fromisoformat(v) if v else None for v in values]
        columns[field.name] = values
    return pa.table(columns, schema=schema)
