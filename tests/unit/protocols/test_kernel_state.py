"""FibState keeps installed routes as their difference from the wanted ones;
it must answer exactly like two plain dicts would, whatever the order of
changes (a random walk against that reference)."""

from __future__ import annotations

import random

import pytest

from bgplab.io.netlink import FibAttrs, FibNextHop
from bgplab.protocols import kernel_state
from bgplab.protocols.kernel_state import FRESH, FibState, InstalledView, Unwritten
from bgplab.rib.intmap import MAP_TYPES


@pytest.mark.parametrize("map_type", MAP_TYPES, ids=lambda t: t.__name__)
def test_fibstate_matches_two_dicts(map_type: type, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernel_state, "IntMap", map_type)  # want: compiled, and dict
    rng = random.Random(15)
    attrs = [FibAttrs((FibNextHop(f"192.0.2.{i}", None),)) for i in range(1, 4)]
    choices: list[FibAttrs | None] = [*attrs, None]
    for _walk in range(50):
        st = FibState()
        assert type(st.want) is map_type
        want: dict[int, FibAttrs] = {}
        installed: dict[int, FibAttrs] = {}
        for _step in range(200):
            net = rng.randrange(12)
            fa = rng.choice(choices)
            action = rng.randrange(4)
            if action == 0:  # the table exports a change
                changed = st.set_want(net, fa)
                assert bool(changed) == (fa is not want.get(net))
                # a first install: nothing wanted, nothing of ours there
                first = fa is not None and want.get(net) is None and net not in installed
                assert (changed == FRESH) == first
                if fa is None:
                    want.pop(net, None)
                else:
                    want[net] = fa
            elif action == 1:  # a write (or a scan) changed the kernel
                st.set_installed(net, fa)
                if fa is None:
                    installed.pop(net, None)
                else:
                    installed[net] = fa
            elif action == 2 and want.get(net) is installed.get(net):
                st.in_sync(net)
            elif action == 3 and rng.random() < 0.05:  # reconfigure: exported again
                st.clear_want()
                want.clear()
            assert {n: st.wanted(n) for n in st.want} == want
            view = InstalledView(st)
            assert dict(view.items()) == installed and len(view) == len(installed)
            for n in range(12):
                assert st.installed(n) is installed.get(n)
            # only nets where the kernel has another route of ours cost an
            # entry; "nothing of ours there" is the wanted value's tag
            assert all(v is not None and v is not want.get(n) for n, v in st.diff.items())
            tagged = {n for n, v in st.want.items() if isinstance(v, Unwritten)}
            assert tagged == {n for n in want if n not in installed}
            assert st.unwritten == len(tagged) and not tagged & set(st.diff)
