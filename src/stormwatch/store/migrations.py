"""Versioned schema migrations: small functions, applied once each, in order."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[int, str, Migration]] = []


def migration(version: int) -> Callable[[Migration], Migration]:
    def register(fn: Migration) -> Migration:
        if any(v == version for v, _, _ in MIGRATIONS):
            raise ValueError(f"migration {version} defined twice")
        MIGRATIONS.append((version, fn.__name__, fn))
        MIGRATIONS.sort(key=lambda m: m[0])
        return fn

    return register


@migration(1)
def create_core_tables(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE posts (
            rowid INTEGER PRIMARY KEY,
            platform TEXT NOT NULL,
            post_id TEXT NOT NULL,
            author_id TEXT,
            created_ms INTEGER,
            text TEXT NOT NULL,
            lang TEXT,
            reply_to TEXT,
            quote_of TEXT,
            repost_of TEXT,
            hashtags TEXT,
            mentions TEXT,
            urls TEXT,
            like_count INTEGER,
            repost_count INTEGER,
            raw TEXT,
            run_id INTEGER,
            UNIQUE (platform, post_id)
        );
        CREATE INDEX posts_created ON posts (created_ms);
        CREATE INDEX posts_author ON posts (platform, author_id);
        CREATE INDEX posts_repost_of ON posts (repost_of) WHERE repost_of IS NOT NULL;

        CREATE TABLE authors (
            platform TEXT NOT NULL,
            author_id TEXT NOT NULL,
            handle TEXT,
            name TEXT,
            created_ms INTEGER,
            followers INTEGER,
            PRIMARY KEY (platform, author_id)
        ) WITHOUT ROWID;

        CREATE TABLE models (
            model_id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            version TEXT NOT NULL,
            layout TEXT NOT NULL,
            UNIQUE (name, version)
        );

        CREATE TABLE scores (
            model_id INTEGER NOT NULL REFERENCES models (model_id),
            post_rowid INTEGER NOT NULL REFERENCES posts (rowid),
            proba BLOB NOT NULL,
            PRIMARY KEY (model_id, post_rowid)
        ) WITHOUT ROWID;

        CREATE TABLE runs (
            run_id INTEGER PRIMARY KEY,
            command TEXT NOT NULL,
            started_ms INTEGER NOT NULL,
            finished_ms INTEGER,
            status TEXT NOT NULL,
            args TEXT,
            counts TEXT
        );
        """,
    )


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Run statements one by one, inside the caller's transaction (executescript would
    commit it first, so a failing migration could leave half a schema)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def apply(db: sqlite3.Connection) -> list[int]:
    """Bring a database to the newest schema; returns the versions applied now."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)"
    )
    done = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
    newest_known = MIGRATIONS[-1][0]
    if done and max(done) > newest_known:
        raise RuntimeError(
            f"this database has schema version {max(done)}, newer than this Stormwatch "
            f"knows ({newest_known}); upgrade Stormwatch"
        )
    applied = []
    for version, name, fn in MIGRATIONS:
        if version in done:
            continue
        db.execute("BEGIN IMMEDIATE")
        if db.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)).fetchone():
            db.execute("ROLLBACK")  # another process applied it while we waited
            continue
        try:
            fn(db)
            db.execute(
                "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)",
                (version, name, int(time.time() * 1000)),
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        applied.append(version)
    return applied


@migration(2)
def flag_english_posts(db: sqlite3.Connection) -> None:
    """Posts get an `english` flag (1/0); posts stored before it existed count as English."""
    db.execute("ALTER TABLE posts ADD COLUMN english INTEGER NOT NULL DEFAULT 1")
    db.execute("CREATE INDEX posts_non_english ON posts (english) WHERE english = 0")


@migration(3)
def create_console_tables(db: sqlite3.Connection) -> None:
    """The live console's state: API tokens and users (hashed secrets only), log-in
    sessions, and every moderator action on a question (kept, so undo is an action too)."""
    _run_script(
        db,
        """
        CREATE TABLE api_tokens (
            token_id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            created_ms INTEGER NOT NULL,
            revoked INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE users (
            username TEXT PRIMARY KEY,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('viewer', 'moderator', 'admin')),
            created_ms INTEGER NOT NULL
        );
        CREATE TABLE sessions (
            session_hash TEXT PRIMARY KEY,
            username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
            csrf TEXT NOT NULL,
            expires_ms INTEGER NOT NULL
        );
        CREATE TABLE question_actions (
            action_id INTEGER PRIMARY KEY,
            post_rowid INTEGER NOT NULL REFERENCES posts (rowid),
            action TEXT NOT NULL
                CHECK (action IN ('answer', 'hide', 'abusive', 'pin', 'unpin')),
            answer TEXT,
            username TEXT NOT NULL,
            at_ms INTEGER NOT NULL,
            undone_ms INTEGER
        );
        CREATE INDEX question_actions_post ON question_actions (post_rowid);
        """,
    )


@migration(4)
def create_live_source_tables(db: sqlite3.Connection) -> None:
    """Live connectors: where each source may resume from (committed with the posts it
    covers), deletions honoured as tombstones (the row stays so a repeated event cannot bring
    the post back, and rowids stay dense), and the outbox of answers posted back as replies."""
    _run_script(
        db,
        """
        ALTER TABLE posts ADD COLUMN deleted_ms INTEGER;
        CREATE TABLE source_cursors (
            source TEXT PRIMARY KEY,
            cursor TEXT NOT NULL,
            updated_ms INTEGER NOT NULL
        );
        CREATE TABLE source_health (
            source TEXT PRIMARY KEY,
            snapshot TEXT NOT NULL,
            updated_ms INTEGER NOT NULL
        );
        CREATE TABLE replies (
            reply_id INTEGER PRIMARY KEY,
            post_rowid INTEGER NOT NULL REFERENCES posts (rowid),
            platform TEXT NOT NULL,
            text TEXT NOT NULL,
            idempotency_key TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL
                CHECK (status IN ('draft', 'sending', 'sent', 'failed', 'uncertain')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_ms INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            remote_id TEXT,
            remote_url TEXT,
            username TEXT,
            created_ms INTEGER NOT NULL,
            sent_ms INTEGER
        );
        CREATE INDEX replies_post ON replies (post_rowid);
        CREATE INDEX replies_open ON replies (status) WHERE status IN ('draft', 'sending', 'failed')
        """,
    )


@migration(5)
def create_theme_tables(db: sqlite3.Connection) -> None:
    """Themes with stable ids (a theme found again on a later run keeps its id; one that is
    gone is retired, not deleted), each post's theme (NULL: noise), and what live
    assignment needs (the cleaning direction, the joining threshold)."""
    _run_script(
        db,
        """
        CREATE TABLE themes (
            theme_id INTEGER PRIMARY KEY,
            label TEXT NOT NULL,
            keywords TEXT NOT NULL,
            size INTEGER NOT NULL,
            centroid BLOB NOT NULL,
            embedder TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL,
            retired_ms INTEGER
        );
        CREATE TABLE post_themes (
            post_rowid INTEGER PRIMARY KEY REFERENCES posts (rowid),
            theme_id INTEGER REFERENCES themes (theme_id)
        );
        CREATE INDEX post_themes_theme ON post_themes (theme_id);
        CREATE TABLE theme_state (
            name TEXT PRIMARY KEY,
            value BLOB NOT NULL
        )
        """,
    )


@migration(6)
def create_alerts_table(db: sqlite3.Connection) -> None:
    """Every alert the early warning raised, once (a re-run or a restart finds the same
    alert again and leaves it be), with when it was first seen and whether hooks were sent."""
    _run_script(
        db,
        """
        CREATE TABLE alerts (
            alert_id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            level TEXT NOT NULL,
            record TEXT NOT NULL,
            first_seen_ms INTEGER NOT NULL,
            notified_ms INTEGER,
            UNIQUE (at, kind, level)
        )
        """,
    )


@migration(7)
def create_campaign_table(db: sqlite3.Connection) -> None:
    """Settings of the campaign a store holds, by name: `tags`, the campaign's own hashtags
    (a JSON list), which the models do not read."""
    _run_script(db, "CREATE TABLE campaign (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
