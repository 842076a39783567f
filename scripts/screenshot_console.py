"""Screenshots of the console for the README: docs/dashboard.png, queue.png, themes.png.

python scripts/screenshot_console.py   # needs chromium (make test installs it) and Playwright

Serves a fresh store, sends it the bundled sample campaign through the ingest API,
answers one question and hides another, then photographs both pages in headless Chromium.
"""

import tempfile
import time
from pathlib import Path

import httpx
from console_shots import logged_in_page, serve
from playwright.sync_api import sync_playwright

from stormwatch.cli_common import SAMPLE_TAGS, sample_path
from stormwatch.models import load_classifier
from stormwatch.replay import replay_file
from stormwatch.store.console import ConsoleStore
from stormwatch.store.sqlite import SQLiteStore
from stormwatch.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
PORT = 8765
PASSWORD = "screenshot-only"

if __name__ == "__main__":
    db = Path(tempfile.mkdtemp()) / "shots.db"
    with SQLiteStore(db) as store:
        console = ConsoleStore(store.db)
        token = console.create_token("shots")
        console.add_user("host", PASSWORD, "moderator")
        store.set_campaign_tags(SAMPLE_TAGS)  # as the demo does
    url = serve(create_app(db, load_classifier("fast")), PORT)
    replay_file(sample_path(), url, token, speed=1e9, batch=500)
    while httpx.get(f"{url}/healthz").json()["labelled"] < 5000:
        time.sleep(0.2)
    with sync_playwright() as p:
        page = logged_in_page(p, url, "host", PASSWORD, {"width": 1200, "height": 1400})
        page.select_option("#window", "auto")
        page.wait_for_timeout(2500)
        page.screenshot(path=str(ROOT / "docs" / "dashboard.png"))
        page.goto(f"{url}/queue")
        first = page.locator("#queue li.question").nth(0)
        first.locator("textarea").fill("Thanks for asking: the full answer is on our site.")
        first.locator("button[data-action=answer]").click()
        page.wait_for_load_state()
        page.keyboard.press("j")
        page.screenshot(path=str(ROOT / "docs" / "queue.png"))
        for _ in range(300):  # the console finds themes in the background
            if page.request.get(f"{url}/api/v1/themes").json()["themes"]:
                break
            time.sleep(0.2)
        page.goto(f"{url}/themes")
        page.screenshot(path=str(ROOT / "docs" / "themes.png"))
        page.context.browser.close()
    print("wrote docs/dashboard.png, docs/queue.png and docs/themes.png")
