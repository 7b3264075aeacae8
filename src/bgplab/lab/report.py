"""The lab report: topology drawing (inline SVG, or PNG via matplotlib), route
tables and the reachability matrix, from one :class:`~bgplab.lab.check.Report`."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from bgplab.errors import UserError
from bgplab.lab.check import Report
from bgplab.lab.container import where
from bgplab.lab.lab import Lab

GREEN, RED, GREY = "#2e9d4f", "#d03b3b", "#888888"


@dataclass
class Box:
    name: str
    label: str
    x: float
    y: float
    kind: str  # router | subnet | node | pod
    w: float = 140.0  # subnet bars span their nodes


def layout(lab: Lab) -> tuple[list[Box], float, float]:
    """Positions: router on top, one bar per subnet, nodes under their subnet, pods under nodes."""
    topo = lab.topo
    col_w, boxes = 170.0, []
    x = 40.0
    for s in topo.subnets:
        nodes = [n for n in topo.nodes if n.subnet == s]
        width = max(1, len(nodes)) * col_w
        boxes.append(Box(s.name, f"{s.name} {s.cidr}", x + width / 2, 200, "subnet", width - 20))
        for i, n in enumerate(nodes):
            nx = x + col_w * (i + 0.5)
            boxes.append(Box(n.name, f"{n.name}\n{n.address}\n{n.block}", nx, 300, "node"))
            for j, pod in enumerate(n.pod_names()):
                boxes.append(
                    Box(
                        pod,
                        f"{pod.rsplit('-', 1)[-1]}\n{n.pod_address(j)}",
                        nx - 40 + 80 * (j % 2),
                        400 + 45 * (j // 2),
                        "pod",
                    )
                )
        x += width + 30
    total_w = max(x + 10, 400.0)
    r = topo.router
    label = f"{r.name}\n" + "\n".join(f"{i.name} {i.address}" for i in r.interfaces)
    boxes.insert(0, Box(r.name, label, total_w / 2, 70, "router"))
    height = max(b.y for b in boxes) + 60
    return boxes, total_w, height


def session_colour(rep: Report, node: str) -> str:
    state = rep.sessions.get(node, {})
    if not state:
        return GREY
    return GREEN if all(v == "Established" for v in state.values()) else RED


def svg(lab: Lab, rep: Report) -> str:
    boxes, w, h = layout(lab)
    pos = {b.name: b for b in boxes}
    router = pos[lab.topo.router.name]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" '
        f'font-family="sans-serif" font-size="11">'
    ]
    # Links: host to its subnet bar (grey), BGP sessions node to router (coloured).
    for iface in lab.topo.router.interfaces:
        s = pos[iface.subnet.name]
        parts.append(_line(router.x, router.y + 30, s.x, s.y, "#444", 2))
    for n in lab.topo.nodes:
        b, s = pos[n.name], pos[n.subnet.name]
        parts.append(_line(b.x, b.y - 20, b.x, s.y, "#444", 2))
        colour = session_colour(rep, n.name)
        state = ", ".join(sorted(set(rep.sessions.get(n.name, {}).values()))) or "no session"
        parts.append(
            f'<path d="M{b.x - 25:.0f},{b.y - 20:.0f} Q{b.x - 60:.0f},{router.y + 90:.0f} '
            f'{router.x:.0f},{router.y + 30:.0f}" stroke="{colour}" stroke-width="2" '
            f'stroke-dasharray="6,3" fill="none"><title>BGP {n.name} - '
            f"{lab.topo.router.name}: {html.escape(state)}</title></path>"
        )
        for pod in n.pod_names():
            p = pos[pod]
            parts.append(_line(b.x, b.y + 22, p.x, p.y - 14, "#999", 1))
    for b in boxes:
        parts.append(_box(b, rep))
    parts.append(
        f'<text x="10" y="{h - 10:.0f}" fill="#444">dashed: BGP sessions '
        f"(green Established, red down); solid: links</text></svg>"
    )
    return "\n".join(parts)


def _line(x1: float, y1: float, x2: float, y2: float, colour: str, width: int) -> str:
    return (
        f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" '
        f'stroke="{colour}" stroke-width="{width}"/>'
    )


def _box(b: Box, rep: Report) -> str:
    lines = b.label.split("\n")
    if b.kind == "subnet":
        return (
            f'<rect x="{b.x - b.w / 2:.0f}" y="{b.y - 6:.0f}" width="{b.w:.0f}" height="12" '
            f'fill="#5477b8"/>'
            f'<text x="{b.x:.0f}" y="{b.y - 10:.0f}" text-anchor="middle">{html.escape(b.label)}</text>'
        )
    bw, bh = {"router": (150, 60), "node": (130, 44), "pod": (72, 28)}[b.kind]
    fill = {"router": "#f3d98b", "node": "#cfe3f7", "pod": "#eeeeee"}[b.kind]
    out = [
        f'<rect x="{b.x - bw / 2:.0f}" y="{b.y - bh / 2:.0f}" width="{bw}" height="{bh}" '
        f'rx="6" fill="{fill}" stroke="#555"/>'
    ]
    y0 = b.y - (len(lines) - 1) * 6.5 + 4
    for i, ln in enumerate(lines):
        weight = ' font-weight="bold"' if i == 0 else ""
        out.append(
            f'<text x="{b.x:.0f}" y="{y0 + 13 * i:.0f}" text-anchor="middle"{weight}>'
            f"{html.escape(ln)}</text>"
        )
    return "".join(out)


def html_report(lab: Lab, rep: Report) -> str:
    esc = html.escape
    rows = []
    for c in rep.checks:
        colour = GREEN if c.ok else RED
        rows.append(
            f'<tr><td>{esc(c.name)}</td><td style="color:{colour};font-weight:bold">'
            f"{'PASS' if c.ok else 'FAIL'}</td><td>{esc(c.detail)}</td></tr>"
        )
    pods = lab.pods()
    matrix = [
        "<tr><th>from \\ to</th>" + "".join(f"<th>{esc(p.name)}</th>" for p in pods) + "</tr>"
    ]
    for a in pods:
        cells = []
        for b in pods:
            if a.name == b.name:
                cells.append('<td style="color:#999">·</td>')
            else:
                ok = rep.matrix.get((a.name, b.name), False)
                cells.append(
                    f'<td style="background:{"#d8f0dc" if ok else "#f6d4d4"}">'
                    f"{'ok' if ok else '✗'}</td>"
                )
        matrix.append(f"<tr><th>{esc(a.name)}</th>{''.join(cells)}</tr>")
    tables = []
    for host in lab.topo.host_names():
        exp = sorted(str(r) for r in rep.expected.get(host, set()))
        status = rep.node_status.get(host, "")
        tables.append(
            f"<h3>{esc(host)}</h3><pre>{esc(chr(10).join(rep.routes.get(host, [])))}</pre>"
            f"<details><summary>expected proto bird routes ({len(exp)})</summary>"
            f"<pre>{esc(chr(10).join(exp))}</pre></details>"
            + (
                f"<details><summary>calicoctl node status</summary><pre>{esc(status)}</pre>"
                "</details>"
                if status
                else ""
            )
        )
    verdict = (
        '<span style="color:{}">{}</span>'.format(GREEN, "ALL PASS")
        if rep.ok
        else f'<span style="color:{RED}">FAILED</span>'
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>bgplab lab report: {esc(lab.scenario.name)}</title>
<style>body{{font-family:sans-serif;margin:2em}} td,th{{border:1px solid #ccc;padding:3px 6px}}
table{{border-collapse:collapse}} pre{{background:#f6f6f6;padding:6px}}</style></head><body>
<h1>bgplab lab: scenario {esc(lab.scenario.name)} — {verdict}</h1>
<p>{esc(lab.scenario.title)}. Topology {esc(lab.topo.name)}; router speaker
{esc(lab.router_speaker)}, node speaker {esc(lab.node_speaker)}; node configs by {esc(lab.renderer)}.</p>
<p>What runs where: {"; ".join(esc(where(s)) for s in lab.speakers.values())}.</p>
{svg(lab, rep)}
<h2>Checks</h2><table><tr><th>check</th><th>verdict</th><th>detail</th></tr>{"".join(rows)}</table>
<h2>Pod reachability</h2><table>{"".join(matrix)}</table>
<h2>Route tables</h2>{"".join(tables)}
</body></html>
"""


def write_html(lab: Lab, rep: Report, path: Path) -> None:
    try:
        path.write_text(html_report(lab, rep))
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None


def write_png(lab: Lab, rep: Report, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import FancyBboxPatch
    except ImportError:
        raise UserError("--png needs matplotlib (pip install 'bgplab[bench]')") from None
    boxes, w, h = layout(lab)
    pos = {b.name: b for b in boxes}
    fig, ax = plt.subplots(figsize=(w / 90, h / 90), dpi=110)
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.axis("off")
    router = pos[lab.topo.router.name]
    for iface in lab.topo.router.interfaces:
        s = pos[iface.subnet.name]
        ax.plot([router.x, s.x], [router.y + 30, s.y], color="#444", lw=1.5)
    for n in lab.topo.nodes:
        b, s = pos[n.name], pos[n.subnet.name]
        ax.plot([b.x, b.x], [b.y - 20, s.y], color="#444", lw=1.5)
        ax.plot(
            [b.x - 25, router.x],
            [b.y - 20, router.y + 30],
            color=session_colour(rep, n.name),
            lw=1.5,
            ls="--",
        )
        for pod in n.pod_names():
            p = pos[pod]
            ax.plot([b.x, p.x], [b.y + 22, p.y - 14], color="#999", lw=0.8)
    for b in boxes:
        if b.kind == "subnet":
            ax.add_patch(
                FancyBboxPatch(
                    (b.x - b.w / 2, b.y - 6), b.w, 12, boxstyle="square,pad=0", color="#5477b8"
                )
            )
            ax.text(b.x, b.y - 12, b.label, ha="center", va="bottom", fontsize=7)
            continue
        bw, bh = {"router": (150, 60), "node": (130, 44), "pod": (72, 28)}[b.kind]
        fill = {"router": "#f3d98b", "node": "#cfe3f7", "pod": "#eeeeee"}[b.kind]
        ax.add_patch(
            FancyBboxPatch(
                (b.x - bw / 2, b.y - bh / 2),
                bw,
                bh,
                boxstyle="round,pad=0,rounding_size=6",
                fc=fill,
                ec="#555",
            )
        )
        ax.text(b.x, b.y, b.label, ha="center", va="center", fontsize=6 if b.kind == "pod" else 7)
    verdict = "all checks pass" if rep.ok else "FAILED"
    ax.set_title(
        f"bgplab lab: {lab.scenario.name} — {verdict} (router {lab.router_speaker}, "
        f"nodes {lab.node_speaker})\ndashed: BGP sessions (green Established, red down)",
        fontsize=8,
    )
    try:
        fig.savefig(path, bbox_inches="tight")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        plt.close(fig)
