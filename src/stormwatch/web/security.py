"""Who is asking, may they, and how often: sessions, bearer tokens, CSRF, rate limits and
the headers every response carries.

Pages use a session cookie (HttpOnly, SameSite=Strict) and a per-session CSRF token that
every form and script POST must echo; machines use `Authorization: Bearer TOKEN`, which
carries no ambient authority and so needs no CSRF token.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import Response

from stormwatch.store.console import Session

SESSION_COOKIE = "sw_session"
LOGIN_CSRF_COOKIE = "sw_login_csrf"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


class SecurityHeaders(BaseHTTPMiddleware):
    """A Content-Security-Policy that forbids inline script (posts are hostile) and the
    usual hardening headers, on every response."""

    async def dispatch(self, request: Request, call_next: Callable) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        return response


class RateLimiter:
    """Token buckets per key: `rate` requests per second on average, bursts up to `burst`."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> float:
        """0 if allowed now, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


def limit(limiter: RateLimiter, key: str) -> None:
    wait = limiter.allow(key)
    if wait:
        raise HTTPException(
            429,
            "too many requests; slow down",
            headers={"Retry-After": str(max(1, round(wait + 0.5)))},
        )


@dataclass(frozen=True, slots=True)
class Principal:
    """Whoever made a request: a logged-in person (with a CSRF token) or an API token."""

    name: str
    role: str
    csrf: str | None = None
    token: bool = False

    def can(self, role: str) -> bool:
        return Session(self.name, self.role, self.csrf or "").can(role)


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def check_csrf(principal: Principal, supplied: str | None) -> None:
    """Unsafe requests made with a session cookie must echo the session's CSRF token."""
    if principal.token:
        return
    if not supplied or not principal.csrf or not hmac.compare_digest(supplied, principal.csrf):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page and try again")


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"
