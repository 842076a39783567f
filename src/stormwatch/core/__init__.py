"""The pure core: no files, no sockets, no wall clock."""
