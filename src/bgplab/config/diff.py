"""What ``configure`` must do to go from one configuration to the next.

Like BIRD: a protocol whose options changed is restarted; one whose only
change is a filter keeps running and has its routes re-filtered in that
direction (reload); a changed router id restarts everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from bgplab.config.model import Config


@dataclass(frozen=True)
class ReconfigPlan:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    restart: tuple[str, ...]
    reload_import: tuple[str, ...]
    reload_export: tuple[str, ...]
    unchanged: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.restart or self.reload_import
                    or self.reload_export)  # fmt: skip


def diff(old: Config, new: Config) -> ReconfigPlan:
    old_p = {p.name: p for p in old.protocols}
    new_p = {p.name: p for p in new.protocols}
    added = tuple(n for n in new_p if n not in old_p)
    removed = tuple(n for n in old_p if n not in new_p)
    restart: list[str] = []
    rimp: list[str] = []
    rexp: list[str] = []
    same: list[str] = []
    global_change = old.router_id != new.router_id or old.router_id_from != new.router_id_from
    for name, np in new_p.items():
        op = old_p.get(name)
        if op is None:
            continue
        if global_change or type(op) is not type(np) or op.options() != np.options():
            restart.append(name)
            continue
        imp = not op.import_filter.same(np.import_filter)
        exp = not op.export_filter.same(np.export_filter)
        if imp:
            rimp.append(name)
        if exp:
            rexp.append(name)
        if not imp and not exp:
            same.append(name)
    return ReconfigPlan(added, removed, tuple(restart), tuple(rimp), tuple(rexp), tuple(same))
