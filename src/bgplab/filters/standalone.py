"""Compile filter text outside a full configuration (``show route filter``,
``show route where``, tests)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bgplab.config.errors import ConfigError
from bgplab.config.lexer import tokenize
from bgplab.filters import ast
from bgplab.filters.filter import Filter
from bgplab.filters.values import type_name

if TYPE_CHECKING:
    from bgplab.config.parser import ConfigParser


def _parser(text: str, filename: str, config: Any = None) -> ConfigParser:
    from bgplab.config.parser import ConfigParser

    lines: dict[str, list[str]] = {}
    tokens = tokenize(text, filename, sources=lines)
    # the daemon's family: `show route where` on bgplabd rejects IPv6 literals as bird does
    p = ConfigParser(tokens, lines, filename, getattr(config, "family", None))
    if config is not None:
        # The running configuration's defines and functions are visible, as in BIRD.
        for name, value in getattr(config, "constants", {}).items():
            p.constants[name] = ast.Const(value, type_name(value))
        for name, fn in getattr(config, "functions", {}).items():
            p.functions[name] = fn.definition
        p.filters.update(getattr(config, "filters", {}))
    return p


def _guard(fn: Any) -> Any:
    """Deep nesting must end in a ConfigError, not a RecursionError."""

    def wrapper(text: str, *args: Any, **kw: Any) -> Filter:
        try:
            return fn(text, *args, **kw)
        except RecursionError:
            filename = kw.get("filename") or (args[-1] if args and isinstance(args[-1], str)
                                              else "<filter>")  # fmt: skip
            raise ConfigError(str(filename), 0, 0, "filter nested too deeply") from None

    wrapper.__doc__ = fn.__doc__
    wrapper.__name__ = fn.__name__
    return wrapper


@_guard
def compile_where(expr: str, config: Any = None, filename: str = "<cli>") -> Filter:
    """``show route where EXPR``: a filter accepting routes where EXPR holds."""
    p = _parser(expr, filename, config)
    fd = p.where_filter(p.tok)
    if not p.at_eof():
        p.unexpected()
    return Filter(None, fd, p.compiler)


@_guard
def compile_standalone(text: str, name: str | None, filename: str, config: Any = None) -> Filter:
    p = _parser(text, filename, config)
    start = p.tok
    if p.accept_sym("where"):
        fd = p.where_filter(start)
        if not p.at_eof():
            p.unexpected()
        return Filter(None, fd, p.compiler)
    if p.at_op("{"):
        fd = p.parse_filter_def(start, name)
        if not p.at_eof():
            p.unexpected()
        return Filter(name, fd, p.compiler)
    # definitions (define/function/filter); the last filter is the result
    known = set(p.filters)
    while not p.at_eof():
        p.parse_toplevel()
    new = [n for n in p.filters if n not in known]
    if not new and name is None:
        p.error("no filter defined")
    fname = name if name is not None else new[-1]
    if fname not in p.filters:
        p.error(f"No such filter {fname}.")
    return p.filters[fname]
