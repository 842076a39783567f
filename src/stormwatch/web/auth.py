"""Who is asking, and logging in and out: the console's guards (API by bearer token or
session, pages by session only) and the log-in routes. Passwords, sessions and tokens are
kept by the console store; the checks themselves are in `security`."""

import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from stormwatch.web.live import Stores
from stormwatch.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Principal,
    RateLimiter,
    bearer,
    check_csrf,
    client_key,
    limit,
)

Render = Callable[..., Response]


class LoginRedirect(Exception):
    """A page asked for without a session: send the browser to the log-in form."""

    def __init__(self, back: str) -> None:
        self.back = back


class Guards:
    """FastAPI dependencies: `reader` (any signed-in principal), `moderator` (the
    moderator role and a CSRF token), `page_user` (a browser session, else the log-in
    page)."""

    def __init__(self, stores: Stores) -> None:
        self.stores = stores

    def principal(self, request: Request) -> Principal | None:
        token = bearer(request)
        if token is not None:
            name = self.stores.console().token_name(token)
            return Principal(f"token:{name}", "moderator", token=True) if name else None
        session_id = request.cookies.get(SESSION_COOKIE)
        session = self.stores.console().session(session_id) if session_id else None
        return Principal(session.username, session.role, session.csrf) if session else None

    def reader(self, request: Request) -> Principal:
        who = self.principal(request)
        if who is None:
            raise HTTPException(
                401,
                "log in at /login, or send Authorization: Bearer TOKEN",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return who

    def moderator(self, request: Request) -> Principal:
        who = self.reader(request)
        if not who.can("moderator"):
            raise HTTPException(403, "this needs the moderator role")
        check_csrf(who, request.headers.get("x-csrf-token"))
        return who

    def page_user(self, request: Request) -> Principal:
        who = self.principal(request)
        if who is None or who.token:
            raise LoginRedirect(str(request.url.path))
        return who


def add_auth_handlers(app: FastAPI) -> None:
    """Errors as JSON `{"error": ...}`; a page without a session goes to /login."""

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return JSONResponse({"error": exc.detail}, exc.status_code, headers=exc.headers)

    @app.exception_handler(LoginRedirect)
    async def to_login(request: Request, exc: LoginRedirect) -> Response:
        return RedirectResponse("/login", 303)


def login_router(
    stores: Stores,
    guards: Guards,
    limiter: RateLimiter,
    secure_cookies: bool,
    render: Render,
) -> APIRouter:
    """/login (form and post, rate-limited per address, CSRF by a cookie the form set)
    and /logout."""
    router = APIRouter(include_in_schema=False)

    @router.get("/login")
    def login_page(request: Request, error: str | None = None) -> Response:
        token = secrets.token_urlsafe(24)
        response = render(request, "login.html", None, login_csrf=token, error=error)
        response.set_cookie(
            LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies
        )
        return response

    @router.post("/login")
    def login(
        request: Request,
        username: Annotated[str, Form(max_length=100)],
        password: Annotated[str, Form(max_length=1000)],
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        limit(limiter, client_key(request))
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not expected or not secrets.compare_digest(expected, csrf):
            raise HTTPException(403, "the log-in form expired; reload it and try again")
        console = stores.console()
        if console.check_password(username, password) is None:
            return RedirectResponse("/login?error=1", 303)
        session_id, _ = console.open_session(username)
        response = RedirectResponse("/", 303)
        response.set_cookie(
            SESSION_COOKIE,
            session_id,
            httponly=True,
            samesite="strict",
            secure=secure_cookies,
            max_age=12 * 3600,
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE)
        return response

    @router.post("/logout")
    def logout(
        request: Request,
        who: Annotated[Principal, Depends(guards.page_user)],
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        check_csrf(who, csrf)
        session_id = request.cookies.get(SESSION_COOKIE)
        if session_id:
            stores.console().close_session(session_id)
        response = RedirectResponse("/login", 303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    return router
