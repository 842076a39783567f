"""People's labels of a random sample: the sheet round trip through `sample` and
`analyze --crowd-labels`, on the bundled campaign with its gold labels."""

import csv
import gzip

import numpy as np
import orjson
import pytest
from click.testing import CliRunner

from statements import assert_quotes_bound
from stormwatch.cli import main, sample_path
from stormwatch.crowd import SheetError, read_sheet
from stormwatch.export import spreadsheet_cell as _cell


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def analyze_with(db, sheet):
    """`analyze` of the bundled campaign into `db` with a sheet (errors come back as exit 2)."""
    args = ["analyze", str(sample_path()), "--db", str(db), "--no-themes", "--json"]
    return CliRunner().invoke(main, [*args, "--crowd-labels", str(sheet)])


def write_rows(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def gold() -> dict[str, int]:
    """post id -> 1 if negative (sentiment 0), 0 otherwise, for the sentiment posts."""
    path = sample_path().with_name("sample_truth.csv.gz")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return {
            r["id"]: int(r["label"] == "0")
            for r in csv.DictReader(handle)
            if r["dataset"] == "sentiment"
        }


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crowd")
    db = folder / "c.db"
    result = run("analyze", str(sample_path()), "--db", str(db), "--no-themes", "--json")
    return db, orjson.loads(result.stdout)


def test_a_labelled_sheet_gives_an_interval_around_the_true_share(campaign, tmp_path):
    db, plain = campaign
    sheet = tmp_path / "sheet.csv"
    result = run("sample", str(db), "-n", "150", "-o", str(sheet), "--label", "negative")
    assert result.exit_code == 0, result.output
    with open(sheet, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 150 and len({r["rowid"] for r in rows}) == 150
    assert all(r["negative"] == "" for r in rows)
    # A person fills it in (here: the gold labels; offensive-task posts are not negative
    # sentiment posts, so they are 0), leaving the last 20 rows blank.
    truth = gold()
    for r in rows[:130]:
        r["negative"] = str(truth.get(r["id"].lstrip("'"), 0))
    for r in rows[130:]:
        r["negative"] = ""
    write_rows(sheet, rows)
    result = analyze_with(db, sheet)
    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout)
    assert summary["crowd_labels"] == {"negative": 130}
    negative = summary["prevalence"]["negative"]
    assert negative["method"] == "labelled"
    # The set's true negative share, from the gold labels of the posts analysed.
    from stormwatch.store.sqlite import SQLiteStore

    with SQLiteStore(db) as store:
        model = store.latest_model()
        scored = store.scores(model)
        ids = [p.post.id for p in store.posts_by_rowid(scored.rowids.tolist())]
    true_share = sum(truth.get(i, 0) for i in ids) / len(ids)
    assert negative["low"] <= true_share <= negative["high"]
    assert negative["high"] - negative["low"] < 0.2
    # The report states the same figure and says where it comes from.
    html = tmp_path / "r.html"
    result = run("report", str(db), "-o", str(html), "--crowd-labels", str(sheet))
    assert result.exit_code == 0, result.output
    page = html.read_text(encoding="utf-8")
    assert "people labelled a random sample" in page
    assert_quotes_bound(page, negative["low"], r" of [\d,]+ posts are negative")  # headline
    # Per time window, the sheet's labels too: the windows average (post-weighted) to the
    # headline figure (a little above it where a quiet window's estimate is clipped at 0),
    # and follow the hijack more closely than the model alone does (fast 1.5.0: 0.115 vs
    # 0.120 mean error over the 2-hour windows; 1.4.0: 0.116 vs 0.171).
    per_window = {}
    for extra in ([], ["--crowd-labels", str(sheet)]):
        args = ["analyze", str(sample_path()), "--db", str(db), "--no-themes", "--json"]
        result = CliRunner().invoke(main, [*args, "--window", "2h", *extra])
        assert result.exit_code == 0, result.output
        per_window[bool(extra)] = [w for w in orjson.loads(result.stdout)["windows"] if w["posts"]]
    series = per_window[True]
    assert len(series) >= 4
    assert all(w["prevalence"]["negative"]["method"] == "labelled" for w in series)
    weighted = sum(w["posts"] * w["prevalence"]["negative"]["estimate"] for w in series)
    assert 0 <= weighted / sum(w["posts"] for w in series) - negative["estimate"] < 0.02
    with SQLiteStore(db) as store:
        times = [p.post.created_at for p in store.posts_by_rowid(scored.rowids.tolist())]
    errors = {True: [], False: []}
    for sheet_used, windows in per_window.items():
        for w in windows:
            hour = int(w["start"][11:13])
            members = [i for i, t in zip(ids, times, strict=True) if t.hour // 2 == hour // 2]
            share = sum(truth.get(i, 0) for i in members) / len(members)
            errors[sheet_used].append(abs(w["prevalence"]["negative"]["estimate"] - share))
    assert np.mean(errors[True]) < np.mean(errors[False])
    # A sheet drawn from a set that has grown since is no random sample of it: refused.
    for r in rows:
        r["drawn_from"] = str(int(r["drawn_from"]) - 40)
    write_rows(tmp_path / "grown.csv", rows)
    result = analyze_with(db, tmp_path / "grown.csv")
    assert result.exit_code == 2 and "draw a new sheet" in result.output
    # Labels the sheet does not cover keep the model-only method.
    assert (
        summary["prevalence"]["offensive"]["method"] == plain["prevalence"]["offensive"]["method"]
    )


def test_bad_sheets_are_clear_errors(campaign, tmp_path):
    db, _ = campaign
    bad = tmp_path / "bad.csv"
    bad.write_text("rowid,platform,id,text,negative\n1,x,1,hi,1\n2,x,2,ho,maybe\n")
    with pytest.raises(SheetError, match="line 3: negative is 'maybe'"):
        read_sheet(bad)
    blank = tmp_path / "blank.csv"
    blank.write_text("rowid,platform,id,text,drawn_from,negative\n1,x,1,hi,9,\n")
    with pytest.raises(SheetError, match="no label filled in"):
        read_sheet(blank)
    edited = tmp_path / "edited.csv"
    edited.write_text("rowid,platform,id,text,drawn_from,negative\n1,x,1,hi,9,1\n2,x,2,ho,8,0\n")
    with pytest.raises(SheetError, match="drawn_from column was edited"):
        read_sheet(edited)
    result = analyze_with(db, bad)
    assert result.exit_code == 2 and "write 1 or 0" in result.output
    alien = tmp_path / "alien.csv"
    alien.write_text("rowid,platform,id,text,negative\n999999,x,1,hi,1\n3,x,2,ho,0\n")
    result = analyze_with(db, alien)
    assert result.exit_code == 2 and "another store" in result.output
    result = CliRunner().invoke(
        main, ["sample", str(db), "-o", str(tmp_path / "s.csv"), "--label", "angry"]
    )
    assert result.exit_code == 2 and "unknown label" in result.output


def test_sheet_cells_never_run_as_spreadsheet_formulas():
    assert _cell('=HYPERLINK("http://evil")') == '\'=HYPERLINK("http://evil")'
    assert _cell("@user hi") == "'@user hi" and _cell("-1 for this") == "'-1 for this"
    assert _cell("plain post") == "plain post"
