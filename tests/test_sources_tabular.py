from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import FIXTURES, read_all
from stormwatch.sources.tabular import ColumnMap


def test_csv_with_column_mapping_keeps_bad_rows_as_rejects():
    columns = ColumnMap(text="message", id="tweet_id", time="posted", author="handle")
    posts, rejects = read_all(FIXTURES / "posts.csv", columns=columns)
    assert [p.id for p in posts] == ["1", "2"]
    assert posts[0].text == "Hello, is this the Q&A?"
    assert posts[0].created_at == datetime(2013, 11, 13, 10, tzinfo=UTC)
    assert posts[0].author_id == "alice" and posts[0].like_count == 3
    assert posts[1].text == 'Multi-line\npost with "quotes"'
    assert posts[1].created_at == datetime(2013, 11, 13, 10, tzinfo=UTC)  # epoch seconds
    reasons = {r.line: r.reason for r in rejects}
    assert set(reasons) == {5, 6, 7}  # line numbers in the file, multi-line row counted
    assert "empty text" in reasons[5]
    assert "expected 5 fields, found 6" in reasons[6]
    assert "timestamp" in reasons[7]


def test_csv_default_columns_found_by_name():
    # message / tweet_id / handle are default names; "posted" is not, so row 5's bad time
    # does not matter here.
    posts, _ = read_all(FIXTURES / "posts.csv")
    assert [(p.id, p.author_id, p.created_at) for p in posts] == [
        ("1", "alice", None),
        ("2", "bob", None),
        ("5", "dave", None),
    ]


def test_csv_without_text_column_names_the_flag(tmp_path):
    path = tmp_path / "no_text.csv"
    path.write_text("when,who,what_they_said\n2020-01-01,a,hello\n")
    posts, rejects = read_all(path)
    assert posts == []
    assert len(rejects) == 1 and "--text-column" in rejects[0].reason
    assert "what_they_said" in rejects[0].reason  # lists the columns it has
    posts, rejects = read_all(path, columns=ColumnMap(text="what_they_said"))
    assert [p.text for p in posts] == ["hello"] and rejects == []


def test_tsv_and_default_columns():
    posts, rejects = read_all(FIXTURES / "posts.tsv")
    assert rejects == []
    assert [(p.text, p.author_id) for p in posts] == [
        ("first tsv post", "zed"),
        ("second tsv post #tag", "yan"),
    ]
    assert posts[1].hashtags == ("tag",)
    # No id column: a stable id, the same on every read.
    again, _ = read_all(FIXTURES / "posts.tsv")
    assert [p.id for p in again] == [p.id for p in posts]
    assert len({p.id for p in posts}) == 2


def test_plain_text_one_post_per_line(tmp_path):
    posts, rejects = read_all(FIXTURES / "posts.txt")
    assert rejects == []
    assert [p.text for p in posts] == [
        "first plain post about #AskBrand",
        "second plain post @brand https://example.com",
    ]
    assert posts[1].mentions == ("brand",) and posts[1].urls == ("https://example.com",)
    # The same file under another folder yields the same ids (idempotent re-runs) ...
    copy = tmp_path / "posts.txt"
    copy.write_bytes((FIXTURES / "posts.txt").read_bytes())
    same, _ = read_all(copy)
    assert [p.id for p in same] == [p.id for p in posts]
    # ... while a different post on the same line of a same-named file does not collide.
    copy.write_text("something else entirely\n")
    other, _ = read_all(copy)
    assert other[0].id != posts[0].id


def test_parquet_rows(tmp_path):
    path = tmp_path / "posts.parquet"
    table = pa.table(
        {
            "id": ["p1", "p2", "p3"],
            "text": ["parquet post one", None, "parquet post three"],
            "created_at": pa.array(
                [datetime(2020, 1, 1, tzinfo=UTC)] * 3, pa.timestamp("ms", "UTC")
            ),
            "author": ["a", "b", "c"],
        }
    )
    pq.write_table(table, path)
    posts, rejects = read_all(path)
    assert [p.id for p in posts] == ["p1", "p3"]
    assert posts[0].created_at == datetime(2020, 1, 1, tzinfo=UTC)
    assert [(r.line, "empty text" in r.reason) for r in rejects] == [(2, True)]


def test_generic_json_objects_round_trip_export_shape(tmp_path):
    path = tmp_path / "exported.jsonl"
    path.write_text(
        '{"id": "9", "platform": "mastodon", "author": "zoe", "created_at": "2020-01-01T00:00:00Z",'
        ' "text": "from an export", "labels": {"offensive": 0.1}}\n'
    )
    posts, rejects = read_all(path)
    assert rejects == []
    assert (posts[0].id, posts[0].platform, posts[0].author_id) == ("9", "mastodon", "zoe")
