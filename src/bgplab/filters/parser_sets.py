"""Set literals (``[ 10.0.0.0/8+, (65000, *) ]``) and path masks (``[= * 65000 =]``)
of BIRD 1.x filter code, built into values at parse time as BIRD does."""

from __future__ import annotations

from typing import Any

from bgplab import net as netmod
from bgplab.config.cursor import IP, NUM, OP, SYM
from bgplab.config.lexer import Token
from bgplab.filters import ast
from bgplab.filters.parser_expr import ExprParser
from bgplab.filters.values import (
    MASK_ANY,
    MASK_ONE,
    FilterRuntimeError,
    PathMask,
    Prefix,
    PrefixSet,
    ValueSet,
    type_name,
)


class SetParser(ExprParser):
    """Set and path-mask literals."""

    def parse_set(self) -> ast.Node:
        t = self.expect_op("[")
        items = []
        if not self.at_op("]"):
            items.append(self.parse_set_item())
            while self.accept_op(","):
                items.append(self.parse_set_item())
        self.expect_op("]")
        value = self._make_set(items, t)
        return ast.Const(value, type_name(value), **self._pos(t))

    def parse_set_item(self) -> tuple[str, Any, Any]:
        """One element of a set literal: ("prefix", net, (lo, hi)),
        ("range", lo, hi) or ("comp", parts, None) for pair patterns."""
        t = self.tok
        if t.kind == IP and self.peek().kind == OP and self.peek().value == "/":
            self.next()
            n = self.parse_prefix_after_ip(t)
            plen = n & 0xFF
            w = netmod.width(n)
            lo, hi = plen, plen
            if self.accept_op("+"):
                hi = w
            elif self.accept_op("-"):
                lo = 0
            elif self.at_op("{"):
                bt = self.next()
                lo = self.expect_num()
                self.expect_op(",")
                hi = self.expect_num()
                self.expect_op("}")
                if not (lo <= hi <= w):
                    self.error(f"Invalid prefix pattern range: {{{lo}, {hi}}}.", bt)
            return ("prefix", n, (lo, hi))
        if t.kind == OP and t.value == "(" and not self._paren_is_plain_expr():
            first = self._parse_pair_pattern()
            if not self.accept_op(".."):
                return first
            last = self._parse_pair_pattern()
            if first[0] != "comp" or last[0] != "comp" or len(first[1]) != len(last[1]):
                self.error("Mixed types in set", t)
            if any(lo != hi for lo, hi in first[1] + last[1]):
                self.error("syntax error, a range needs two single values", t)
            return ("range", tuple(lo for lo, _ in first[1]), tuple(lo for lo, _ in last[1]))
        lo = self._const_value(self.parse_sum(), t)
        hi = lo
        if self.accept_op(".."):
            hi = self._const_value(self.parse_sum(), self.tok)
        return ("range", lo, hi)

    def _paren_is_plain_expr(self) -> bool:
        """``(1+2)`` is an expression, ``(1,2)`` / ``(rt, 1, 2)`` a tuple."""
        depth = 0
        k = self.pos
        while k < len(self.toks):
            tk = self.toks[k]
            if tk.kind == OP and tk.value in ("(", "["):
                depth += 1
            elif tk.kind == OP and tk.value in (")", "]"):
                depth -= 1
                if depth == 0:
                    return True
            elif tk.kind == OP and tk.value == "," and depth == 1:
                return False
            k += 1
        return True

    def _parse_pair_pattern(self) -> tuple[str, Any, Any]:
        t = self.expect_op("(")
        ec_kind = None
        if self.at_sym("rt", "ro", "generic"):
            ec_kind = str(self.next().value)
            self.expect_op(",")
        parts: list[tuple[int, int]] = []
        while True:
            if self.accept_op("*"):
                parts.append((0, -1))  # filled in below
            else:
                lo = self._const_value(self.parse_sum(), self.tok)
                hi = lo
                if self.accept_op(".."):
                    hi = self._const_value(self.parse_sum(), self.tok)
                parts.append((lo, hi))
            if not self.accept_op(","):
                break
        self.expect_op(")")
        if ec_kind is not None:
            if len(parts) != 2 or parts[0] == (0, -1):
                self.error("EC set with a wildcard key is not supported", t)
            vmax = 0xFFFFFFFF if parts[0][1] <= 0xFFFF else 0xFFFF
            value = (0, vmax) if parts[1] == (0, -1) else parts[1]
            return ("ec", ec_kind, (parts[0], value))
        if len(parts) == 2:
            limit = 0xFFFF
        elif len(parts) == 3:
            limit = 0xFFFFFFFF
        else:
            self.error("syntax error, a pair has two parts, a large community three", t)
        full = tuple((0, limit) if p == (0, -1) else p for p in parts)
        for lo, hi in full:
            if not (0 <= lo <= limit and 0 <= hi <= limit):
                bad = lo if not 0 <= lo <= limit else hi
                self.error(f"Value {bad} out of range (0-{limit})", t)
        return ("comp", full, None)

    def _const_value(self, node: ast.Node, tok: Token) -> Any:
        from bgplab.filters.compiler import NotConstant, eval_const

        try:
            return eval_const(node)
        except NotConstant:
            self.error("Constant expression required in set", tok)
        except FilterRuntimeError as exc:
            self.error(str(exc), tok)

    def _make_set(self, items: list[tuple[str, Any, Any]], tok: Token) -> Any:
        kinds = {it[0] for it in items}
        if not items:
            return ValueSet.build("int", [])
        if kinds == {"prefix"}:
            return PrefixSet(tuple((n, lo, hi) for _k, n, (lo, hi) in items))
        if "prefix" in kinds:
            self.error("Mixed types in set", tok)
        ranges: list[tuple[Any, Any]] = []
        elem_types = set()
        for kind, a, b in items:
            if kind == "range":
                ta, tb = type_name(a), type_name(b)
                if ta != tb:
                    self.error("Mixed types in set", tok)
                if isinstance(a, Prefix):
                    ranges.append((a, a))
                    elem_types.add("prefix")
                    continue
                ranges.append((a, b))
                elem_types.add("quad" if ta == "ip" else ta)
            elif kind == "comp" and len(a) == 2:
                elem_types.add("pair")
                (fa, ta), (fb, tb) = a
                if fa == ta or (fb, tb) == (0, 0xFFFF):
                    ranges.append(((fa, fb), (ta, tb)))
                else:
                    # BIRD expands a range in the first part into one
                    # interval per value: (*, 4..20) is 65536 intervals.
                    ranges.extend(((i, fb), (i, tb)) for i in range(fa, ta + 1))
            elif kind == "comp":
                elem_types.add("lc")
                k = next((i for i, (lo, hi) in enumerate(a) if lo != hi), len(a))
                if any(p != (0, 0xFFFFFFFF) for p in a[k + 1 :]):
                    self.error("Invalid LC set: after a range, only wildcards may follow", tok)
                ranges.append((tuple(lo for lo, _ in a), tuple(hi for _, hi in a)))
            else:  # ec pattern
                elem_types.add("ec")
                (klo, khi), (vlo, vhi) = b
                if klo != khi:
                    self.error("EC set with a key range is not supported", tok)
                from bgplab.filters.compiler import make_ec

                try:
                    ranges.append((make_ec(a, klo, vlo), make_ec(a, klo, vhi)))
                except FilterRuntimeError as exc:
                    self.error(str(exc), tok)
        if len(elem_types) != 1:
            self.error("Mixed types in set", tok)
        return ValueSet.build(elem_types.pop(), ranges)

    def parse_mask(self) -> ast.Node:
        t = self.expect_op("[=")
        items: list[Any] = []
        dynamic = False
        while not self.at_op("=]"):
            if self.accept_op("*"):
                items.append(MASK_ANY)
            elif self.accept_op("?"):
                items.append(MASK_ONE)
            elif self.tok.kind == NUM:
                lo = int(self.next().value)
                hi = lo
                if self.accept_op(".."):
                    hi = self.expect_num()
                items.append((lo, hi))
            elif self.at_op("(") or self.tok.kind == SYM:
                e = self.parse_term() if self.tok.kind == SYM else self.parse_paren()
                try:
                    from bgplab.filters.compiler import NotConstant, eval_const

                    v = eval_const(e)
                    items.append((v, v))
                except NotConstant:
                    items.append(e)
                    dynamic = True
            else:
                self.unexpected()
        self.expect_op("=]")
        pos = self._pos(t)
        if dynamic:
            return ast.MaskCons(tuple(items), **pos)
        return ast.Const(PathMask(tuple(items)), "bgpmask", **pos)
