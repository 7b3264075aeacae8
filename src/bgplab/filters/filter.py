"""Filter objects: what protocols and channels run on each route.

``Filter.run(route)`` returns the (possibly modified copy of the) route, or
``None`` when it is rejected. Run-time errors reject the route and are
logged, as in BIRD. ``same()`` compares filters structurally so that
``configure`` reloads only the routes whose filters really changed.
"""

from __future__ import annotations

import logging
from typing import Any

from bgplab.bgp.attrs import intern
from bgplab.filters import ast
from bgplab.filters.codegen import NO, compile_fast
from bgplab.filters.compiler import ACCEPT, REJECT, Compiler, Ctx, Done, NotConstant
from bgplab.filters.values import FilterRuntimeError
from bgplab.rib.route import Route

log = logging.getLogger("bgplab.filters")


class Filter:
    """A compiled filter. ``name`` is the filter's name, ``"ACCEPT"`` /
    ``"REJECT"`` for ``all`` / ``none``, or ``None`` for an unnamed one
    (``where …`` or ``filter { … }``), which BIRD prints as ``(unnamed)``."""

    __slots__ = (
        "name",
        "definition",
        "_key",
        "_body",
        "_frame_size",
        "_const",
        "_defs",
        "_fast",
        "_fast_prints",
        "_fast_source",
        "last_prints",
        "accepts_all",
    )

    def __init__(
        self,
        name: str | None,
        definition: ast.FilterDef | None,
        compiler: Compiler | None = None,
        functions: dict[str, ast.FunctionDef] | None = None,
    ) -> None:
        self.name = name
        self.definition = definition
        self._const: int | None = None
        self.last_prints: list[str] = []
        # The generated straight-line version (codegen.py) for untraced runs,
        # made on the first run (filters that never run cost nothing); None
        # when the filter needs the closures.
        self._fast: Any = None
        self._fast_prints = False
        self._fast_source: str | None = None
        self._defs: dict[str, ast.FunctionDef] = {}
        # `import all`: callers on the hot path may skip run() altogether
        self.accepts_all = definition is None and name == "ACCEPT"
        if definition is None:
            self._const = ACCEPT if name == "ACCEPT" else REJECT
            self._key: Any = name
            self._body = None
            self._frame_size = 0
            return
        comp = compiler or Compiler(functions)
        self._body = comp.stmt(definition.body)
        self._frame_size = len(definition.local_vars)
        self._key = (definition.local_vars, definition.body, _reachable(definition, comp.defs))
        self._defs = comp.defs
        self._fast = self._generate_then_run

    def _generate(self) -> None:
        assert self.definition is not None
        got = compile_fast(self.definition, self._defs)
        self._fast = None
        if got is not None:
            self._fast, self._fast_source, self._fast_prints = got

    def _generate_then_run(self, route: Route) -> Any:
        self._generate()
        return self._fast(route) if self._fast is not None else NO

    @property
    def fast_source(self) -> str | None:
        """The generated Python source of the fast path (None: closures only)."""
        if self._fast == self._generate_then_run:
            self._generate()
        return self._fast_source

    @property
    def display_name(self) -> str:
        """How ``show protocols all`` prints it."""
        return self.name if self.name is not None else "(unnamed)"

    def same(self, other: object) -> bool:
        return isinstance(other, Filter) and self._key == other._key

    # Equal when the same: configuration dataclasses holding filters (static
    # routes' per-route blocks) then compare as the text says.
    __eq__ = same

    def __hash__(self) -> int:
        return hash(self._key)

    def run(self, route: Route, trace: list | None = None) -> Route | None:
        fast = self._fast
        if fast is not None and trace is None:
            # The fast path has no side effects; anything it does not decide
            # (errors, no decision) is run again below by the closures.
            try:
                out = fast(route)
            except Exception:
                out = NO
            if out is not NO:
                if self._fast_prints:
                    self.last_prints = []  # this run printed nothing
                return out  # type: ignore[no-any-return]
        return self._run_closures(route, trace)

    def _run_closures(self, route: Route, trace: list | None) -> Route | None:
        if self._const is not None:
            if trace is not None:
                trace.append((0, "accept (all)" if self._const == ACCEPT else "reject (none)"))
            return route if self._const == ACCEPT else None
        c = Ctx(route, trace)
        c.frame = [None] * self._frame_size
        assert self._body is not None
        try:
            r = self._body(c)
        except Done as d:
            r = d.code
        except (FilterRuntimeError, NotConstant) as exc:
            msg = str(exc) or "runtime error"
            log.warning("Filter %s: %s", self.display_name, msg)
            if trace is not None:
                trace.append((0, f"runtime error: {msg}"))
            self.last_prints = c.prints
            return None
        except Exception as exc:  # never let a filter take the daemon down
            log.warning("Filter %s: runtime error: %s", self.display_name, exc)
            if trace is not None:
                trace.append((0, f"runtime error: {exc}"))
            return None
        self.last_prints = c.prints
        if r == ACCEPT:
            out = c.route
            if c.copied and out is not None and out.attrs is not None:
                out.attrs = intern(out.attrs)
            return out
        if r != REJECT:
            log.warning(
                "Filter %s did not return accept nor reject. Make up your mind",
                self.display_name,
            )
            if trace is not None:
                trace.append((0, "no accept nor reject: rejected"))
        return None

    def __repr__(self) -> str:
        return f"Filter({self.display_name})"


def _reachable(
    definition: ast.FilterDef | ast.FunctionDef, defs: dict[str, ast.FunctionDef]
) -> tuple[Any, ...]:
    """The definitions of every function a filter may call (for same())."""
    seen: dict[str, ast.FunctionDef] = {}
    todo = list(definition.calls)
    while todo:
        name = todo.pop()
        if name in seen or name not in defs:
            continue
        seen[name] = defs[name]
        todo.extend(defs[name].calls)
    return tuple(sorted((n, (f.params, f.local_vars, f.body)) for n, f in seen.items()))


class Function:
    """A named function of the configuration (``show symbols``, reuse)."""

    __slots__ = ("name", "definition", "_key")

    def __init__(self, definition: ast.FunctionDef, defs: dict[str, ast.FunctionDef]) -> None:
        self.name = definition.name
        self.definition = definition
        self._key = (definition.params, definition.local_vars, definition.body,
                     _reachable(definition, defs))  # fmt: skip

    def same(self, other: object) -> bool:
        return isinstance(other, Function) and self._key == other._key

    def __repr__(self) -> str:
        return f"Function({self.name})"


ACCEPT_ALL = Filter("ACCEPT", None)
REJECT_ALL = Filter("REJECT", None)
