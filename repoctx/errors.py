"""Errors the front ends turn into one line on stderr and an exit code, never a traceback."""

from __future__ import annotations


class RepoctxError(Exception):
    """Base for every error a user should see as one line; ``exit_code`` is the CLI's status."""

    exit_code = 1


class InputError(RepoctxError):
    """Bad input from the user: a path that isn't there, a file that isn't a GGUF, a bad flag."""

    exit_code = 2


class ModelError(RepoctxError):
    """A model could not be found, loaded or reached."""

    exit_code = 3
