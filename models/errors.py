"""Errors a user can cause and fix; the CLI and the studio show them as one line, never a traceback."""


class UserError(Exception):
    """Bad input: the message says what was wrong and what to do."""


class ModelLoadError(UserError):
    """A model name, config or checkpoint that cannot be loaded."""
