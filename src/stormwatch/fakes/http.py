"""A tiny threaded HTTP/1.1 server for the fakes, with chunked streaming responses."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

Route = Callable[["Request"], None]


class Request:
    """What a route sees, and how it answers."""

    def __init__(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        self.handler = handler
        parts = urlsplit(handler.path)
        self.path = parts.path
        self.query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.headers = handler.headers
        self.body = body

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None

    def reply(
        self, status: int, payload: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        data = b"" if payload is None else orjson.dumps(payload)
        self.handler.send_response(status)
        self.handler.send_header("Content-Type", "application/json")
        self.handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.handler.send_header(name, value)
        self.handler.end_headers()
        self.handler.wfile.write(data)

    def start_stream(self, content_type: str) -> None:
        self.handler.send_response(200)
        self.handler.send_header("Content-Type", content_type)
        self.handler.send_header("Transfer-Encoding", "chunked")
        self.handler.end_headers()

    def chunk(self, data: bytes) -> None:
        self.handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.handler.wfile.flush()

    def end_stream(self) -> None:
        self.handler.wfile.write(b"0\r\n\r\n")
        self.handler.wfile.flush()

    def keep_alive(self, data: bytes, every_s: float, stopping: threading.Event) -> None:
        """Send `data` every `every_s` until the client leaves or the server stops."""
        while not stopping.is_set():
            try:
                self.chunk(data)
            except OSError:
                return
            time.sleep(every_s)

    def error(self, code: int, retry_after: float | None) -> None:
        """An error answer instead of a stream (a script's ("status", code, retry_after))."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.reply(code, {"error": "fake error", "status": code}, headers)

    def cut(self) -> None:
        """Drop the connection at once (mid-line, mid-chunk): no clean end."""
        self.handler.wfile.flush()
        with contextlib.suppress(OSError):
            self.handler.connection.shutdown(socket.SHUT_RDWR)
        self.handler.close_connection = True


class FakeHTTPServer:
    def __init__(self, routes: dict[tuple[str, str], Route]) -> None:
        self.routes = routes
        self.log: list[tuple[str, str, dict[str, str]]] = []
        self.stopping = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self, body)
                outer.log.append((self.command, request.path, dict(request.query)))
                route = outer.match(self.command, request.path)
                if route is None:
                    request.reply(404, {"error": f"no route {self.command} {request.path}"})
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    route(request)

            do_GET = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def match(self, method: str, path: str) -> Route | None:
        if (method, path) in self.routes:
            return self.routes[(method, path)]
        for (m, pattern), route in self.routes.items():  # "/prefix/*" routes
            if m == method and pattern.endswith("*") and path.startswith(pattern[:-1]):
                return route
        return None

    def __enter__(self) -> FakeHTTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


class FakeService:
    """A fake platform: its routes on one FakeHTTPServer, started and stopped with `with`."""

    http: FakeHTTPServer

    def __init__(self, routes: dict[tuple[str, str], Route]) -> None:
        self.http = FakeHTTPServer(routes)
        self.url = self.http.url

    def __enter__(self):
        self.http.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.__exit__(*exc)
