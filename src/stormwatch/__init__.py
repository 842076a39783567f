"""Stormwatch: read a crowd on social media while it happens."""

from stormwatch.records import Post, Reject

__all__ = ["Post", "Reject", "__version__"]
__version__ = "0.1.0"
