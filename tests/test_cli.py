import csv
import gzip
import io

import orjson
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from stormwatch.cli import EXIT_NOTHING_READ, EXIT_STRICT, main, sample_path

SUMMARY_KEYS = {"posts", "rejected", "duplicates", "reposts", "authors", "first", "last", "shares"}


def run(*args: str, input: bytes | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_analyze_json_keys_and_idempotent_rerun(tmp_path):
    db = tmp_path / "c.db"
    first = run(
        "analyze",
        str(FIXTURES / "x_v2_page.json"),
        str(FIXTURES / "x_v1.jsonl"),
        "--db",
        str(db),
        "--json",
    )
    assert first.exit_code == 0
    summary = orjson.loads(first.stdout)
    assert summary.keys() >= SUMMARY_KEYS
    assert (summary["posts"], summary["reposts"], summary["duplicates"]) == (6, 2, 0)
    assert summary["skipped"] == 1  # the v1.1 delete notice
    assert summary["authors"] == 5
    assert summary["first"] == "2013-11-13T19:05:12.000Z"
    assert summary["last"] == "2013-11-13T20:21:00.000Z"
    assert {
        "negative",
        "neutral",
        "positive",
        "offensive",
        "hate",
        "irony",
        "sarcastic",
        "question",
        "genuine",
    } <= set(summary["shares"])
    assert summary["model"]["name"] == "fast"
    assert summary["labelled"] == 4  # reposts are amplification, not new voices
    second = orjson.loads(
        run("analyze", str(FIXTURES / "x_v2_page.json"), "--db", str(db), "--json").stdout
    )
    assert (second["posts"], second["duplicates"]) == (6, 3)
    counted = orjson.loads(
        run(
            "analyze",
            str(FIXTURES / "x_v2_page.json"),
            "--db",
            str(db),
            "--json",
            "--count-reposts",
        ).stdout
    )
    assert counted["labelled"] == 6


def test_window_series_and_bad_window(tmp_path):
    result = run(
        "analyze",
        str(FIXTURES / "x_v1.jsonl"),
        "--db",
        str(tmp_path / "w.db"),
        "--json",
        "--window",
        "1m",
    )
    series = orjson.loads(result.stdout)["windows"]
    assert [w["start"] for w in series] == [
        "2013-11-13T20:19:00.000Z",
        "2013-11-13T20:20:00.000Z",
        "2013-11-13T20:21:00.000Z",
    ]
    assert [w["posts"] for w in series] == [1, 0, 1]  # the retweet at 20:20 is not a voice
    assert "negative" in series[0]["prevalence"] and series[1]["prevalence"] == {}
    bad = CliRunner().invoke(main, ["analyze", str(FIXTURES / "x_v1.jsonl"), "--window", "2q"])
    assert bad.exit_code == 2 and "not like 15m, 1h or 1d" in bad.output


def test_baseline_tier_still_selectable(tmp_path):
    result = run(
        "analyze",
        str(FIXTURES / "x_v2_stream.jsonl"),
        "--db",
        str(tmp_path / "b.db"),
        "--json",
        "--tier",
        "baseline",
    )
    summary = orjson.loads(result.stdout)
    assert summary["model"]["name"] == "baseline"
    assert set(summary["shares"]) == {"negative", "neutral", "positive", "offensive", "question"}


def test_nothing_readable_exits_1_and_keeps_rejects(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"{nope\n<html>\n")
    result = run("analyze", str(bad), "--db", str(tmp_path / "b.db"), "--json")
    assert result.exit_code == EXIT_NOTHING_READ
    assert orjson.loads(result.stdout)["rejected"] == 2
    rejects = (tmp_path / "b.rejects.jsonl").read_text().splitlines()
    assert [orjson.loads(r)["line"] for r in rejects] == [1, 2]


def test_strict_fails_on_rejects_but_default_does_not(tmp_path):
    mixed = tmp_path / "m.jsonl"
    mixed.write_bytes((FIXTURES / "x_v2_stream.jsonl").read_bytes() + b"{broken\n")
    ok = run("analyze", str(mixed), "--db", str(tmp_path / "a.db"))
    assert ok.exit_code == 0
    assert "rejected lines" in ok.stdout
    strict = run("analyze", str(mixed), "--db", str(tmp_path / "s.db"), "--strict")
    assert strict.exit_code == EXIT_STRICT


def test_missing_input_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["analyze", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 1
    assert "nope.jsonl: no such file or folder" in result.output
    assert not list(tmp_path.iterdir())  # no store, no rejects file left behind


def test_stdin_and_csv_column_flags(tmp_path):
    result = run(
        "analyze",
        "-",
        "--db",
        str(tmp_path / "i.db"),
        "--json",
        input=gzip.compress((FIXTURES / "x_v2_stream.jsonl").read_bytes()),
    )
    assert orjson.loads(result.stdout)["posts"] == 3
    result = run(
        "analyze",
        str(FIXTURES / "posts.csv"),
        "--db",
        str(tmp_path / "c.db"),
        "--text-column",
        "message",
        "--id-column",
        "tweet_id",
        "--time-column",
        "posted",
        "--author-column",
        "handle",
        "--json",
    )
    summary = orjson.loads(result.stdout)
    assert (summary["posts"], summary["rejected"], summary["authors"]) == (2, 3, 2)


def test_default_db_named_after_input(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("analyze", str(FIXTURES / "x_v2_stream.jsonl"), "--json")
    assert orjson.loads(result.stdout)["db"] == "x_v2_stream.stormwatch.db"
    assert (tmp_path / "x_v2_stream.stormwatch.db").exists()


@pytest.fixture
def analysed(tmp_path):
    db = tmp_path / "e.db"
    run(
        "analyze",
        str(FIXTURES / "mastodon_statuses.json"),
        str(FIXTURES / "x_v2_page.json"),
        "--db",
        str(db),
    )
    return db


def test_export_jsonl_shape(analysed):
    result = run("export", str(analysed))
    records = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 6
    first = records[0]
    assert set(first) == {
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
        "labels",
    }
    assert first["platform"] == "mastodon" and first["author"] == "Gargron"
    assert set(first["labels"]["sentiment"]) == {"negative", "neutral", "positive"}
    assert 0.0 <= first["labels"]["offensive"] <= 1.0
    assert abs(sum(first["labels"]["sentiment"].values()) - 1) < 1e-3


def test_export_csv_and_parquet(analysed, tmp_path):
    result = run("export", str(analysed), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 6 and "sentiment.negative" in rows[0] and "offensive" in rows[0]
    hostile = next(r for r in rows if "script" in r["text"])
    assert hostile["text"].startswith("bank rant")
    out = tmp_path / "posts.parquet"
    assert run("export", str(analysed), "--format", "parquet", "-o", str(out)).exit_code == 0
    table = pq.read_table(out)
    assert table.num_rows == 6
    assert str(table.schema.field("created_at").type) == "timestamp[ms, tz=UTC]"
    assert run("export", str(analysed), "--format", "parquet").exit_code == 2


def test_export_csv_defuses_formulas_and_jsonl_keeps_the_text(tmp_path):
    path = tmp_path / "hostile.jsonl"
    lines = [
        {
            "id": "1",
            "author": "=cmd",
            "created_at": "2020-01-01T00:00:00Z",
            "text": '=HYPERLINK("http://evil.example","click")',
        },
        {
            "id": "2",
            "author": "zoe",
            "created_at": "2020-01-01T00:01:00Z",
            "text": "@brand -1 for this +1 for that",
        },
        {"id": "3", "author": "ann", "created_at": "2020-01-01T00:02:00Z", "text": "plain post"},
    ]
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    db = tmp_path / "h.db"
    assert run("analyze", str(path), "--db", str(db)).exit_code == 0
    rows = {
        r["id"]: r
        for r in csv.DictReader(io.StringIO(run("export", str(db), "--format", "csv").stdout))
    }
    assert rows["1"]["text"] == '\'=HYPERLINK("http://evil.example","click")'
    assert rows["1"]["author"] == "'=cmd"
    assert rows["2"]["text"] == "'@brand -1 for this +1 for that"
    assert rows["3"]["text"] == "plain post" and float(rows["3"]["offensive"]) < 1
    exported = [orjson.loads(x) for x in run("export", str(db)).stdout.splitlines()]
    assert {r["text"] for r in exported} == {line["text"] for line in lines}


def test_demo_runs_on_the_bundled_sample(tmp_path):
    result = run("demo", "--out", str(tmp_path / "demo"))
    assert result.exit_code == 0
    summary = orjson.loads((tmp_path / "demo" / "summary.json").read_bytes())
    assert summary["rejected"] == 3 and summary["duplicates"] == 20
    assert summary["posts"] == 5052 and summary["reposts"] > 100
    assert summary["shares"]["negative"] > summary["shares"]["offensive"] > 0
    assert sample_path().stat().st_size < 3 * 1024 * 1024
    exported = (tmp_path / "demo" / "posts.jsonl").read_bytes().count(b"\n")
    assert exported == 5052
    # The sample's hijack (from ~19:00 UTC) is flagged, with readable evidence.
    warnings = [a for a in summary["alerts"] if a["level"] in ("warning", "critical")]
    assert warnings and "2013-11-13T19" <= warnings[0]["at"] < "2013-11-13T21"
    assert warnings[0]["evidence"]["examples"] and warnings[0]["recommendation"]
    # The table output shows them too, a line each in the posts' own time.
    lines = [x for x in result.stdout.splitlines() if x.startswith("• 2013-11-13 ")]
    assert f"Early warning: {len(warnings)} warning or critical alert(s)" in result.stdout
    assert len(lines) == min(len(warnings), 10)
    assert lines[0].startswith(f"• {warnings[0]['at'][:16].replace('T', ' ')} UTC  WARNING — ")
    assert "Recommended: tighten moderation" in lines[0]
    # Alerts are stored once; a second run over the same store adds none.
    from stormwatch.store.alerts import AlertStore
    from stormwatch.store.sqlite import SQLiteStore

    db = tmp_path / "demo" / "demo.db"
    with SQLiteStore(db) as store:
        assert len(AlertStore(store.db).history()) == len(summary["alerts"])
    again = run("analyze", str(sample_path()), "--db", str(db), "--json", "--no-themes")
    assert again.exit_code == 0
    with SQLiteStore(db) as store:
        assert len(AlertStore(store.db).history()) == len(summary["alerts"])
    # Stricter early-warning settings (flags over STORMWATCH_WARNING) raise no warning on
    # the same posts, and the summary says which settings were changed.
    strict = CliRunner().invoke(
        main,
        [
            *("analyze", str(sample_path()), "--db", str(db), "--json", "--no-themes"),
            *("--warning-set", "margin=0.9", "--warning-set", "surge_margin=0.9"),
        ],
        env={"STORMWATCH_WARNING": "margin=0.2, cusum_h=1e6"},
        catch_exceptions=False,
    )
    quiet = orjson.loads(strict.stdout)
    assert quiet["warning_settings"] == {"margin": 0.9, "cusum_h": 1e6, "surge_margin": 0.9}
    assert not [a for a in quiet["alerts"] if a["level"] in ("warning", "critical")]
    assert summary["warning_settings"] == {}
    # Themes are found and named, never by the campaign's own hashtag.
    assert summary["themes"] and all(
        "askbrand" not in t["label"].lower() for t in summary["themes"]
    )
    # The sample's copy-paste wave of young accounts is found and flagged, with evidence.
    flagged = [g for g in summary["coordination"]["copy_paste_groups"] if g["looks_coordinated"]]
    assert len(flagged) == 1 and flagged[0]["accounts"] >= 20 and flagged[0]["minutes"] <= 60
    assert any("days old" in signal for signal in flagged[0]["signals"])
    html = (tmp_path / "demo" / "report.html").read_text(encoding="utf-8")
    assert "5,052" in html and html.count('class="chart"') == 4


def test_report_command_writes_html_json_and_refuses_an_empty_store(tmp_path):
    db = tmp_path / "c.db"
    assert run("analyze", str(FIXTURES / "x_v2_stream.jsonl"), "--db", str(db)).exit_code == 0
    out = tmp_path / "r" / "report.html"
    result = run("report", str(db), "-o", str(out), "--window", "15m", "--json")
    assert result.exit_code == 0
    data = orjson.loads(result.stdout)
    assert data["window"] == {"width": "15m", "ms": 900_000}
    assert f"{data['headline']['posts']:,}" in out.read_text(encoding="utf-8")
    assert run("report", str(db), "--window", "soon").exit_code == 2
    empty = tmp_path / "empty.db"
    from stormwatch.store.sqlite import SQLiteStore

    SQLiteStore(empty).close()
    refused = CliRunner().invoke(main, ["report", str(empty), "-o", str(tmp_path / "e.html")])
    assert refused.exit_code == 1 and "no labelled posts" in refused.output


def test_help_reads_well():
    result = run("--help")
    for command in ("analyze", "export", "report", "demo", "bench"):
        assert command in result.stdout
    assert "Exit status" in run("analyze", "--help").stdout


def test_eval_warning_refuses_an_unknown_setting_before_building_any_stream(tmp_path):
    # An empty data folder: had the setting been taken, loading the posts would fail instead.
    bad = CliRunner().invoke(
        main, ["eval", "warning", "--data", str(tmp_path), "--warning-set", "margn=0.1"]
    )
    assert bad.exit_code == 2
    assert "--warning-set: 'margn=0.1'" in bad.output and "margin" in bad.output
    assert "Traceback" not in bad.output
    # The same for a bad STORMWATCH_WARNING, named as such.
    env = {"STORMWATCH_WARNING": "persist=two"}
    bad = CliRunner().invoke(main, ["eval", "warning", "--data", str(tmp_path)], env=env)
    assert bad.exit_code == 2 and "STORMWATCH_WARNING: 'persist=two'" in bad.output


def test_the_themes_table_shows_hostile_text_as_typed():
    from rich.console import Console

    from stormwatch.cli import themes_table

    label, text = "[/bold] bank", "[link=http://evil.example]click[/link] [bold red]LOUD[/] [/x]"
    escape = "\x1b[2J\x1b]0;owned\x07"  # clear the screen, retitle the window
    theme = {
        "id": 1,
        "label": label,
        "size": 3,
        "share": {"estimate": 0.5, "low": 0.4, "high": 0.6},
        "mix": {"negative": 0.9},
        "examples": [{"text": text + escape}],
    }
    console = Console(record=True, width=300)
    console.print(themes_table([theme]))
    shown = console.export_text()
    assert label in shown and text in shown
    assert "\\x1b[2J\\x1b]0;owned\\x07" in shown and "\x1b" not in shown
