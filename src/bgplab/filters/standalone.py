"""Compile filter text outside a full configuration (``show route filter``,
``show route where``, tests)."""

from __future__ import annotations

from bgplab.config.lexer import tokenize
from bgplab.filters.filter import Filter


def compile_standalone(text: str, name: str | None, filename: str) -> Filter:
    from bgplab.config.parser import ConfigParser

    lines: dict[str, list[str]] = {}
    tokens = tokenize(text, filename, sources=lines)
    p = ConfigParser(tokens, lines, filename)
    start = p.tok
    if p.accept_sym("where"):
        fd = p.where_filter(start)
        p.expect_op("eof") if not p.at_eof() else None
        return Filter(None, fd, p.compiler)
    if p.at_op("{"):
        fd = p.parse_filter_def(start, name)
        if not p.at_eof():
            p.unexpected()
        return Filter(name, fd, p.compiler)
    # definitions (define/function/filter); the last filter is the result
    while not p.at_eof():
        p.parse_toplevel()
    if not p.filters:
        p.error("no filter defined")
    fname = name if name is not None else list(p.filters)[-1]
    if fname not in p.filters:
        p.error(f"No such filter {fname}.")
    return p.filters[fname]
