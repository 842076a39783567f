"""`stormwatch demo --live`: the console on the bundled sample campaign, replayed at speed.

Starts the server on a fresh store, makes a demo moderator and an ingest token, replays the
sample into it (a 20-hour hijack in about two minutes at the default speed), writes the
report when the replay ends, and keeps serving until Ctrl-C (or stops, with --exit)."""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path

from rich.console import Console

from stormwatch.store.console import ConsoleStore
from stormwatch.store.sqlite import SQLiteStore


def run_live_demo(
    out: Path, sample: Path, port: int, speed: float, exit_after: bool, err: Console
) -> None:
    import uvicorn

    from stormwatch import settings
    from stormwatch.cli_common import SAMPLE_TAGS
    from stormwatch.models import load_classifier
    from stormwatch.replay import replay_file
    from stormwatch.report import build_report, render_html
    from stormwatch.web.app import create_app

    out.mkdir(parents=True, exist_ok=True)
    db = out / "live.db"
    for stale in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), out / "live.replay"):
        stale.unlink(missing_ok=True)
    password = secrets.token_urlsafe(9)
    with SQLiteStore(db) as store:
        store.set_campaign_tags(SAMPLE_TAGS)
        console = ConsoleStore(store.db)
        token = console.create_token("demo")
        console.add_user("demo", password, "moderator")
    app = create_app(db, load_classifier(settings.get("tier")))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="stormwatch-demo-server", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit(f"the console could not start on port {port}; try --port 8001")
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}/"
    err.print(f"[bold]Dashboard:[/bold] {url}  (log in as [bold]demo[/bold] / {password})")
    err.print(f"Questions: {url}queue — replaying the sample at {speed:g}x ...")
    try:
        result = replay_file(sample, url, token, speed, 100, out / "live.replay")
        err.print(
            f"replayed {result.sent:,} posts: {result.accepted:,} accepted, "
            f"{result.duplicate:,} duplicates"
        )
        deadline = time.monotonic() + 30
        while app.state.live.backlog and time.monotonic() < deadline:
            time.sleep(0.1)
        with SQLiteStore(db) as store:
            model = store.latest_model()
            if model is not None:
                report = out / "live-report.html"
                data = build_report(store, model)
                report.write_text(render_html(data, "#AskBrand sample campaign (live)"), "utf-8")
                err.print(f"wrote the report {report}")
        if not exit_after:
            err.print(f"still serving {url} — Ctrl-C stops it")
            while thread.is_alive():
                thread.join(timeout=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.should_exit = True
        thread.join(timeout=10)
