import itertools

import orjson
from click.testing import CliRunner

from campaign import FRIENDLY, HOSTILE, campaign_posts
from stormwatch.cli import main
from stormwatch.export import post_record
from stormwatch.preflight import LEVELS, level_for


def test_the_rule_is_monotone_in_every_share():
    grid = [0.0, 0.05, 0.1, 0.2, 0.3, 0.35, 0.5, 0.7]
    for neg, off, iro in itertools.product(grid, repeat=3):
        level = LEVELS.index(level_for({"negative": neg, "offensive": off, "irony": iro})[0])
        for bump in ("negative", "offensive", "irony"):
            higher = {"negative": neg, "offensive": off, "irony": iro}
            higher[bump] = min(1.0, higher[bump] + 0.1)
            assert LEVELS.index(level_for(higher)[0]) >= level


def test_thresholds_and_reasons_are_stated():
    assert level_for({"negative": 0.1, "offensive": 0.05, "irony": 0.1})[0] == "low"
    level, reasons = level_for({"negative": 0.36, "offensive": 0.05, "irony": 0.1})
    assert level == "high" and "35%" in reasons[0] and "36%" in reasons[0]
    assert level_for({"negative": 0.1, "offensive": 0.31, "irony": 0.1})[0] == "severe"


def write(path, posts):
    path.write_bytes(b"".join(orjson.dumps(post_record(p)) + b"\n" for p in posts))


def test_preflight_tells_a_friendly_crowd_from_a_hostile_one(tmp_path):
    posts = campaign_posts()
    friendly, hostile = tmp_path / "friendly.jsonl", tmp_path / "hostile.jsonl"
    write(friendly, [p for p in posts if any(p.text.startswith(f) for f in FRIENDLY)])
    write(hostile, [p for p in posts if any(p.text.startswith(h) for h in HOSTILE)])
    runner = CliRunner()
    calm = orjson.loads(runner.invoke(main, ["preflight", str(friendly), "--json"]).stdout)
    angry_run = runner.invoke(
        main, ["preflight", str(hostile), "--json", "-o", str(tmp_path / "pf.html")]
    )
    angry = orjson.loads(angry_run.stdout)
    assert calm["level"] == "low" and angry["level"] in ("high", "severe")
    assert angry["prevalence"]["negative"]["low"] > calm["prevalence"]["negative"]["high"]
    # One account (the troll) wrote half the hostile posts: the loudest 1% dominate.
    assert angry["concentration"]["top_1pct_share"] >= 0.4, angry["concentration"]
    html = (tmp_path / "pf.html").read_text(encoding="utf-8")
    assert f"Risk: {angry['level'].upper()}" in html
    # The grievances are named: themes ranked by the negative posts they hold.
    grievances = angry["themes"]
    assert grievances and grievances[0]["share_of_negative"] >= grievances[-1]["share_of_negative"]
    assert all(t["label"] in html for t in grievances)
    # In the terminal too, a brand (or a theme label quoted in a reason) is shown as typed:
    # never read as console markup, which a stray closing tag would crash.
    brand = "[/bold][link=http://evil.example]Brand[/link]"
    shown = runner.invoke(main, ["preflight", str(hostile), "--brand", brand])
    assert shown.exit_code == 0, shown.output
    assert f"posts about {brand})" in shown.stdout and "What to do: " in shown.stdout
    assert any("centres on" in reason for reason in angry["reasons"])
    # The model's own evidence (eval quantify --save) is quoted where its intervals fell short.
    from stormwatch.models import interval_evidence

    negative = interval_evidence(angry["model"]["name"], angry["model"]["version"])["negative"]
    caveat = next(r for r in angry["reasons"] if "model alone" in r)
    assert f"negative {negative['coverage']:.0%}" in caveat and "stormwatch sample" in caveat
    # Its baseline feeds the early warning.
    baseline = tmp_path / "baseline.json"
    baseline.write_bytes(orjson.dumps(calm))
    db = tmp_path / "a.db"
    summary = orjson.loads(
        runner.invoke(
            main, ["analyze", str(hostile), "--db", str(db), "--baseline", str(baseline), "--json"]
        ).stdout
    )
    assert any(a["level"] in ("warning", "critical") for a in summary["alerts"])
    bad = runner.invoke(main, ["analyze", str(hostile), "--baseline", str(friendly)])
    assert bad.exit_code == 2 and "baseline" in bad.output
