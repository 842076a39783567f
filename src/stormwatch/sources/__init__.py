"""Edge: everything that turns outside bytes into `Post` records."""
