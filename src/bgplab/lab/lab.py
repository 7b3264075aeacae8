"""One lab instance: build it, run its speakers, remember it, tear it down.

State (topology, scenario, speakers, sockets, pids) is saved to
``<rundir>/state.json`` so that separate ``bgplab lab …`` invocations work on
the same lab. The nodes' Calico datastore lives in ``<rundir>/calico/``:
seeded at ``up``, changed by ``bgplab calico``, with each node's speaker
recorded in its runtime section so ``bgplab calico`` can reconfigure it. The user's lab lives in ``/run/bgplab/lab`` with namespace
prefix ``bgplab-``; tests use their own run directory and prefix.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bgplab.calico.datastore import Datastore
from bgplab.errors import UserError
from bgplab.lab import netns
from bgplab.lab.container import remove_prefixed as remove_containers
from bgplab.lab.expect import KRoute, parse_ip_json
from bgplab.lab.nodeconf import render_node_configs, renderer_name, seed_datastore
from bgplab.lab.routerconf import router_config
from bgplab.lab.routerconf6 import router_config6
from bgplab.lab.scenarios import Scenario, get_scenario
from bgplab.lab.speakers import SpeakerError, SpeakerInfo, start_speaker, start_speaker6
from bgplab.lab.topology import Topology, load_topology

DEFAULT_RUNDIR = Path("/run/bgplab/lab")
STATE_FILE = "state.json"
CALICO_DIR = "calico"
RUNDIR_ENV = "BGPLAB_LAB_RUNDIR"


def lab_rundir() -> Path:
    """The user's lab run directory (``BGPLAB_LAB_RUNDIR`` moves it, as tests do)."""
    return Path(os.environ.get(RUNDIR_ENV) or DEFAULT_RUNDIR)


def calico_state_dir(rundir: Path | None = None) -> Path | None:
    """The running lab's Calico datastore directory, or None when no lab is up."""
    rundir = lab_rundir() if rundir is None else rundir
    state = rundir / CALICO_DIR
    if (rundir / STATE_FILE).exists() and (state / "state.json").exists():
        return state
    return None


Progress = Callable[[str], None]


@dataclass(frozen=True)
class Pod:
    name: str
    node: str
    netns: str
    address: str
    subnet: str
    address6: str | None = None  # dual stack


class Lab:
    def __init__(
        self,
        topo: Topology,
        scenario: Scenario,
        router_speaker: str = "bird",
        node_speaker: str = "bird",
        prefix: str = netns.DEFAULT_PREFIX,
        rundir: Path = DEFAULT_RUNDIR,
    ):
        if not scenario.dual_stack:
            topo = topo.without_ipv6()  # an IPv4 scenario builds the IPv4 lab only
        elif not topo.dual_stack:
            raise UserError(
                f"scenario {scenario.name} needs an IPv6 plan in the topology "
                "(subnets[].cidr6, address6, block6: see docs/lab-dualstack.md)"
            )
        elif len(topo.routers) != 1:
            raise UserError(
                f"scenario {scenario.name} supports one router (this topology has "
                f"{len(topo.routers)}); the IPv6 side of several routers is not built yet"
            )
        self.topo = topo
        self.scenario = scenario
        self.router_speaker = router_speaker
        self.node_speaker = node_speaker
        self.names = netns.Names(prefix)
        self.rundir = rundir
        self.speakers: dict[str, SpeakerInfo] = {}
        self.speakers6: dict[str, SpeakerInfo] = {}  # dual stack: each host's IPv6 daemon
        self.renderer = renderer_name()
        self.started = 0.0

    # ------------------------------------------------------------------ state

    @property
    def state_path(self) -> Path:
        return self.rundir / STATE_FILE

    def save(self) -> None:
        self.rundir.mkdir(parents=True, exist_ok=True)
        src = self.topo.source
        state = {
            "topology": str(src) if src else None,
            "scenario": self.scenario.name,
            "router_speaker": self.router_speaker,
            "node_speaker": self.node_speaker,
            "prefix": self.names.prefix,
            "rundir": str(self.rundir),
            "renderer": self.renderer,
            "started": self.started,
            "speakers": {h: s.to_json() for h, s in self.speakers.items()},
        }
        if self.speakers6:
            state["speakers6"] = {h: s.to_json() for h, s in self.speakers6.items()}
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.state_path)

    @classmethod
    def load(cls, rundir: Path = DEFAULT_RUNDIR) -> Lab:
        path = rundir / STATE_FILE
        try:
            state: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            raise UserError("no lab is up (start one with: bgplab lab up)") from None
        except (OSError, ValueError) as exc:
            raise UserError(
                f"lab state {path} is unreadable ({exc}); run: bgplab lab down"
            ) from None
        lab = cls(
            load_topology(state.get("topology")),
            get_scenario(state["scenario"]),
            state["router_speaker"],
            state["node_speaker"],
            state["prefix"],
            Path(state["rundir"]),
        )
        lab.renderer = state.get("renderer", lab.renderer)
        lab.started = float(state.get("started", 0.0))
        lab.speakers = {h: SpeakerInfo(**s) for h, s in state.get("speakers", {}).items()}
        lab.speakers6 = {h: SpeakerInfo(**s) for h, s in state.get("speakers6", {}).items()}
        return lab

    # ------------------------------------------------------------------ hosts

    def host_ns(self, host: str) -> str:
        if host in self.topo.host_names():
            return self.names.host(host)
        for pod in self.pods():
            if pod.name == host:
                return pod.netns
        choices = ", ".join(self.topo.host_names())
        raise UserError(f"no host or pod named {host!r} (hosts: {choices}; pods: <node>-pod<N>)")

    def pods(self) -> list[Pod]:
        out = []
        for n in self.topo.nodes:
            for i, name in enumerate(n.pod_names()):
                a6 = str(n.pod_address6(i)) if n.block6 is not None else None
                out.append(
                    Pod(
                        name, n.name, self.names.pod(name), str(n.pod_address(i)), n.subnet.name, a6
                    )
                )
        return out

    def exec(
        self, host: str, argv: list[str], timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            netns.in_ns(self.host_ns(host), argv), capture_output=True, text=True, timeout=timeout
        )

    def routes(self, host: str, family: int = 4) -> set[KRoute]:
        """The host's ``proto bird`` routes, from ``ip -j route`` (``ip -6`` for family 6)."""
        res = subprocess.run(
            ["ip", f"-{family}", "-n", self.host_ns(host), "-j", "route", "show", "proto", "bird"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if res.returncode != 0:
            raise UserError(f"cannot read routes of {host}: {res.stderr.strip()}")
        return parse_ip_json(json.loads(res.stdout or "[]"), family)

    def route_text(self, host: str, family: int = 4) -> str:
        return self.exec(host, ["ip", f"-{family}", "route"]).stdout

    def speaker_kind(self, host: str) -> str:
        return self.router_speaker if self.topo.is_router(host) else self.node_speaker

    # ------------------------------------------------------------------ lifecycle

    def existing(self) -> list[str]:
        return netns.list_namespaces(self.names.prefix)

    def up(self, progress: Progress | None = None) -> None:
        say = progress or (lambda _msg: None)
        if self.state_path.exists() or self.existing():
            raise UserError(
                "a lab is already up (see: bgplab lab status; remove it: bgplab lab down)"
            )
        self.rundir.mkdir(parents=True, exist_ok=True)
        self.started = time.time()
        self.save()  # so a crash half-way is still found by `down`
        try:
            # A fresh datastore: nothing left over from a lab that died before its state.
            shutil.rmtree(self.rundir / CALICO_DIR, ignore_errors=True)
            seed_datastore(self.calico(), self.topo, list(self.scenario.service_cidrs))
            for desc, action in netns.build_steps(self.topo, self.names):
                say(desc)
                action()
            for r in self.topo.routers:
                self.start_router(say, name=r.name)
            for node in self.topo.nodes:
                self.start_node(node.name, say)
            self.save()
        except BaseException:
            self.down()
            raise

    def calico(self) -> Datastore:
        """The lab's Calico datastore (``<rundir>/calico``), as ``bgplab calico`` sees it."""
        return Datastore(self.rundir / CALICO_DIR)

    def config_files(self, host: str) -> tuple[dict[str, str], str]:
        """(files, main file name) of a host's speaker config."""
        kind = self.speaker_kind(host)
        if self.topo.is_router(host):
            conf = router_config(self.topo, self.scenario.router_kind, self.topo.router_named(host))
            return {"bird.conf": conf}, "bird.conf"
        node = self.topo.node(host)
        ds = self.calico()
        if not ds.nodes():  # a lab saved before it had a datastore
            seed_datastore(ds, self.topo, list(self.scenario.service_cidrs))
        files = render_node_configs(
            self.topo,
            node,
            list(self.scenario.service_cidrs),
            self.scenario.per_pod_routes,
            kind,
            ds,
        )
        return files, "bird.cfg"

    def config_files6(self, host: str) -> tuple[dict[str, str], str]:
        """Dual stack: (files, main file name) of a host's IPv6 daemon: the router's
        bird6.conf, or the node's files from Calico's rendering (bird6.cfg and its includes)."""
        if self.topo.is_router(host):
            conf6 = router_config6(self.topo, self.topo.router_named(host))
            return {"bird6.conf": conf6}, "bird6.conf"
        files, _main = self.config_files(host)
        if "bird6.cfg" not in files:
            raise SpeakerError(f"{host}: the Calico emulator rendered no bird6.cfg")
        return {k: v for k, v in files.items() if k.startswith("bird6")}, "bird6.cfg"

    def start_router(
        self, say: Progress | None = None, recover: bool = False, name: str | None = None
    ) -> None:
        """Start a router's speaker (default: the first router)."""
        self._start(name or self.topo.router.name, say, recover)

    def start_node(self, name: str, say: Progress | None = None) -> None:
        self._start(name, say, False)

    def _start(self, host: str, say: Progress | None, recover: bool) -> None:
        kind = self.speaker_kind(host)
        if say:
            say(f"{kind} on {host}")
        files, main = self.config_files(host)
        ns, workdir = self.names.host(host), self.rundir / host
        start6 = None
        if self.topo.dual_stack:
            # bird6 beside bird (bgplabd6 beside bgplabd), started at the same time as
            # systemd (bird.service, bird6.service) and calico-node's runit do; each
            # daemon writes only its own family's files.
            files6, main6 = self.config_files6(host)
            files = {k: v for k, v in files.items() if k not in files6}
            pool = ThreadPoolExecutor(max_workers=1)
            start6 = pool.submit(start_speaker6, host, kind, ns, workdir, files6, main6, recover)
            pool.shutdown(wait=False)
        try:
            info = start_speaker(host, kind, ns, workdir, files, main, recover=recover)
            self.speakers[host] = info
        finally:
            if start6 is not None:
                self.speakers6[host] = start6.result()
            self.save()
        if not self.topo.is_router(host):
            # Where `bgplab calico` finds this node's speaker (agent.reconfigure_running).
            self.calico().set_runtime(
                host,
                socket=info.socket,
                workdir=info.workdir,
                etc=info.workdir,
                config=info.config,
                files=sorted(files),
                pid=info.pid,
                speaker=kind,
                netns=info.netns,
                per_pod_routes=self.scenario.per_pod_routes,
            )

    def stop_speaker(self, host: str, hard: bool = False) -> None:
        """Stop one speaker (both daemons of a dual-stack host): SIGTERM (clean shutdown)
        or SIGKILL (a crash)."""
        pids = [i.pid for i in (self.speakers.get(host), self.speakers6.get(host)) if i]
        if not pids:
            return
        if hard:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while any(netns.pid_alive(p) for p in pids) and time.monotonic() < deadline:
                time.sleep(0.02)
        else:
            netns.kill_pids(pids)

    def speaker_alive(self, host: str) -> bool:
        info = self.speakers.get(host)
        return info is not None and netns.pid_alive(info.pid)

    def speaker6_alive(self, host: str) -> bool:
        info = self.speakers6.get(host)
        return info is not None and netns.pid_alive(info.pid)

    def down(self) -> list[str]:
        pids = [s.pid for s in [*self.speakers.values(), *self.speakers6.values()]]
        removed = remove_containers(self.names.prefix)
        return removed + netns.teardown(self.names.prefix, self.rundir, pids)


def down_any(rundir: Path = DEFAULT_RUNDIR, prefix: str = netns.DEFAULT_PREFIX) -> list[str]:
    """``bgplab lab down``: works with a state file, a broken one, or none at all."""
    pids: list[int] = []
    try:
        state = json.loads((rundir / STATE_FILE).read_text())
        prefix = state.get("prefix", prefix)
        pids = [int(s["pid"]) for s in state.get("speakers", {}).values()]
        pids += [int(s["pid"]) for s in state.get("speakers6", {}).values()]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return remove_containers(prefix) + netns.teardown(prefix, rundir, pids)
