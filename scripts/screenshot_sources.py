"""Screenshot of the console's Sources page for the docs: docs/sources.png.

python scripts/screenshot_sources.py   # needs chromium (make test installs it) and Playwright

Everything runs on 127.0.0.1 against the fakes in `stormwatch.fakes` (no real platform is
contacted): `listen` follows X, Mastodon and Bluesky fakes that drop, stall and send a
malformed event; a moderator answers a Mastodon question in the queue and the console
posts it as a reply to the fake instance.
"""

import tempfile
import time
from pathlib import Path

from console_shots import logged_in_page, serve
from playwright.sync_api import sync_playwright

from stormwatch.fakes.jetstream import FakeJetstream
from stormwatch.fakes.mastodon import FakeMastodon
from stormwatch.fakes.x import FakeX
from stormwatch.listen import Listener
from stormwatch.models import load_classifier
from stormwatch.replies import MastodonReplier
from stormwatch.sources.credentials import Secret
from stormwatch.sources.jetstream import Jetstream
from stormwatch.sources.mastodon_stream import MastodonStream
from stormwatch.sources.x_stream import XStream
from stormwatch.store.console import ConsoleStore
from stormwatch.store.sqlite import SQLiteStore
from stormwatch.web.app import Config, create_app

ROOT = Path(__file__).resolve().parents[1]
PORT = 8766
PASSWORD = "screenshot-only"

if __name__ == "__main__":
    db = Path(tempfile.mkdtemp()) / "sources.db"
    with SQLiteStore(db) as store:
        ConsoleStore(store.db).add_user("host", PASSWORD, "moderator")
    fast = load_classifier("fast")
    with (
        FakeX(
            [[("send", 40), ("malformed",), ("cut",)], [("status", 503, None)], [("send", 30)]]
        ) as fx,
        FakeMastodon([[("send", 25), ("delete", 3), ("edit", 4), ("send", 10)]]) as fm,
        FakeJetstream([[("send", 60), ("noise", 200), ("drop",)], [("send", 20)]]) as fj,
    ):
        listener = Listener(
            db,
            [
                XStream(["#AskX -is:retweet"], Secret("fake-bearer"), api=fx.url),
                MastodonStream(fm.url, "AskX", Secret("fake-token")),
                Jetstream(["AskX"], url=fj.url),
            ],
            classifier=fast,
        )
        listener.start()
        time.sleep(8)
        replier = MastodonReplier(fm.url, Secret("fake-token"))
        app = create_app(db, fast, Config(repliers={"mastodon": replier}, reply_every_s=0.2))
        url = serve(app, PORT)
        with sync_playwright() as p:
            page = logged_in_page(p, url, "host", PASSWORD, {"width": 1300, "height": 900})
            with SQLiteStore(db) as store:
                rowid = store.db.execute(
                    "SELECT rowid FROM posts WHERE platform = 'mastodon' AND deleted_ms IS NULL "
                    "ORDER BY rowid LIMIT 1"
                ).fetchone()[0]
            csrf = page.locator("meta[name=csrf-token]").get_attribute("content")
            page.request.post(
                f"{url}/api/v1/questions/{rowid}/answer",
                data={
                    "answer": "Fees are reviewed every March; the notice goes out a month before."
                },
                headers={"x-csrf-token": csrf},
            )
            time.sleep(2)
            page.goto(f"{url}/status")
            page.screenshot(path=str(ROOT / "docs" / "sources.png"), full_page=True)
            page.context.browser.close()
        listener.stop()
        replier.close()
    print("wrote docs/sources.png")
