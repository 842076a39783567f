from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from campaign import HOSTILE_HANDLE, ONERROR, SCRIPT, campaign_posts
from statements import assert_quotes_bound
from stormwatch.analysis import RejectsFile, ingest_and_score
from stormwatch.models import load_classifier
from stormwatch.report import auto_window, build_report, render_html, write_pdf
from stormwatch.store.sqlite import SQLiteStore


@pytest.fixture(scope="module")
def campaign_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "campaign.db"
    with SQLiteStore(path) as store:
        ingest_and_score(
            store, load_classifier("fast"), campaign_posts(), RejectsFile(path.with_suffix(".rej"))
        )
    return path


@pytest.fixture(scope="module")
def report(campaign_db):
    with SQLiteStore(campaign_db) as store:
        return build_report(store, store.latest_model())


def test_auto_window_keeps_at_most_sixty_windows():
    assert auto_window(0, 59 * 60_000) == ("1m", 60_000)
    assert auto_window(0, 61 * 60_000) == ("5m", 300_000)
    assert auto_window(0, 20 * 3_600_000)[0] == "30m"


def test_headline_counts_match_the_store(report):
    head = report["headline"]
    assert head["posts"] == 123
    assert head["authors"] == 20 + 30 + 1  # fans, angry one-offs, the troll
    assert head["span_hours"] == pytest.approx(127 / 60, abs=1e-3)
    # 123 posts over ~2 h in 5-minute windows: the busiest window holds 5 posts.
    assert report["window"]["width"] == "5m"
    assert head["peak"]["posts"] == 5 and head["peak"]["per_hour"] == 60.0


def test_series_add_up_and_follow_the_hostile_turn(report):
    series = report["series"]
    assert sum(series["posts"]) == 123
    sentiment = np.array([series[k] for k in ("negative", "neutral", "positive")])
    assert (sentiment.sum(axis=0) == np.array(series["posts"])).all()
    # The first hour is friendly, the second hostile: negative posts sit in the second half.
    half = len(series["posts"]) // 2
    assert sum(series["negative"][half:]) > 3 * sum(series["negative"][:half])
    assert len(report["windows"]) == len(series["posts"])


def test_examples_and_accounts_name_the_hostile_posts(report):
    offensive = [p["text"] for p in report["examples"]["offensive"]]
    assert offensive and len(offensive) == len(set(offensive))
    assert any(SCRIPT in t or ONERROR in t for t in offensive)
    top = report["accounts"][0]
    assert top["handle"] == HOSTILE_HANDLE and top["posts"] == 33
    assert top["negative_share"] > 0.5


def test_html_escapes_every_post_and_name(report):
    html = render_html(report, title="<b>#AskBrand</b>")
    assert SCRIPT not in html and ONERROR not in html and HOSTILE_HANDLE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;#AskBrand&lt;/b&gt;" in html
    # No script element at all, and a policy that forbids any.
    assert "<script" not in html.lower()
    assert "default-src 'none'" in html
    assert len(re.findall(r"<svg ", html)) == 4


def test_statements_in_html_quote_the_lower_bound(report):
    html = render_html(report)
    negative = report["prevalence"]["negative"]
    assert_quotes_bound(html, negative["low"], rf" of {negative['n']:,} posts are negative")


def test_methods_state_the_early_warning_rule_it_ran(report):
    from stormwatch.core.warning import WarningConfig

    text = " ".join(render_html(report).split())
    config = WarningConfig()
    assert f"the lower end of the {config.confidence * 100:g}% interval is " in text
    assert f"is {config.margin * 100:g} points above the baseline's upper end" in text
    assert f"at {config.surge_confidence * 100:g}%, or a CUSUM" in text
    assert f"learned from the first {config.learn_minutes // 60} hours and" in text
    assert "mean negative and offensive probabilities" in text
    assert "changed from the shipped ones" not in text


def test_methods_state_changed_warning_settings_and_the_alerts_follow_them(campaign_db, report):
    from stormwatch.core.warning import WarningConfig, with_settings

    # The campaign lasts two hours, shorter than the six the shipped detector learns from.
    quick = with_settings(WarningConfig(), ["learn_minutes=30", "margin=0.2"])
    with SQLiteStore(campaign_db) as store:
        tuned = build_report(store, store.latest_model(), warning=quick)
    text = " ".join(render_html(tuned).split())
    assert "is 20 points above the baseline's upper end" in text
    assert "learned from the first 30 minutes and" in text
    assert "changed from the shipped ones" in text
    assert "<code>learn_minutes=30</code>, <code>margin=0.2</code>." in text
    assert not report["alerts"]
    raised = {a["level"]: a["at"] for a in reversed(tuned["alerts"])}
    assert "2013-11-13T15:00" <= raised["warning"] < raised["critical"]
    assert "negative mean probability " in text  # the alerts table says what it compared


def test_methods_give_each_test_score_with_its_interval(report):
    figures = report["methods"]["figures"]["tasks"]["sentiment"]
    low, high = figures["test_interval"]
    assert low <= figures["test"] <= high
    text = " ".join(re.sub(r"<[^>]+>", "", render_html(report)).split())
    assert f"{figures['test']:.1f} ({low:.1f}–{high:.1f})" in text


def test_pdf_holds_the_headline(report, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    pytest.importorskip("weasyprint")
    out = tmp_path / "report.pdf"
    write_pdf(render_html(report), out)
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(out).pages)
    assert "unique accounts" in text and "123" in text
    assert SCRIPT in text  # printed as text, as in the page


def test_report_in_a_browser_shows_numbers_charts_and_hostile_text_as_text(report, tmp_path):
    from browser import browser_page

    path = tmp_path / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    with browser_page() as page:
        page.goto(path.as_uri())
        assert page.locator("[data-key=posts] b").inner_text() == "123"
        assert page.locator("[data-key=authors] b").inner_text() == "51"
        assert page.locator("svg.chart").count() == 4
        # Every bar of the timeline is drawn: one rect per non-empty (window, sentiment).
        bars = page.locator("svg.chart").first.locator("g.bars rect")
        nonzero = sum(
            1 for k in ("negative", "neutral", "positive") for v in report["series"][k] if v
        )
        assert bars.count() == nonzero
        negative = report["prevalence"]["negative"]
        assert_quotes_bound(page.locator("#headline").inner_text(), negative["low"])
        quotes = page.locator("blockquote").all_inner_texts()
        assert any(SCRIPT in q for q in quotes)
        assert any(ONERROR in q for q in quotes)
        assert HOSTILE_HANDLE in page.locator("#accounts").inner_text()
        # Shown as text: no image or script element was created, no alert ran.
        assert page.locator("img").count() == 0
        assert page.locator("script").count() == 0
        assert page.dialogs == []
