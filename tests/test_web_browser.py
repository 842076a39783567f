"""The console in headless Chromium: log in, watch counters grow during a replay, answer
and hide questions, restart the server and find the state kept; hostile text stays text."""

from __future__ import annotations

import threading

import pytest

from browser import browser_page
from campaign import ONERROR, SCRIPT, campaign_posts
from live_server import running
from stormwatch.export import post_record
from stormwatch.models import load_classifier
from test_web_api import PASSWORD, setup_db


@pytest.fixture(scope="module")
def classifier():
    return load_classifier("fast")


def write_campaign(path) -> None:
    import orjson

    path.write_bytes(b"".join(orjson.dumps(post_record(p)) + b"\n" for p in campaign_posts()))


def log_in(page, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")


def test_dashboard_grows_during_a_replay_and_shows_hostile_text_as_text(tmp_path, classifier):
    from stormwatch.replay import replay_file

    db = tmp_path / "live.db"
    token = setup_db(db)
    recording = tmp_path / "campaign.jsonl"
    write_campaign(recording)
    with running(db, classifier) as url, browser_page() as page:
        log_in(page, url, "view")
        assert page.locator("[data-counter=posts]").inner_text() == "0"
        # 127 minutes of campaign at 1,800x: about 4 seconds.
        replay = threading.Thread(
            target=replay_file, args=(recording, url, token, 1800.0, 20, None)
        )
        replay.start()
        page.wait_for_function(
            "() => Number(document.querySelector('[data-counter=posts]').textContent"
            ".replace(/,/g, '')) > 0",
            timeout=10_000,
        )
        replay.join(timeout=30)
        page.wait_for_function(
            "() => document.querySelector('[data-counter=labelled]').textContent === '123'",
            timeout=10_000,
        )
        assert page.locator("[data-counter=posts]").inner_text() == "123"
        page.wait_for_function(
            "() => [...document.querySelectorAll('#feed li')].some("
            "li => li.textContent.includes('<script>alert(1)</script>'))",
            timeout=10_000,
        )
        feed = page.locator("#feed").inner_text()
        assert SCRIPT in feed and ONERROR in feed
        assert page.locator("#feed img, #feed script").count() == 0
        assert page.dialogs == []
        # The charts are served and drawn.
        page.wait_for_function(
            "() => [...document.querySelectorAll('img[data-chart]')].every("
            "i => i.complete && i.naturalWidth > 0)",
            timeout=10_000,
        )
        sizes = page.eval_on_selector_all(
            "img[data-chart]", "imgs => imgs.map(i => i.complete && i.naturalWidth)"
        )
        assert len(sizes) == 3 and all(w == 720 for w in sizes)
        # Filters: only offensive posts, via the read API.
        page.select_option("select[name=label]", "offensive")
        page.click("#filters button")
        page.wait_for_function(
            "() => document.querySelectorAll('#feed li').length > 0 && "
            "[...document.querySelectorAll('#feed li')].every("
            "li => li.querySelector('.chip-offensive'))",
            timeout=10_000,
        )


def test_queue_answer_hide_restart_keeps_state(tmp_path, classifier):
    import httpx

    from test_web_api import ndjson

    db = tmp_path / "q.db"
    token = setup_db(db)
    with running(db, classifier) as url:
        response = httpx.post(
            f"{url}/api/v1/posts",
            content=ndjson(campaign_posts()),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.json()["accepted"] == 123
        with browser_page() as page:
            log_in(page, url, "mod")
            page.goto(f"{url}/queue")
            page.wait_for_function("() => !!document.querySelector('#queue li.question')")
            first = page.locator("#queue li.question").nth(0)
            first_id = first.get_attribute("data-rowid")
            second_id = page.locator("#queue li.question").nth(1).get_attribute("data-rowid")
            first.locator("textarea").fill("We open at 9 <b>sharp</b>")
            first.locator("button[data-action=answer]").click()
            page.wait_for_url(f"{url}/queue#q{first_id}")
            # Keyboard: the second question is now first in the queue; h hides it.
            assert (
                page.locator("#queue li.question").nth(0).get_attribute("data-rowid") == second_id
            )
            page.keyboard.press("h")
            page.wait_for_function(
                f"() => !document.querySelector('#queue li[data-rowid=\"{second_id}\"]')"
            )
            assert page.dialogs == []
    with running(db, classifier) as url, browser_page() as page:
        log_in(page, url, "mod")
        page.goto(f"{url}/queue")
        answered = page.locator("#answered-list")
        assert "We open at 9 <b>sharp</b>" in answered.inner_text()
        assert answered.locator("b", has_text="sharp").count() == 0
        page.click("#set-aside summary")
        assert page.locator(f"#set-aside li[data-rowid='{second_id}']").count() == 1
        assert page.locator(f"#queue li[data-rowid='{first_id}']").count() == 0
