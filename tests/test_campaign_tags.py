"""The campaign's own hashtag is left out when posts are labelled: every post carries it, and
a model reading `#AskBrand` as "ask brand" shifts every label (see core.text.without_tags)."""

from __future__ import annotations

import gzip

import numpy as np
import orjson
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from campaign import campaign_posts
from stormwatch.cli import main
from stormwatch.cli_common import sample_path
from stormwatch.core.text import campaign_tags, without_tags
from stormwatch.models import load_classifier
from stormwatch.store.sqlite import SQLiteStore
from stormwatch.web.app import Config, create_app
from test_web_api import login, ndjson, setup_db, wait_labelled


@pytest.fixture(scope="module")
def classifier():
    return load_classifier("fast")


def test_only_the_whole_campaign_tag_goes_in_any_case():
    texts = [
        "Why do you foreclose on families? #AskBrand",
        "#askbrand what is your graduate programme like",
        "#AskBrandFail and #AskBrand2 stay, #AskBrand's goes",
        "no tag here",
    ]
    assert without_tags(texts, ("askbrand",)) == [
        "Why do you foreclose on families?",
        " what is your graduate programme like",
        "#AskBrandFail and #AskBrand2 stay,'s goes",
        "no tag here",
    ]
    assert without_tags(texts, ()) == texts
    # A regular-expression character in a tag is a literal, never a pattern.
    assert campaign_tags(["#AskJPM", "askjpm", "Ask_2"]) == ("ask_2", "askjpm")
    with pytest.raises(ValueError, match="not a hashtag"):
        campaign_tags(["ask.*"])


def test_changing_the_tags_drops_the_stored_labels_once(tmp_path, classifier):
    with SQLiteStore(tmp_path / "c.db") as store:
        store.add_posts(campaign_posts()[:5])
        model = store.register_model(classifier.name, classifier.version, classifier.layout)
        rows = store.unscored(model, 0, 10)
        store.add_scores(
            model, [r[0] for r in rows], classifier.predict_proba([r[1] for r in rows])
        )
        assert store.set_campaign_tags(("askbrand",)) == 5  # labelled reading it: again
        assert store.unscored(model, 0, 10) == rows
        assert store.set_campaign_tags(("askbrand",)) == 0  # the same tags: nothing to redo
    with SQLiteStore(tmp_path / "c.db") as store:
        assert store.campaign_tags() == ("askbrand",)


def _first_lines(tmp_path, n: int):
    """The bundled sample's first `n` lines, as a file of their own."""
    sample = tmp_path / "part.jsonl"
    with gzip.open(sample_path(), "rb") as handle:
        sample.write_bytes(b"".join(line for _, line in zip(range(n), handle, strict=False)))
    return sample


def test_analyze_labels_the_posts_without_the_tag_it_is_given(tmp_path, classifier):
    sample = _first_lines(tmp_path, 300)
    db = tmp_path / "a.db"
    run = CliRunner().invoke(
        main, ["analyze", str(sample), "--db", str(db), "--no-themes", "--json"]
    )
    assert run.exit_code == 0, run.output
    # Without a tag given, the summary names the hashtag most posts carry as a likely one.
    first = orjson.loads(run.stdout)
    assert first["campaign_tags"] == [] and first["likely_campaign_tag"] == "askbrand"
    tagged = CliRunner().invoke(
        main,
        [
            "analyze",
            str(sample),
            "--db",
            str(db),
            "--no-themes",
            "--json",
            "--campaign-tag",
            "AskBrand",
        ],
    )
    assert tagged.exit_code == 0, tagged.output
    second = orjson.loads(tagged.stdout)
    assert second["campaign_tags"] == ["askbrand"] and second["likely_campaign_tag"] is None
    assert "299 stored labels will be computed again without them" in " ".join(
        tagged.output.split()
    )
    with SQLiteStore(db) as store:
        model = store.latest_model()
        scored = store.scores(model, include_reposts=True, include_non_english=True)
        texts = [row[0] for row in store.db.execute("SELECT text FROM posts ORDER BY rowid")]
        assert store.campaign_tags() == ("askbrand",)
    assert sum("#AskBrand" in t for t in texts) > 250
    # What is stored is the model's reading of the posts without the tag, and that reading
    # differs from the tagged one.
    stripped = classifier.predict_proba(without_tags(texts, ("askbrand",)))
    np.testing.assert_allclose(scored.proba, stripped, atol=1e-6)
    assert np.abs(classifier.predict_proba(texts) - stripped).max() > 0.05
    # The report's methods say which tag the classifier did not read.
    report = tmp_path / "r.html"
    done = CliRunner().invoke(main, ["report", str(db), "-o", str(report)])
    assert done.exit_code == 0, done.output
    methods = " ".join(report.read_text(encoding="utf-8").split("<h2>Methods</h2>")[1].split())
    assert "hashtag (#askbrand) was left out of the text the classifier read" in methods


def test_the_console_labels_posts_without_the_stores_campaign_tag(tmp_path, classifier):
    path = tmp_path / "live.db"
    token = setup_db(path)
    with SQLiteStore(path) as store:
        store.set_campaign_tags(("askbrand",))
    posts = campaign_posts()[:8]
    with TestClient(create_app(path, classifier, Config(max_wait=0.05))) as client:
        auth = {"Authorization": f"Bearer {token}"}
        assert (
            client.post("/api/v1/posts", content=ndjson(posts), headers=auth).json()["accepted"]
            == 8
        )
        wait_labelled(client, 8)
        login(client, "view")
        page = " ".join(client.get("/").text.split())
        assert "Labelled without the campaign's own hashtag #askbrand" in page
    with SQLiteStore(path) as store:
        scored = store.scores(store.latest_model(), include_reposts=True, include_non_english=True)
    texts = [p.text for p in posts]
    assert all("#AskBrand" in t for t in texts)
    expected = classifier.predict_proba(without_tags(texts, ("askbrand",)))
    np.testing.assert_allclose(scored.proba, expected, atol=1e-6)


def test_a_baseline_read_with_other_tags_than_the_campaign_is_pointed_out(tmp_path):
    sample = _first_lines(tmp_path, 400)
    pre = CliRunner().invoke(
        main, ["preflight", str(sample), "--campaign-tag", "AskBrand", "--json"]
    )
    assert pre.exit_code == 0, pre.output
    result = orjson.loads(pre.stdout)
    assert result["campaign_tags"] == ["askbrand"]
    baseline = tmp_path / "pre.json"
    baseline.write_bytes(pre.stdout_bytes)
    args = ["analyze", str(sample), "--no-themes", "--baseline", str(baseline), "--json"]
    unlike = CliRunner().invoke(main, [*args, "--db", str(tmp_path / "a.db")])
    assert unlike.exit_code == 0, unlike.output
    assert "compares unlike readings" in " ".join(unlike.stderr.split())
    alike = CliRunner().invoke(
        main, [*args, "--db", str(tmp_path / "b.db"), "--campaign-tag", "askbrand"]
    )
    assert alike.exit_code == 0 and "unlike" not in alike.stderr
