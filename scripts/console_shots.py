"""What the screenshot scripts share: a console served on 127.0.0.1 in a thread, and a
headless Chromium page logged in to it."""

import threading
import time
from typing import Any

import uvicorn


def serve(app: Any, port: int) -> str:
    """Start the app in a thread; returns its base URL once it accepts connections."""
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}"


def logged_in_page(playwright: Any, url: str, user: str, password: str, viewport: dict) -> Any:
    """Debian's chromium, a page of this size, logged in as `user`, on the dashboard."""
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    page = browser.new_page(viewport=viewport)
    page.goto(f"{url}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")
    return page
