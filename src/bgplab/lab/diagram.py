"""The lab's topology picture, shared by the live view (``bgplab lab ui``)
and the static report (``bgplab lab report --html/--png``).

:func:`layout` places routers on top, one bar per subnet, nodes under their
subnet and pods under their node, computes every wire as straight segments
and then places each subnet's label where no wire crosses it (wires are
known first, labels are fitted around them; :func:`crossings` checks it).
BGP sessions are read from the speakers' protocol names, which both sides
derive from the peer's address (``Node_192_168_0_40``, ``Global_…``) or
the other router's name (``Router_r2``), so the picture needs nothing but
``show protocols``. :func:`svg` draws the layout; every session line
carries ``data-session`` so the live view can recolour it.
"""

from __future__ import annotations

import html
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from bgplab.lab.topology import Topology

GREEN, AMBER, RED, GREY = "#2e9d4f", "#c98a00", "#d03b3b", "#888888"
CHAR_W = 6.6  # width of one character at the 11 px label font
COL_W = 190.0
MARGIN = 30.0

Point = tuple[float, float]
Segment = tuple[Point, Point]


@dataclass
class Box:
    name: str
    lines: list[str]
    x: float  # centre
    y: float
    w: float
    h: float
    kind: str  # router | node | pod

    @property
    def top(self) -> float:
        return self.y - self.h / 2

    @property
    def bottom(self) -> float:
        return self.y + self.h / 2


@dataclass
class Bar:
    name: str
    label: str
    left: float
    right: float
    y: float
    label_x: float = 0.0  # left end of the label text
    label_y: float = 0.0  # baseline

    @property
    def label_rect(self) -> tuple[float, float, float, float]:
        w = len(self.label) * CHAR_W
        return (self.label_x - 2, self.label_y - 11, self.label_x + w + 2, self.label_y + 3)


@dataclass
class Edge:
    """A BGP session between two hosts, as each end reports it."""

    a: str
    b: str
    proto_a: str | None = None
    proto_b: str | None = None
    state_a: str | None = None
    state_b: str | None = None

    @property
    def id(self) -> str:
        return f"{self.a}--{self.b}"

    @property
    def state(self) -> str:
        return combined(self.state_a, self.state_b)


@dataclass
class Wire:
    kind: str  # link | pod | session
    points: list[Point]
    edge: Edge | None = None

    def segments(self) -> list[Segment]:
        return list(zip(self.points, self.points[1:], strict=False))


@dataclass
class Layout:
    boxes: dict[str, Box] = field(default_factory=dict)
    bars: dict[str, Bar] = field(default_factory=dict)
    wires: list[Wire] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0


def combined(a: str | None, b: str | None) -> str:
    """One state for a session seen from both ends."""
    states = [s for s in (a, b) if s]
    if not states:
        return "unknown"
    if all(s == "Established" for s in states):
        return "Established"
    for s in states:
        if s != "Established":
            return s
    return states[0]


def colour(state: str) -> str:
    if state == "Established":
        return GREEN
    if state in ("unknown", ""):
        return GREY
    if state in ("Connect", "Active", "OpenSent", "OpenConfirm", "Idle"):
        return AMBER if state != "Idle" else RED
    return RED


_ADDR_NAME = re.compile(r"^(?:Node|Global|Mesh)_(\d+)_(\d+)_(\d+)_(\d+)(?:_port_\d+)?$")


_ADDR6_NAME = re.compile(r"^(?:Node|Global|Mesh)_([0-9A-Fa-f_]+)$")


def owners(topo: Topology) -> dict[str, str]:
    """Address -> host, for every router interface and node (IPv6 too)."""
    out = {str(n.address): n.name for n in topo.nodes}
    out.update({str(n.address6): n.name for n in topo.nodes if n.address6 is not None})
    for r in topo.routers:
        for i in r.interfaces:
            out[str(i.address)] = r.name
            if i.address6 is not None:
                out[str(i.address6)] = r.name
    return out


def peer_of(topo: Topology, proto: str, addrs: dict[str, str]) -> str | None:
    """The host a BGP protocol of the lab talks to, from its name."""
    m = _ADDR_NAME.match(proto)
    if m:
        return addrs.get(".".join(m.groups()))
    m = _ADDR6_NAME.match(proto)
    if m:  # Calico names IPv6 peers with ':' as '_' (Node_fd00_192_168__7)
        try:
            return addrs.get(str(ipaddress.ip_address(m.group(1).replace("_", ":"))))
        except ValueError:
            return None
    if proto.startswith("Router_"):
        name = proto.removeprefix("Router_")
        for r in topo.routers:
            if name in (r.name, r.name.replace("-", "_")):
                return r.name
    return None


def edges(topo: Topology, sessions: dict[str, dict[str, str]]) -> list[Edge]:
    """Every BGP session of the lab, from each host's protocols and their states."""
    addrs = owners(topo)
    found: dict[tuple[str, str], Edge] = {}
    for host, protos in sessions.items():
        for proto, state in protos.items():
            peer = peer_of(topo, proto, addrs)
            if peer is None or peer == host:
                continue
            a, b = sorted((host, peer), key=_order(topo))
            e = found.setdefault((a, b), Edge(a, b))
            if host == a:
                e.proto_a, e.state_a = proto, state
            else:
                e.proto_b, e.state_b = proto, state
    return list(found.values())


def _order(topo: Topology) -> Any:
    names = topo.host_names()
    return lambda h: names.index(h) if h in names else len(names)


def host_lines(topo: Topology, host: str, rr: bool) -> list[str]:
    if topo.is_router(host):
        r = topo.router_named(host)
        subnets = {i.subnet for i in r.interfaces}
        # a reflector for the iBGP nodes on its subnets (eBGP-only routers just route)
        reflects = rr and any(
            n.subnet in subnets and topo.node_asn(n) == topo.router_asn(r) for n in topo.nodes
        )
        role = "route reflector" if reflects else "router"
        if rr and r.rr_cluster_id is not None:
            role += f" (cluster {r.rr_cluster_id})"
        return [
            r.name,
            f"AS {topo.router_asn(r)} · id {r.router_id}",
            role,
            *(f"{i.name} {i.address}" for i in r.interfaces),
        ]
    n = topo.node(host)
    return [n.name, f"{n.address} · AS {topo.node_asn(n)}", f"block {n.block}"]


def layout(topo: Topology, sessions: dict[str, dict[str, str]], rr: bool = True) -> Layout:
    out = Layout()
    line_h = 14.0
    # columns: subnets side by side, each as wide as its nodes
    x = MARGIN
    spans: dict[str, tuple[float, float]] = {}
    for s in topo.subnets:
        count = max(1, sum(1 for n in topo.nodes if n.subnet == s))
        spans[s.name] = (x, x + count * COL_W)
        x += count * COL_W + 40
    width = max(x - 40 + MARGIN, len(topo.routers) * (COL_W + 30) + 2 * MARGIN, 500.0)
    router_h = max(16 + line_h * len(host_lines(topo, r.name, rr)) for r in topo.routers)
    router_y = 20 + router_h / 2
    step = width / (len(topo.routers) + 1)
    for i, r in enumerate(topo.routers):
        lines = host_lines(topo, r.name, rr)
        out.boxes[r.name] = Box(r.name, lines, step * (i + 1), router_y, 200, router_h, "router")
    bar_y = router_y + router_h / 2 + 110
    node_h = 16 + line_h * 3
    node_y = bar_y + 70 + node_h / 2
    pod_y = node_y + node_h / 2 + 45
    max_pods = 0
    for s in topo.subnets:
        left, right = spans[s.name]
        out.bars[s.name] = Bar(s.name, f"{s.name} {s.cidr}", left + 5, right - 5, bar_y)
        nodes = [n for n in topo.nodes if n.subnet == s]
        for i, n in enumerate(nodes):
            nx = left + COL_W * (i + 0.5)
            out.boxes[n.name] = Box(
                n.name, host_lines(topo, n.name, rr), nx, node_y, 170, node_h, "node"
            )
            pods = n.pod_names()
            max_pods = max(max_pods, len(pods))
            for j, pod in enumerate(pods):
                px = nx - 42 + 84 * (j % 2)
                py = pod_y + 40 * (j // 2)
                out.boxes[pod] = Box(
                    pod, [pod.rsplit("-", 1)[-1], str(n.pod_address(j))], px, py, 80, 30, "pod"
                )
                out.wires.append(Wire("pod", [(nx, node_y + node_h / 2), (px, py - 15)]))
            out.wires.append(Wire("link", [(nx, node_y - node_h / 2), (nx, bar_y + 4)]))
    # router links: to the nearest inner point of each of its subnets' bars
    for r in topo.routers:
        b = out.boxes[r.name]
        for iface in r.interfaces:
            bar = out.bars[iface.subnet.name]
            inner = (bar.right - bar.left) * 0.25
            ax = min(max(b.x, bar.left + inner), bar.right - inner)
            out.wires.append(Wire("link", [(b.x, b.bottom), (ax, bar.y - 4)]))
    # sessions: node -> router straight, router <-> router as an arc above the row
    es = edges(topo, sessions)
    per_router: dict[str, int] = {}
    arcs = 0
    for e in es:
        end_a, end_b = out.boxes.get(e.a), out.boxes.get(e.b)
        if end_a is None or end_b is None:
            continue
        if end_a.kind == "router" and end_b.kind == "router":
            arcs += 1
            top = min(end_a.top, end_b.top) - 8 * arcs
            pts = [
                (end_a.x + 20, end_a.top), (end_a.x + 20, top),
                (end_b.x - 20, top), (end_b.x - 20, end_b.top),
            ]  # fmt: skip
        else:
            router, node = (end_a, end_b) if end_a.kind == "router" else (end_b, end_a)
            k = per_router.get(router.name, 0)
            per_router[router.name] = k + 1
            rx = router.x - router.w / 2 + 20 + (k * 23) % (router.w - 40)
            pts = [(node.x - 40, node.top), (rx, router.bottom)]
        out.wires.append(Wire("session", pts, e))
    # labels last, where no wire crosses them: above the bar, else below it
    segs = [seg for w in out.wires for seg in w.segments()]
    for bar in out.bars.values():
        place_label(bar, segs)
    top_pad = 8 * arcs
    if top_pad:
        for box in out.boxes.values():
            box.y += top_pad
        for bar in out.bars.values():
            bar.y += top_pad
            bar.label_y += top_pad
        for w in out.wires:
            w.points = [(px, py + top_pad) for px, py in w.points]
    out.width = width
    out.height = pod_y + 40 * ((max_pods + 1) // 2) + 30 + top_pad
    return out


def place_label(bar: Bar, segs: list[Segment]) -> None:
    width = len(bar.label) * CHAR_W
    candidates = []
    x = bar.left
    offsets = (-9, 20, -24, 35, -39)  # baselines above and below the bar, nearest first
    while x + width <= bar.right + 1:
        candidates += [(x, bar.y + dy) for dy in offsets]
        x += 10
    candidates.sort(key=lambda c: (offsets.index(c[1] - bar.y), c[0]))
    for cx, cy in candidates or [(bar.left, bar.y - 9)]:
        bar.label_x, bar.label_y = cx, cy
        if not any(crosses(seg, bar.label_rect) for seg in segs):
            return
    bar.label_x, bar.label_y = bar.left, bar.y - 9  # nowhere free: keep the default


def crosses(seg: Segment, rect: tuple[float, float, float, float]) -> bool:
    """Whether a segment passes through a rectangle (Liang-Barsky clipping)."""
    (x1, y1), (x2, y2) = seg
    x0, y0, xm, ym = rect
    dx, dy = x2 - x1, y2 - y1
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x1 - x0), (dx, xm - x1), (-dy, y1 - y0), (dy, ym - y1)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True


def crossings(lay: Layout) -> list[tuple[str, str]]:
    """(label, wire kind) pairs where a wire strikes through a label."""
    out = []
    for bar in lay.bars.values():
        for w in lay.wires:
            if any(crosses(seg, bar.label_rect) for seg in w.segments()):
                out.append((bar.label, w.kind))
    return out


def session_title(
    a: str, b: str, pa: str | None, pb: str | None, sa: str | None, sb: str | None, state: str
) -> str:
    """The tooltip of a session line (lab.js builds the same)."""
    return f"BGP {a} ({pa or '?'}: {sa or '?'}) — {b} ({pb or '?'}: {sb or '?'}): {state}"


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def svg(lay: Layout) -> str:
    """The layout as inline SVG, as wide as the page (``viewBox``)."""
    w, h = lay.width, lay.height
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0f} {h:.0f}" width="100%" '
        'font-family="sans-serif" font-size="11" '
        'role="img" aria-label="lab topology" class="topology">'
    ]
    for wire in lay.wires:
        pts = " ".join(f"{x:.0f},{y:.0f}" for x, y in wire.points)
        if wire.kind == "session" and wire.edge is not None:
            e = wire.edge
            title = session_title(e.a, e.b, e.proto_a, e.proto_b, e.state_a, e.state_b, e.state)
            parts.append(
                f'<polyline points="{pts}" fill="none" stroke="{colour(e.state)}" '
                f'stroke-width="2.5" stroke-dasharray="7,4" class="session" '
                f'data-session="{_e(e.id)}" data-state="{_e(e.state)}">'
                f"<title>{_e(title)}</title></polyline>"
            )
        else:
            stroke, sw = ("#444", 2) if wire.kind == "link" else ("#999", 1)
            parts.append(
                f'<polyline points="{pts}" fill="none" stroke="{stroke}" stroke-width="{sw}"/>'
            )
    for bar in lay.bars.values():
        parts.append(
            f'<rect x="{bar.left:.0f}" y="{bar.y - 4:.0f}" width="{bar.right - bar.left:.0f}" '
            f'height="8" fill="#5477b8"/>'
            f'<text x="{bar.label_x:.0f}" y="{bar.label_y:.0f}" font-weight="bold" '
            f'fill="#23364d">{_e(bar.label)}</text>'
        )
    fills = {"router": "#f3d98b", "node": "#cfe3f7", "pod": "#eeeeee"}
    for b in lay.boxes.values():
        parts.append(
            f'<g class="host" data-host="{_e(b.name)}"><rect x="{b.x - b.w / 2:.0f}" '
            f'y="{b.top:.0f}" width="{b.w:.0f}" height="{b.h:.0f}" rx="6" '
            f'fill="{fills[b.kind]}" stroke="#555"/>'
        )
        y0 = b.y - (len(b.lines) - 1) * 7 + 4
        for i, ln in enumerate(b.lines):
            bold = ' font-weight="bold"' if i == 0 else ""
            size = ' font-size="10"' if b.kind == "pod" else ""
            parts.append(
                f'<text x="{b.x:.0f}" y="{y0 + 14 * i:.0f}" text-anchor="middle"{bold}{size}>'
                f"{_e(ln)}</text>"
            )
        parts.append("</g>")
    parts.append(
        f'<text x="10" y="{h - 8:.0f}" fill="#444">dashed: BGP sessions (green Established, '
        "amber connecting, red down, grey unknown); solid: links</text></svg>"
    )
    return "\n".join(parts)
