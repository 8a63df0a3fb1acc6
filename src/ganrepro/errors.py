"""Errors a user can act on; the CLI prints them as one line and exits 2 (no traceback)."""


class CorruptCheckpoint(RuntimeError):
    """A resume state that cannot be read or belongs to other params/seed."""
