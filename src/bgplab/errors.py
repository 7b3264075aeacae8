"""Errors that reach a user: one clear line, no traceback."""

from __future__ import annotations

import math
import os
import sys


class UserError(Exception):
    """Bad input from a person (a file, an argument): print and exit 1."""


def env_seconds(name: str, default: float) -> float:
    """A tuning knob from the environment (seconds or a ratio, at least 0).
    A value that is not one is named on stderr and ``default`` is used: a
    typo in a benchmark's environment must not stop the daemon."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not value >= 0 or math.isinf(value):
        print(f"bgplab: ignoring {name}={raw!r}: not a number of at least 0 (using {default:g})",
              file=sys.stderr)
        return default
    return value
