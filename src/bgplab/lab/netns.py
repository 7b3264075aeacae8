"""Build the topology out of network namespaces, and tear it down by name prefix.

Layout (prefix ``bgplab-`` for the user's lab, ``bgplab-t<pid>-`` in tests):

- one switch namespace per subnet (``bgplab-sw0``) holding a bridge ``br0``, so
  nothing is added to the host's own network namespace;
- one namespace per host (``bgplab-router``, ``bgplab-rke-node3``), joined to
  its switch by a veth pair created directly between the two namespaces;
- one namespace per pod (``bgplab-rke-node3-pod0``), wired the way Calico's
  CNI plugin wires a pod: veth ``cali<hash>`` on the node with proxy ARP and
  a ``/32`` route, ``169.254.1.1`` as the pod's link-scope default gateway.

Everything is plain ``ip``/``sysctl``/``iptables`` (iproute2), the same
commands a person would type, so a failure message shows the command.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bgplab.errors import UserError
from bgplab.lab.topology import Interface, Node, Router, Topology

DEFAULT_PREFIX = "bgplab-"
BRIDGE = "br0"
POD_GATEWAY = "169.254.1.1"
# Calico's CNI gives the node's end of a pod veth the MAC ee:ee:ee:ee:ee:ee; its EUI-64
# link-local address is the pods' IPv6 gateway (dual stack).
CALI_MAC = "ee:ee:ee:ee:ee:ee"
POD_GATEWAY6 = "fe80::ecee:eeff:feee:eeee"
# Test labs are named bgplab-t<pid>-…; the user's `down` must not touch them.
_TEST_PREFIX_RE = re.compile(r"^bgplab-t\d+-")


class NetnsError(UserError):
    """An ip/sysctl command failed while building or tearing down the lab."""


def run(argv: list[str], check: bool = True, timeout: float = 30) -> str:
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise NetnsError(f"{argv[0]} is not installed (run scripts/install)") from None
    except subprocess.TimeoutExpired:
        raise NetnsError(f"timed out: {' '.join(argv)}") from None
    if check and res.returncode != 0:
        msg = (res.stderr or res.stdout).strip().splitlines()
        raise NetnsError(f"{' '.join(argv)}: {msg[-1] if msg else 'exit ' + str(res.returncode)}")
    return res.stdout


def in_ns(ns: str, argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


def cali_name(pod: str) -> str:
    """Calico names a pod's host-side veth ``cali`` + 11 hex digits of a hash."""
    return "cali" + hashlib.sha1(pod.encode()).hexdigest()[:11]


@dataclass(frozen=True)
class Names:
    """Namespace names for one lab instance."""

    prefix: str = DEFAULT_PREFIX

    def host(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def switch(self, subnet: str) -> str:
        return f"{self.prefix}{subnet}"

    def pod(self, pod: str) -> str:
        return f"{self.prefix}{pod}"


def _sysctl(ns: str, *settings: str) -> None:
    run(in_ns(ns, ["sysctl", "-q", "-w", *settings]))


def _new_ns(ns: str) -> None:
    run(["ip", "netns", "add", ns])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])
    # Lab paths are asymmetric (the router sources every session from one address).
    _sysctl(ns, "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0")


def _veth(ns: str, name: str, peer: str, peer_ns: str) -> None:
    """A veth pair: ``name`` in ``ns``, its ``peer`` end in ``peer_ns``."""
    run(["ip", "-n", ns, "link", "add", name, "type", "veth"]
        + ["peer", "name", peer, "netns", peer_ns])


def _port_name(host: str, ifname: str) -> str:
    """The switch-side end of a host's link: unique in the switch, at most 15 bytes."""
    digest = hashlib.sha1(f"{host}/{ifname}".encode()).hexdigest()[:6]
    return f"{host[:8]}-{digest}"


def build_steps(topo: Topology, names: Names) -> Iterator[tuple[str, Callable[[], None]]]:
    """The build as (description, action) steps, so a caller can show progress."""
    # (type: ignore[misc] below: mypy cannot infer the type of a lambda whose
    # defaults bind the loop variables)
    for s in topo.subnets:
        yield f"switch {s.name} ({s.cidr})", lambda s=s: _build_switch(names.switch(s.name))  # type: ignore[misc]
        if topo.dual_stack:
            yield (
                f"switch {s.name} IPv6 ({s.cidr6})",
                lambda s=s: _ipv6_switch(names.switch(s.name)),  # type: ignore[misc]
            )
    for r in topo.routers:
        yield f"router {r.name}", lambda r=r: _build_router(topo, r, names)  # type: ignore[misc]
    for n in topo.nodes:
        yield f"node {n.name} ({n.address})", lambda n=n: _build_node(topo, n, names)  # type: ignore[misc]
        for i, pod in enumerate(n.pod_names()):
            yield (
                f"pod {pod} ({n.pod_address(i)})",
                lambda n=n, i=i, pod=pod: _build_pod(n, i, pod, names),  # type: ignore[misc]
            )


def _build_switch(ns: str) -> None:
    _new_ns(ns)
    run(
        [
            "ip",
            "-n",
            ns,
            "link",
            "add",
            BRIDGE,
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
        ]
    )
    run(["ip", "-n", ns, "link", "set", BRIDGE, "up"])


def _new_forwarding_ns(ns: str, dual_stack: bool) -> None:
    """A router's or Calico host's namespace: it forwards (IPv6 too in a dual-stack lab)."""
    _new_ns(ns)
    _sysctl(ns, "net.ipv4.ip_forward=1")
    if dual_stack:
        _ipv6_host(ns)


def _attach(names: Names, host_ns: str, host: str, iface: Interface) -> None:
    """``host``'s ``iface``: a veth into its subnet's switch, with its address(es)."""
    ifname, switch_ns = iface.name, names.switch(iface.subnet.name)
    address, plen = iface.address, iface.subnet.cidr.prefixlen
    port = _port_name(host, ifname)
    _veth(host_ns, ifname, port, switch_ns)
    run(["ip", "-n", switch_ns, "link", "set", port, "master", BRIDGE, "up"])
    run(["ip", "-n", host_ns, "addr", "add", f"{address}/{plen}", "dev", ifname])
    run(["ip", "-n", host_ns, "link", "set", ifname, "up"])
    _address6(host_ns, iface)


def _build_router(topo: Topology, r: Router, names: Names) -> None:
    ns = names.host(r.name)
    _new_forwarding_ns(ns, topo.dual_stack)
    for iface in r.interfaces:
        _attach(names, ns, r.name, iface)
    for route in host_static_routes(topo, r.name):
        run(["ip", "-n", ns, "route", "add", *route])
    forward_accept(ns)


def host_static_routes(topo: Topology, host: str) -> list[list[str]]:
    """The routes the builder adds by hand on ``host`` (the words after
    ``ip route add``); a fault drill that downs a link puts them back.

    A node reaches the other subnets through the routers of its own subnet: one
    (the seed's static route) or several, as one ECMP route (see _multipath_node)."""
    if topo.is_router(host):
        for iface in topo.router_named(host).interfaces:
            if iface.subnet.gateway is not None:
                gw = str(iface.subnet.gateway)
                return [["default", "via", gw, "dev", iface.name]] + _static_routes6(topo, host)
        return _static_routes6(topo, host)
    n = topo.node(host)
    dev = n.interface.name
    if n.subnet.gateway is not None:
        routes = [["default", "via", str(n.subnet.gateway), "dev", dev]]
    else:
        # Proxy ARP answers only for targets the host routes elsewhere; without a default
        # route, give the pods' gateway address a route out of the uplink.
        routes = [[f"{POD_GATEWAY}/32", "dev", dev]]
    # the seed's static routes via the router (one ECMP route via several): through the
    # routers of the node's subnet that join the other one (Topology.gateways)
    for s in topo.subnets:
        if s != n.subnet:
            gws = [str(r.address_in(n.subnet)) for r in topo.gateways(n.subnet, s)]
            routes.append([str(s.cidr), *_via(gws, dev)])
    return routes + _static_routes6(topo, host)


def _static_routes6(topo: Topology, host: str) -> list[list[str]]:
    """Dual stack: the same plan over IPv6 (``ip route add`` takes the family from the
    gateway): the subnet's gateway6 as default, the other subnets' cidr6 via the
    router(s) of the node's subnet, as :func:`host_static_routes` does for IPv4."""
    if not topo.dual_stack:
        return []
    if topo.is_router(host):
        for iface in topo.router_named(host).interfaces:
            if iface.subnet.gateway6 is not None:
                return [["default", "via", str(iface.subnet.gateway6), "dev", iface.name]]
        return []
    n = topo.node(host)
    dev = n.interface.name
    routes = []
    if n.subnet.gateway6 is not None:
        routes.append(["default", "via", str(n.subnet.gateway6), "dev", dev])
    for s in topo.subnets:
        if s != n.subnet:  # as IPv4: via the routers of the node's subnet that join s
            gws = [str(r.address6_in(n.subnet)) for r in topo.gateways(n.subnet, s)]
            routes.append([str(s.cidr6), *_via(gws, dev)])
    return routes


def _via(gateways: list[str], dev: str) -> list[str]:
    """``via GW dev DEV``, or one ``nexthop`` per gateway (ECMP over several routers)."""
    if len(gateways) == 1:
        return ["via", gateways[0], "dev", dev]
    return [w for gw in gateways for w in ("nexthop", "via", gw, "dev", dev)]


def _ipv6_switch(ns: str) -> None:
    # No MLD snooping: a freshly built lab must pass neighbour discovery at once.
    run(["ip", "-n", ns, "link", "set", BRIDGE, "type", "bridge", "mcast_snooping", "0"])


def _ipv6_host(ns: str, forward: bool = True) -> None:
    """A dual-stack host: forwards IPv6 (not a pod), addresses usable at once (no duplicate
    address detection: the lab assigns them), kept when a drill downs the link (as IPv4's
    are)."""
    settings = ["net.ipv6.conf.all.forwarding=1"] if forward else []
    for scope in ("all", "default"):
        settings += [
            f"net.ipv6.conf.{scope}.accept_dad=0",
            f"net.ipv6.conf.{scope}.keep_addr_on_down=1",
        ]
    _sysctl(ns, *settings)


def _address6(ns: str, iface: Interface) -> None:
    if iface.address6 is None or iface.subnet.cidr6 is None:
        return
    plen = iface.subnet.cidr6.prefixlen
    run(["ip", "-n", ns, "addr", "add", f"{iface.address6}/{plen}", "dev", iface.name, "nodad"])


def forward_accept(ns: str) -> str:
    """The seed's ``iptables -P FORWARD ACCEPT``; a new namespace already accepts, so a
    missing iptables is only noted."""
    if shutil.which("iptables") is None:
        return "iptables not installed; the namespace's FORWARD policy is ACCEPT by default"
    run(in_ns(ns, ["iptables", "-P", "FORWARD", "ACCEPT"]), check=False)
    return "FORWARD ACCEPT"


def _build_node(topo: Topology, n: Node, names: Names) -> None:
    ns = names.host(n.name)
    _new_forwarding_ns(ns, topo.dual_stack)  # a Calico host forwards its pods' traffic
    iface = n.interface
    _attach(names, ns, n.name, iface)
    if len(topo.routers_in(n.subnet)) > 1:
        _multipath_node(ns, iface.name)
    for route in host_static_routes(topo, n.name):
        run(["ip", "-n", ns, "route", "add", *route])


# How long a node keeps sending to a router that stopped answering ARP (seconds):
# reachable for 0.5-1.5 s after the last confirmation, 1 s delay, 3 probes 0.2 s apart.
NEIGH_TIMERS = {
    "base_reachable_time_ms": "1000",
    "delay_first_probe_time": "1",
    "ucast_solicit": "3",
    "retrans_time_ms": "200",
}


def _multipath_node(ns: str, dev: str) -> None:
    """A node with several routers in its subnet reaches the other subnets by one ECMP
    static route; the kernel skips a next hop whose ARP entry has failed
    (``fib_multipath_use_neigh``), and short neighbour timers make a dead router's
    entry fail within about 3 s. Hashing on ports (policy 1) spreads flows."""
    settings = [
        "net.ipv4.fib_multipath_use_neigh=1",
        "net.ipv4.fib_multipath_hash_policy=1",
    ]
    settings += [f"net.ipv4.neigh.{dev}.{k}={v}" for k, v in NEIGH_TIMERS.items()]
    _sysctl(ns, *settings)


def _build_pod(n: Node, index: int, pod: str, names: Names) -> None:
    node_ns, pod_ns = names.host(n.name), names.pod(pod)
    addr = str(n.pod_address(index))
    cali = cali_name(pod)
    _new_ns(pod_ns)
    if n.block6 is not None:
        _ipv6_host(pod_ns, forward=False)
    _veth(node_ns, cali, "eth0", pod_ns)
    if n.block6 is not None:
        run(["ip", "-n", node_ns, "link", "set", cali, "address", CALI_MAC])
    run(["ip", "-n", node_ns, "link", "set", cali, "up"])
    # As Calico's CNI plugin: answer ARP for 169.254.1.1 at once (no proxy delay).
    _sysctl(node_ns, f"net.ipv4.conf.{cali}.proxy_arp=1", f"net.ipv4.neigh.{cali}.proxy_delay=0")
    run(["ip", "-n", node_ns, "route", "add", f"{addr}/32", "dev", cali, "scope", "link"])
    run(["ip", "-n", pod_ns, "addr", "add", f"{addr}/32", "dev", "eth0"])
    run(["ip", "-n", pod_ns, "link", "set", "eth0", "up"])
    run(["ip", "-n", pod_ns, "route", "add", POD_GATEWAY, "dev", "eth0", "scope", "link"])
    run(["ip", "-n", pod_ns, "route", "add", "default", "via", POD_GATEWAY, "dev", "eth0"])
    if n.block6 is not None:
        _build_pod6(n, index, node_ns, pod_ns, cali)


def _build_pod6(n: Node, index: int, node_ns: str, pod_ns: str, cali: str) -> None:
    """The pod's IPv6 side as Calico's CNI wires it: the pod's /128 on eth0, default via
    the cali veth's link-local address, a /128 route to the pod on the node (proxy NDP on,
    as Calico sets it)."""
    addr6 = str(n.pod_address6(index))
    _sysctl(
        node_ns,
        f"net.ipv6.conf.{cali}.proxy_ndp=1",
        f"net.ipv6.conf.{cali}.forwarding=1",
        f"net.ipv6.conf.{cali}.accept_ra=0",
    )
    run(["ip", "-n", node_ns, "route", "add", f"{addr6}/128", "dev", cali])
    run(["ip", "-n", pod_ns, "addr", "add", f"{addr6}/128", "dev", "eth0", "nodad"])
    run(["ip", "-n", pod_ns, "route", "add", "default", "via", POD_GATEWAY6, "dev", "eth0"])


# --------------------------------------------------------------------------- inspection


def list_namespaces(prefix: str = DEFAULT_PREFIX) -> list[str]:
    """Namespaces owned by a lab with this prefix (the default lab never claims test labs)."""
    out = []
    for line in run(["ip", "netns", "list"], check=False).splitlines():
        name = line.split()[0] if line.strip() else ""
        if not name.startswith(prefix):
            continue
        if prefix == DEFAULT_PREFIX and _TEST_PREFIX_RE.match(name):
            continue
        out.append(name)
    return sorted(out)


def list_root_links(prefix: str = DEFAULT_PREFIX) -> list[str]:
    out = []
    for line in run(["ip", "-o", "link", "show"], check=False).splitlines():
        parts = line.split(":")
        if len(parts) < 2:
            continue
        name = parts[1].strip().split("@")[0]
        if name.startswith(prefix) and not (
            prefix == DEFAULT_PREFIX and _TEST_PREFIX_RE.match(name)
        ):
            out.append(name)
    return out


def ns_pids(ns: str) -> list[int]:
    return [int(x) for x in run(["ip", "netns", "pids", ns], check=False).split() if x.isdigit()]


def rundir_pids(rundir: Path) -> list[int]:
    """Processes whose cwd or command line is inside the lab's run directory."""
    found = []
    root = str(rundir.resolve()) if rundir.exists() else str(rundir)
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            cwd = ""
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            cmd = ""
        if cwd == root or cwd.startswith(root + "/") or root + "/" in cmd:
            found.append(int(entry.name))
    return found


def kill_pids(pids: list[int], grace: float = 3.0) -> None:
    """SIGTERM, wait a moment, then SIGKILL whatever is left."""
    pids = [p for p in set(pids) if p != os.getpid()]
    for p in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, signal.SIGTERM)
    deadline = time.monotonic() + grace
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if pid_alive(p)]
    for p in alive:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, signal.SIGKILL)


def pid_alive(pid: int) -> bool:
    try:
        # A zombie has exited already; only its parent can reap it.
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def teardown(prefix: str, rundir: Path, extra_pids: list[int] | None = None) -> list[str]:
    """Remove every process, namespace and root-namespace link of the lab. Idempotent.

    Returns what was removed, for the user.
    """
    if not prefix.startswith(DEFAULT_PREFIX):
        raise NetnsError(f"refusing to tear down names outside {DEFAULT_PREFIX}*: {prefix!r}")
    removed: list[str] = []
    namespaces = list_namespaces(prefix)
    pids: list[int] = []
    for ns in namespaces:
        pids += ns_pids(ns)
    pids += rundir_pids(rundir)
    # A recorded pid is only trusted if it still looks like ours (pids get reused).
    pids += [p for p in extra_pids or [] if p in pids]
    pids = [p for p in set(pids) if pid_alive(p)]
    if pids:
        kill_pids(pids)
        removed.append(f"{len(pids)} process(es)")
    for ns in namespaces:
        run(["ip", "netns", "del", ns], check=False)
    if namespaces:
        removed.append(f"{len(namespaces)} namespace(s)")
    links = list_root_links(prefix)
    for link in links:
        run(["ip", "link", "del", link], check=False)
    if links:
        removed.append(f"{len(links)} link(s)")
    if rundir.exists():
        shutil.rmtree(rundir, ignore_errors=True)
        removed.append(f"run directory {rundir}")
    return removed
