"""A real console server (uvicorn on 127.0.0.1, a free port) in a thread, for browser
tests and the load benchmark."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from stormwatch.core.labels import Classifier
from stormwatch.web.app import Config, create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(db: Path, classifier: Classifier, config: Config | None = None) -> Iterator[str]:
    """Serve the console over `db`; yields its base URL and stops it afterwards."""
    port = free_port()
    app = create_app(db, classifier, config or Config(max_wait=0.05))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the console did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
