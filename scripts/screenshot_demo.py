"""Render the demo's summary as docs/demo.svg (a terminal screenshot for the README).

python scripts/screenshot_demo.py   # after `make demo` has written demo-out/summary.json
"""

from pathlib import Path

import orjson
from rich.console import Console

from stormwatch.cli import print_summary

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    summary = orjson.loads((ROOT / "demo-out" / "summary.json").read_bytes())
    console = Console(record=True, width=96, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print("$ stormwatch demo", style="bold")
    print_summary(summary, console)
    console.save_svg(str(ROOT / "docs" / "demo.svg"), title="stormwatch demo")
    print("wrote docs/demo.svg")
