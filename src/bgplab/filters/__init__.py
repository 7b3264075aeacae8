"""BIRD filter language, compiled once into Python closures (traced runs,
the reference) and straight-line generated code (the hot path, codegen.py).

``Filter.run(route, trace=None) -> Route | None``; ``ACCEPT_ALL`` /
``REJECT_ALL`` for ``all`` / ``none``; :func:`compile_filter` turns a
stand-alone filter text into a Filter (for tests and ``show route filter``).
"""

from __future__ import annotations

from bgplab.filters.filter import ACCEPT_ALL, REJECT_ALL, Filter, Function
from bgplab.filters.values import FilterRuntimeError


def compile_filter(text: str, name: str | None = None, filename: str = "<filter>") -> Filter:
    """Compile ``{ statements }``, ``filter NAME { … }`` (with functions
    and defines before it) or ``where EXPR`` text into a Filter."""
    from bgplab.filters.standalone import compile_standalone

    return compile_standalone(text, name, filename)


__all__ = ["ACCEPT_ALL", "REJECT_ALL", "Filter", "FilterRuntimeError", "Function", "compile_filter"]
