"""What a compiled filter runs with: the per-run state (:class:`Ctx`), the
statement result codes and the exceptions that stop a run early. Shared by
the closures (:mod:`bgplab.filters.compiler`) and the generated fast path
(:mod:`bgplab.filters.codegen`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bgplab.rib.route import Route

ACCEPT = 1
REJECT = 2
RETURN = 3

Expr = Callable[["Ctx"], Any]
Stmt = Callable[["Ctx"], int | None]


class NotConstant(Exception):
    """The expression needs a route or variables; it cannot be folded."""


class Done(Exception):
    """accept/reject inside a function called from an expression."""

    def __init__(self, code: int) -> None:
        self.code = code


class Ctx:
    """State of one filter run. The route is copied on the first write."""

    __slots__ = ("route", "copied", "ext_copied", "frame", "trace", "retval", "prints")

    def __init__(self, route: Route | None, trace: list | None = None) -> None:
        self.route = route
        self.copied = False
        self.ext_copied = False
        self.frame: list[Any] = []
        self.trace = trace
        self.retval: Any = None
        self.prints: list[str] = []

    def rw(self) -> Route:
        if self.route is None:
            raise NotConstant()
        if not self.copied:
            self.route = self.route.copy()
            self.copied = True
        return self.route

    def ext_rw(self) -> dict[str, Any]:
        r = self.rw()
        if not self.ext_copied:
            r.ext = dict(r.ext or {})
            self.ext_copied = True
        assert r.ext is not None
        return r.ext


def route_of(c: Ctx) -> Route:
    """The route of a run; without one the expression is not constant."""
    r = c.route
    if r is None:
        raise NotConstant()
    return r
