"""Render the top of the demo's report as docs/report.png (a screenshot for the README).

python scripts/screenshot_report.py   # after `stormwatch demo` has written demo-out/report.html
"""

from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    report = ROOT / "demo-out" / "report.html"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 1000, "height": 1450})
        page.goto(report.as_uri())
        page.screenshot(path=str(ROOT / "docs" / "report.png"))
        browser.close()
    print("wrote docs/report.png")
