import gzip
import io
import sys

import pytest
import zstandard

from conftest import FIXTURES, read_all
from stormwatch.sources.files import InputError, expand_paths, read_posts


def _lines(n: int) -> bytes:
    return b"".join(
        b'{"id": "%d", "text": "post %d", "author_id": "a%d", "edit_history_tweet_ids": ["%d"]}\n'
        % (i, i, i, i)
        for i in range(n)
    )


def test_gzip_and_zstd_are_found_by_magic_not_name(tmp_path):
    (tmp_path / "a.data").write_bytes(gzip.compress(_lines(3)))
    (tmp_path / "b.data").write_bytes(zstandard.ZstdCompressor().compress(_lines(4)))
    posts, rejects = read_all(tmp_path / "a.data", tmp_path / "b.data")
    assert rejects == []
    assert len(posts) == 7


def test_truncated_gzip_keeps_what_was_read_and_reports_the_rest(tmp_path):
    data = gzip.compress(_lines(500))
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    posts, rejects = read_all(tmp_path / "cut.jsonl.gz")
    assert 0 < len(posts) < 500
    assert rejects[-1].line == 0 and "truncated" in rejects[-1].reason


def test_malformed_and_truncated_lines_are_rejected_with_line_numbers(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        _lines(2)
        + b'{"id": "x", "text": "cut in the mid\n'
        + b"not json at all\n"
        + b"[1, 2]\n"
        + b'{"id": "7", "author_id": "no text", "edit_history_tweet_ids": ["7"]}\n'
        + b'{"content": "<p>hi</p>", "account": {"id": "1"}, "id": "5"}\n'
    )
    posts, rejects = read_all(path)
    assert [p.id for p in posts] == ["0", "1", "5"]
    assert posts[2].platform == "mastodon"  # formats recognised line by line
    assert [r.line for r in rejects] == [3, 4, 5, 5, 6]
    assert all(r.kind == "malformed" for r in rejects)
    assert "invalid JSON" in rejects[0].reason
    assert rejects[0].raw.startswith('{"id": "x"')


def test_wrong_encoding_lines_rejected_not_mangled(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"good line\n" + "caf\xe9 au lait\n".encode("latin-1") + b"ok\n")
    posts, rejects = read_all(path)
    assert [p.text for p in posts] == ["good line", "ok"]
    assert [(r.line, "UTF-8" in r.reason) for r in rejects] == [(2, True)]
    bad_json = tmp_path / "latin1.jsonl"
    bad_json.write_bytes('{"id": "1", "text": "caf\xe9"}\n'.encode("latin-1"))
    posts, rejects = read_all(bad_json)
    assert posts == [] and rejects[0].line == 1


def test_empty_and_blank_files(tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "blank.txt").write_bytes(b"\n\n  \n")
    (tmp_path / "empty.csv").write_bytes(b"")
    posts, rejects = read_all(
        tmp_path / "empty.jsonl", tmp_path / "blank.txt", tmp_path / "empty.csv"
    )
    assert posts == [] and rejects == []


def test_folders_and_globs_expand_sorted_and_skip_hidden(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("b\n")
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / ".hidden.txt").write_text("h\n")
    assert expand_paths([str(tmp_path)]) == [str(tmp_path / "a.txt"), str(tmp_path / "sub/b.txt")]
    assert expand_paths([str(tmp_path / "**" / "*.txt")]) == [
        str(tmp_path / "a.txt"),
        str(tmp_path / "sub/b.txt"),
    ]
    with pytest.raises(InputError, match="no files match"):
        expand_paths([str(tmp_path / "*.csv")])
    with pytest.raises(InputError, match="no such file"):
        expand_paths([str(tmp_path / "missing.jsonl")])


def test_stdin_compressed(monkeypatch):
    fake = io.TextIOWrapper(io.BytesIO(gzip.compress(_lines(3))))
    monkeypatch.setattr(sys, "stdin", fake)
    items = list(read_posts(["-"]))
    assert [i.id for i in items] == ["0", "1", "2"]


def test_forced_format_overrides_detection():
    posts, rejects = read_all(FIXTURES / "posts.txt", fmt="text")
    assert len(posts) == 2
    posts, rejects = read_all(FIXTURES / "x_v2_stream.jsonl", fmt="mastodon")
    assert posts == [] and len(rejects) == 3
