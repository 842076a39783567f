"""The live console's own state in the store: API tokens, users, log-in sessions and
moderator actions on questions.

Secrets are never stored: tokens and session ids are random and kept as SHA-256 digests
(they carry 256 bits, so a fast hash is enough); passwords are hashed with argon2id. Actions
are appended, never rewritten: undo stamps the newest live action, so the history of who
did what to a question is kept whole.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

ROLES = ("viewer", "moderator", "admin")
ACTIONS = ("answer", "hide", "abusive", "pin", "unpin")
SESSION_HOURS = 12


def _now_ms() -> int:
    return int(time.time() * 1000)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    username: str
    role: str
    csrf: str

    def can(self, role: str) -> bool:
        """Roles are ordered: an admin may do what a moderator may, and so on."""
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(slots=True)
class QuestionState:
    """A question's state folded from its live actions."""

    answered: bool = False
    answer: str | None = None
    answered_by: str | None = None
    answered_ms: int | None = None
    hidden: bool = False
    abusive: bool = False
    pinned: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)


class ConsoleStore:
    """Console state on an open SQLite connection (the same file as the posts)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    # --- API tokens --------------------------------------------------------------------

    def create_token(self, name: str) -> str:
        """A new token; only its digest is stored, so this is the one time it is seen."""
        token = "sw_" + secrets.token_urlsafe(32)
        self.db.execute(
            "INSERT INTO api_tokens (name, token_hash, created_ms) VALUES (?, ?, ?)",
            (name, digest(token), _now_ms()),
        )
        return token

    def token_name(self, token: str) -> str | None:
        row = self.db.execute(
            "SELECT name FROM api_tokens WHERE token_hash = ? AND revoked = 0", (digest(token),)
        ).fetchone()
        return row[0] if row else None

    # --- users and sessions ------------------------------------------------------------

    def add_user(self, username: str, password: str, role: str) -> None:
        from argon2 import PasswordHasher

        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < 8:
            raise ValueError("a password needs at least 8 characters")
        self.db.execute(
            "INSERT INTO users (username, password_hash, role, created_ms) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, "
            "role = excluded.role",
            (username, PasswordHasher().hash(password), role, _now_ms()),
        )

    def check_password(self, username: str, password: str) -> str | None:
        """The user's role if the password is right, else None (same work either way)."""
        from argon2 import PasswordHasher
        from argon2.exceptions import VerificationError

        row = self.db.execute(
            "SELECT password_hash, role FROM users WHERE username = ?", (username,)
        ).fetchone()
        hasher = PasswordHasher()
        stored = row[0] if row else _DUMMY_HASH()
        try:
            hasher.verify(stored, password)
        except VerificationError:
            return None
        return row[1] if row else None

    def open_session(self, username: str) -> tuple[str, str]:
        """A new session id and its CSRF token."""
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.db.execute("DELETE FROM sessions WHERE expires_ms < ?", (_now_ms(),))
        self.db.execute(
            "INSERT INTO sessions (session_hash, username, csrf, expires_ms) VALUES (?, ?, ?, ?)",
            (digest(session_id), username, csrf, _now_ms() + SESSION_HOURS * 3_600_000),
        )
        return session_id, csrf

    def session(self, session_id: str) -> Session | None:
        row = self.db.execute(
            "SELECT s.username, u.role, s.csrf FROM sessions s JOIN users u "
            "ON u.username = s.username WHERE s.session_hash = ? AND s.expires_ms > ?",
            (digest(session_id), _now_ms()),
        ).fetchone()
        return Session(row[0], row[1], row[2]) if row else None

    def close_session(self, session_id: str) -> None:
        self.db.execute("DELETE FROM sessions WHERE session_hash = ?", (digest(session_id),))

    # --- question actions --------------------------------------------------------------

    def act(self, rowid: int, action: str, username: str, answer: str | None = None) -> None:
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
        if action == "answer" and not (answer or "").strip():
            raise ValueError("an answer needs text")
        if not self.db.execute("SELECT 1 FROM posts WHERE rowid = ?", (rowid,)).fetchone():
            raise LookupError(f"no post {rowid}")
        self.db.execute(
            "INSERT INTO question_actions (post_rowid, action, answer, username, at_ms) "
            "VALUES (?, ?, ?, ?, ?)",
            (rowid, action, answer.strip() if answer else None, username, _now_ms()),
        )

    def undo(self, rowid: int) -> str | None:
        """Take back the newest live action on a post; returns which, or None."""
        row = self.db.execute(
            "SELECT action_id, action FROM question_actions WHERE post_rowid = ? "
            "AND undone_ms IS NULL ORDER BY action_id DESC LIMIT 1",
            (rowid,),
        ).fetchone()
        if row is None:
            return None
        self.db.execute(
            "UPDATE question_actions SET undone_ms = ? WHERE action_id = ?", (_now_ms(), row[0])
        )
        return str(row[1])

    def version(self) -> tuple[int, int]:
        """Changes whenever an action is taken or undone (for caches)."""
        row = self.db.execute(
            "SELECT coalesce(max(action_id), 0), count(undone_ms) FROM question_actions"
        ).fetchone()
        return int(row[0]), int(row[1])

    def states(self) -> dict[int, QuestionState]:
        """Every acted-on post's state, folded from its live actions in order."""
        out: dict[int, QuestionState] = {}
        for rowid, action, answer, username, at_ms in self.db.execute(
            "SELECT post_rowid, action, answer, username, at_ms FROM question_actions "
            "WHERE undone_ms IS NULL ORDER BY action_id"
        ):
            state = out.setdefault(rowid, QuestionState())
            state.history.append({"action": action, "by": username, "at_ms": at_ms})
            if action == "answer":
                state.answered, state.answer = True, answer
                state.answered_by, state.answered_ms = username, at_ms
            elif action == "hide":
                state.hidden = True
            elif action == "abusive":
                state.abusive = True
            elif action in ("pin", "unpin"):
                state.pinned = action == "pin"
        return out


_dummy: list[str] = []


def _DUMMY_HASH() -> str:
    """A real argon2 hash to verify against for unknown users, so a log-in for a name that
    does not exist costs the same time as one with a wrong password."""
    if not _dummy:
        from argon2 import PasswordHasher

        _dummy.append(PasswordHasher().hash(secrets.token_urlsafe(16)))
    return _dummy[0]
