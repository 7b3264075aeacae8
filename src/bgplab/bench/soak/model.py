"""The soak's options, what each peer announces, and the end-state check."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address

from bgplab import net as netmod
from bgplab.bench.targets import bird1_config
from bgplab.errors import UserError

ASN = 63400
PATH_ID = 1  # each peer announces one path per prefix
CONNECT_CONCURRENCY = 8  # handshakes in flight (a listen backlog is small)
NH_BASE = int(IPv4Address("198.18.0.0"))  # next hops: data only, never installed
BLOCK_BASE = int(IPv4Address("10.64.0.0"))  # peer i owns 10.64.0.0 + 64*i /26

Owned = tuple[int, int]  # (owner peer index, version): what a route should say


# ------------------------------------------------------------------ options


@dataclass
class SoakOptions:
    peers: int = 300
    minutes: float = 10.0
    rate: float = 50.0  # churn events per second, all peers together
    pods: int = 4  # /32s per peer besides its /26
    flap_every: float = 5.0  # seconds between session flaps (0: none)
    addr: str = "127.30.0.1"  # the reflector
    peer_base: str = "127.30.1.1"  # first peer address
    hold: int = 90
    settle: float = 120.0  # longest wait for the end state after churn
    quiet: float = 3.0  # no UPDATE for this long = the reflector is done
    converge_timeout: float = 0.0  # 0: derived from the number of peers
    seed: int = 1
    verbose: bool = False

    def validate(self) -> None:
        if self.peers < 2:
            raise UserError("--peers must be at least 2")
        if self.peers > 60000:
            raise UserError("--peers must be at most 60000")
        if self.minutes <= 0:
            raise UserError("--minutes must be positive")
        if self.rate < 0:
            raise UserError("--rate must not be negative")
        if not 0 <= self.pods <= 62:
            raise UserError("--pods must be between 0 and 62 (they live in the peer's /26)")
        if self.flap_every < 0:
            raise UserError("--flap-every must not be negative")
        if not 3 <= self.hold <= 65535:
            raise UserError("--hold must be between 3 and 65535")
        for name, text in (("--addr", self.addr), ("--peer-base", self.peer_base)):
            try:
                a = IPv4Address(text)
            except ValueError:
                raise UserError(f"{name}: invalid IPv4 address {text!r}") from None
            if not a.is_loopback:
                raise UserError(f"{name} {text}: soak traffic stays on loopback (127.0.0.0/8)")
        addrs = peer_addrs(self.peer_base, self.peers)
        if not IPv4Address(addrs[-1]).is_loopback:
            raise UserError(f"{self.peers} peers from {self.peer_base} run past 127.255.255.255")
        if self.addr in addrs:
            raise UserError(f"--addr {self.addr} is among the peer addresses")


def peer_addrs(base: str, n: int) -> list[str]:
    """``n`` consecutive addresses from ``base``, skipping .0 and .255."""
    out: list[str] = []
    a = int(IPv4Address(base))
    while len(out) < n and a <= 0xFFFFFFFF:
        if a & 0xFF not in (0, 255):
            out.append(str(IPv4Address(a)))
        a += 1
    return out


def peer_nets(i: int, pods: int) -> list[int]:
    """Peer ``i``'s routes: its /26 block and ``pods`` /32s inside it."""
    block = BLOCK_BASE + 64 * i
    return [netmod.make(block, 26)] + [netmod.make(block + 1 + j, 32) for j in range(pods)]


def next_hop(i: int) -> IPv4Address:
    return IPv4Address(NH_BASE + 1 + i)


def reflector_config(opts: SoakOptions, addrs: list[str]) -> str:
    """The benchmark's reflector configuration, with the soak's hold time."""
    return bird1_config(opts.addr, 179, addrs, hold=opts.hold, template="soak", proto_prefix="peer")


# ------------------------------------------------------------------ checking


@dataclass
class Check:
    expected: int = 0
    held: int = 0
    lost: int = 0
    duplicated: int = 0
    stale: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, other: Check) -> None:
        self.expected += other.expected
        self.held += other.held
        self.lost += other.lost
        self.duplicated += other.duplicated
        self.stale += other.stale
        room = 10 - len(self.examples)
        if room > 0:
            self.examples.extend(other.examples[:room])


def check_peer(
    me: int, current: dict[int, Owned], rib: dict[int, dict[int, Owned]], name: str = ""
) -> Check:
    """Compare what peer ``me`` holds (net -> path id -> (owner, version))
    with the routes it must hold: every entry of ``current`` (net -> (owner,
    version) of all peers with a session) that another peer owns."""
    c = Check()
    for net, want in current.items():
        if want[0] == me:
            continue
        c.expected += 1
        if not rib.get(net):
            c.lost += 1
            if len(c.examples) < 3:
                c.examples.append(f"{name}: lost {netmod.to_str(net)} (from peer {want[0]})")
    for net, paths in rib.items():
        c.held += len(paths)
        exp = current.get(net)
        if exp is not None and exp[0] == me:
            exp = None  # its own route: never expected back
        right = sum(1 for v in paths.values() if v == exp)
        wrong = len(paths) - right
        c.stale += wrong
        c.duplicated += max(0, right - 1)
        if (wrong or right > 1) and len(c.examples) < 3:
            what = "stale" if wrong else "duplicated"
            c.examples.append(
                f"{name}: {what} {netmod.to_str(net)} paths {sorted(paths.items())}, want {exp}"
            )
    return c
