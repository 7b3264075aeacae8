"""Errors that reach a user: one clear line, no traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from a person (a file, an argument): print and exit 1."""
