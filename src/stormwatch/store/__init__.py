"""Edge: where posts, authors, per-post scores and runs are kept."""

from stormwatch.store.base import AddResult, Store
from stormwatch.store.sqlite import SQLiteStore

__all__ = ["AddResult", "SQLiteStore", "Store", "open_store"]


def open_store(path: str) -> SQLiteStore:
    """The store at a path (created and migrated as needed)."""
    return SQLiteStore(path)
