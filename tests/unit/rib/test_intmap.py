"""The compiled int-keyed map (bgplab._intmap) against dict, its reference."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tracemalloc
import weakref

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bgplab.rib import intmap
from bgplab.rib.intmap import COMPILED, MAP_TYPES

needs_compiled = pytest.mark.skipif(COMPILED is None, reason="bgplab._intmap not built")

INLINE_MAX = 2**63 - 1
# small keys collide and come back often; big ones are nets of either family
keys = st.one_of(
    st.integers(0, 40),
    st.integers(0, INLINE_MAX),
    st.sampled_from([INLINE_MAX, INLINE_MAX + 1, 2**64 - 1, 2**64, -1, -(2**70)]),
    st.integers(2**64, 2**137),  # IPv6 nets carry a flag above bit 64
)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("set"), keys, st.integers()),
        st.tuples(st.just("del"), keys),
        st.tuples(st.just("pop"), keys),
        st.tuples(st.just("get"), keys),
        st.tuples(st.just("setdefault"), keys, st.integers()),
        st.tuples(st.just("update"), st.lists(st.tuples(keys, st.integers()), max_size=20)),
        st.tuples(st.just("clear")),
    ),
    max_size=200,
)


def inline(k: int) -> bool:
    return 0 <= k <= INLINE_MAX


def ordered_like(m, ref: dict) -> None:
    """Same items; the inline keys in the dict's order, then the others in
    the dict's order (the one documented difference)."""
    expect = [(k, v) for k, v in ref.items() if inline(k)]
    expect += [(k, v) for k, v in ref.items() if not inline(k)]
    assert list(m.items()) == expect
    assert list(m) == [k for k, _ in expect]
    assert list(m.keys()) == [k for k, _ in expect]
    assert list(m.values()) == [v for _, v in expect]
    assert len(m) == len(ref) == len(m.items()) == len(m.keys())


def apply(m, op) -> object:
    """One operation; what it returned or the exception's type."""
    try:
        if op[0] == "set":
            m[op[1]] = op[2]
            return None
        if op[0] == "del":
            del m[op[1]]
            return None
        if op[0] == "pop":
            return m.pop(op[1], "absent"), m.pop(op[1], None)
        if op[0] == "get":
            return m.get(op[1]), op[1] in m, m.get(op[1], "absent")
        if op[0] == "setdefault":
            return m.setdefault(op[1], op[2])
        if op[0] == "update":
            m.update(op[1])
            return None
        m.clear()
        return None
    except KeyError as e:
        return KeyError, e.args


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(ops)
def test_random_operations_as_dict(seq) -> None:
    m, ref = COMPILED(), {}
    for op in seq:
        assert apply(m, op) == apply(ref, op), op
        assert len(m) == len(ref)
    ordered_like(m, ref)
    for k, v in ref.items():
        assert m[k] == v and k in m
    assert m == ref and dict(m) == ref
    assert m.copy() == ref and list(m.copy().items()) == list(m.items())


@needs_compiled
def test_growth_with_deletes_keeps_order() -> None:
    m, ref = COMPILED(), {}
    for i in range(100_000):  # nets as a table has them: addr << 8 | len
        k = (0x0A000000 + i * 256) << 8 | 24
        m[k] = ref[k] = i
        if i % 3 == 0:
            old = (0x0A000000 + (i // 2) * 256) << 8 | 24
            assert m.pop(old, None) == ref.pop(old, None)
    assert list(m.items()) == list(ref.items())
    for k in list(ref)[::2]:
        del m[k], ref[k]
    for i in range(1000):  # re-inserting deleted keys puts them last
        k = (0x0A000000 + i * 256) << 8 | 24
        m[k] = ref[k] = -i
    assert list(m.items()) == list(ref.items())
    while ref:  # empty it down (the arrays shrink and start over)
        k = next(iter(ref))
        assert m.pop(k) == ref.pop(k)
    assert len(m) == 0 and list(m) == []
    m[7] = 7
    assert list(m.items()) == [(7, 7)]


@needs_compiled
def test_smaller_than_a_dict_per_entry() -> None:
    m, d = COMPILED(), {}
    for i in range(200_000):
        m[i << 8 | 24] = d[i << 8 | 24] = None
    # __sizeof__: the arrays (values excluded), as sys.getsizeof(dict) is
    assert m.__sizeof__() < 0.8 * sys.getsizeof(d)
    assert m.inline_count() == 200_000


@pytest.mark.parametrize("cls", MAP_TYPES)
def test_errors(cls) -> None:
    m = cls()
    m[1] = "a"
    with pytest.raises(KeyError):
        m[2]
    with pytest.raises(KeyError):
        del m[2]
    with pytest.raises(KeyError):
        m.pop(2)
    with pytest.raises(KeyError):
        m[2**100]
    assert (1, 0) not in m and m.get((1, 0)) is None and m.get("x", 5) == 5
    with pytest.raises(RuntimeError):
        for k in m:
            m[k + 1] = "b"
    with pytest.raises(RuntimeError):
        for k in list(m.keys())[:1]:
            for _ in m:
                del m[k]
    m.clear()
    m[1] = m[2] = "x"
    for k in m:  # replacing a value is no change of size
        m[k] = "y"
    assert dict(m) == {1: "y", 2: "y"}


@needs_compiled
def test_store_of_non_int_is_a_type_error() -> None:
    m = COMPILED()
    for bad in ((1, 2), "1", 1.0, None):
        with pytest.raises(TypeError, match="IntMap keys must be int"):
            m[bad] = 1
    assert len(m) == 0
    m[True] = "t"  # an int: stored as 1
    assert list(m) == [1] and m[1] == "t"


class Value:
    pass


@pytest.mark.parametrize("cls", MAP_TYPES)
def test_no_reference_leaks(cls) -> None:
    v, w = Value(), Value()
    base_v, base_w = sys.getrefcount(v), sys.getrefcount(w)
    m = cls()
    for k in (1, 2**40, 2**63 - 1, 2**64, 2**130):
        m[k] = v
        m[k] = w  # replaced: v released
        m.setdefault(k, v)
        assert m.pop(k) is w
        m[k] = v
    assert sys.getrefcount(v) == base_v + 5
    list(m.items()), list(m.values()), m.copy()
    for k in list(m)[:2]:
        del m[k]
    assert sys.getrefcount(v) == base_v + 3
    m.clear()
    assert sys.getrefcount(v) == base_v and sys.getrefcount(w) == base_w
    m.update({3: v, 2**99: w})
    del m
    assert sys.getrefcount(v) == base_v and sys.getrefcount(w) == base_w


@needs_compiled
def test_no_memory_growth_over_a_loop() -> None:
    def churn() -> None:
        m = COMPILED()
        for i in range(2000):
            m[i] = m[i + 2**70] = (i,)
        for i in range(0, 2000, 2):
            del m[i], m[i + 2**70]
        list(m.items())
        m.copy()
        it = iter(m)
        next(it)

    churn()
    tracemalloc.start()
    try:
        churn()
        first = tracemalloc.get_traced_memory()[0]
        for _ in range(20):
            churn()
        gc.collect()
        assert tracemalloc.get_traced_memory()[0] - first < 4096
    finally:
        tracemalloc.stop()


@needs_compiled
def test_cycles_through_values_are_collected() -> None:
    class Holder:
        pass

    m = COMPILED()
    h = Holder()
    h.map = m
    m[1] = h
    m[2**80] = h
    gone = weakref.ref(h)
    del m, h
    gc.collect()
    assert gone() is None


@needs_compiled
def test_a_finaliser_that_changes_the_map() -> None:
    m = COMPILED()

    class Noisy:
        def __del__(self) -> None:
            m[10_000] = "added while being deleted"
            m.pop(5, None)

    for i in range(20):
        m[i] = i
    m[3] = Noisy()
    m[3] = "replaced"  # the finaliser runs after the store
    assert m[3] == "replaced" and 5 not in m and 10_000 in m
    m[4] = Noisy()
    del m[4]
    m[6] = Noisy()
    m.clear()  # runs with the map already empty
    assert dict(m) == {10_000: "added while being deleted"}


def test_pure_switch_chooses_dict() -> None:
    code = "from bgplab.rib.intmap import IntMap, compiled; print(IntMap.__name__, compiled())"
    env = dict(os.environ, BGPLAB_PURE="1")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["dict", "False"]
    env.pop("BGPLAB_PURE")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == (["CompiledIntMap", "True"] if COMPILED is not None else ["dict", "False"])
    assert intmap.IntMap is (
        dict if os.environ.get("BGPLAB_PURE", "") not in ("", "0") else (COMPILED or dict)
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.lists(keys.filter(lambda k: k >= 0)), keys.filter(lambda k: k >= 0))))
def test_net_list_as_list(steps) -> None:
    nl, ref = intmap.NetList(), []
    for step in steps:
        if isinstance(step, list):
            nl.extend(step)
            ref.extend(step)
        else:
            nl.append(step)
            ref.append(step)
    # the packed nets (below 2**64) first, then the others, each in order
    expect = [k for k in ref if k < 2**64] + [k for k in ref if k >= 2**64]
    assert list(nl) == expect and len(nl) == len(ref)
    assert list(nl.copy()) == expect
    for i in range(0, len(expect) + 3, 3):
        assert nl[i : i + 3] == expect[i : i + 3]
    assert list(intmap.NetList(expect)) == expect


@settings(max_examples=200, deadline=None)
@given(st.lists(keys.filter(lambda k: k >= 0)), st.lists(st.integers(0, 12)))
def test_net_list_as_a_queue(nets, takes) -> None:
    """The kernel's queue of first installs: append, take the head, delete it."""
    nl = intmap.NetList(nets)
    ref = [k for k in nets if k < 2**64] + [k for k in nets if k >= 2**64]
    for k in takes:
        assert nl[:k] == ref[:k]
        del nl[:k]
        del ref[:k]
        assert list(nl) == ref and len(nl) == len(ref) and bool(nl) == bool(ref)
        nl.append(2**70 + k)
        ref.append(2**70 + k)
    del nl[1:3]
    del ref[1:3]
    assert list(nl) == ref
    with pytest.raises(ValueError):
        del nl[::2]


def test_net_list_keeps_no_int_per_net() -> None:
    nl = intmap.NetList()
    tracemalloc.start()
    try:
        nl.extend([(0x0A000000 + i) << 8 | 32 for i in range(10_000)])
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert kept < 10_000 * 10  # 8 bytes a net (a list: 8 + a 32-byte int)
