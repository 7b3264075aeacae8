"""``bgplabd -u USER -g GROUP``: give up root after start-up, as ``bird -u -g`` does.

The daemon keeps only what it needs afterwards: CAP_NET_ADMIN (routes over
netlink), CAP_NET_BIND_SERVICE (BGP's port 179, also after ``configure``
moves the listener) and CAP_NET_RAW (TTL security). BIRD 1.6 keeps
CAP_NET_BROADCAST too, for RIP and OSPF on broadcast links; bgplabd speaks
neither. The three stay in the permitted and effective sets; the
inheritable and ambient sets are empty (the daemon runs no other program)
and, when the daemon may still change it, the bounding set is cut down to
the same three, so nothing it could ever exec gains more.

The order is BIRD's (sysdep/linux/syspriv.h): group first (``setgid`` and
no supplementary groups), then ``PR_SET_KEEPCAPS`` so the permitted set
survives ``setresuid``, then ``capset`` to raise the kept capabilities into
the effective set again. ``capset`` acts on the calling thread only, so
this must run before any thread exists (before the event loop's executor
or the metrics server).

Done with ``prctl`` and ``capset`` from the C library through ctypes: no
compiled extension (the router image has no compiler) and nothing to keep
up to date; python-prctl would give the same with a C build.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import grp
import importlib
import logging
import os
import pwd
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

CAP_SETPCAP = 8
CAP_NET_BIND_SERVICE = 10
CAP_NET_BROADCAST = 11
CAP_NET_ADMIN = 12
CAP_NET_RAW = 13
KEEP = (CAP_NET_ADMIN, CAP_NET_BIND_SERVICE, CAP_NET_RAW)
CAP_NAMES = {
    CAP_NET_ADMIN: "CAP_NET_ADMIN",
    CAP_NET_BIND_SERVICE: "CAP_NET_BIND_SERVICE",
    CAP_NET_BROADCAST: "CAP_NET_BROADCAST",
    CAP_NET_RAW: "CAP_NET_RAW",
}

PR_SET_KEEPCAPS = 8
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

log = logging.getLogger("bgplab")

SOCKET_DIR_MODE = 0o750  # a socket directory we create: owner and its group only


class PrivilegeError(Exception):
    """An unknown user or group, or a step of the drop that the kernel refused."""


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise PrivilegeError(f"{what}: {os.strerror(err)}")


def mask(caps: tuple[int, ...]) -> int:
    out = 0
    for c in caps:
        out |= 1 << c
    return out


def set_capabilities(caps: tuple[int, ...]) -> None:
    """Permitted = effective = ``caps``, inheritable empty (this thread)."""
    m = mask(caps)
    hdr = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    data[0].effective = data[0].permitted = m & 0xFFFFFFFF
    data[1].effective = data[1].permitted = m >> 32
    _check(_libc().capset(ctypes.byref(hdr), data), "capset")


def _prctl(option: int, arg: int, what: str) -> None:
    libc = _libc()
    _check(libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), what)


def _last_cap() -> int:
    try:
        return int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    except (OSError, ValueError):
        return 40


def read_caps(pid: int | str = "self") -> dict[str, int]:
    """``CapInh``/``CapPrm``/``CapEff``/``CapBnd``/``CapAmb`` of a process, as masks."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.startswith("Cap"):
            out[key] = int(value.strip(), 16)
    return out


@dataclass(frozen=True)
class Plan:
    """Who the daemon becomes: resolved before anything changes."""

    uid: int | None
    gid: int | None
    user: str | None
    group: str | None


def plan(user: str | None, group: str | None) -> Plan:
    """Resolve ``-u``/``-g`` (names or numbers); a bad one is one clear error."""
    uid = gid = None
    if user:
        try:
            uid = int(user) if user.isdigit() else pwd.getpwnam(user).pw_uid
        except KeyError:
            raise PrivilegeError(f"Cannot find user '{user}'") from None
    if group:
        try:
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
        except KeyError:
            raise PrivilegeError(f"Cannot find group '{group}'") from None
    return Plan(uid, gid, user, group)


def prepare_socket_dir(path: str, p: Plan) -> None:
    """The control socket is created after the drop, by the new user: its
    directory must let that user in. A missing one is created (owner the new
    user, group the new group, mode 0750); an existing one is left alone and
    must already be writable for that user."""
    if p.uid is None and p.gid is None:
        return
    d = Path(path).parent if Path(path).parent != Path("") else Path(".")
    uid = os.getuid() if p.uid is None else p.uid
    gid = os.getgid() if p.gid is None else p.gid
    if not d.exists():
        d.mkdir(parents=True, mode=SOCKET_DIR_MODE)
        os.chown(d, uid, gid)
        return
    st = d.stat()
    if uid == 0:
        return
    writable = (
        (st.st_uid == uid and st.st_mode & stat.S_IWUSR)
        or (st.st_gid == gid and st.st_mode & stat.S_IWGRP)
        or st.st_mode & stat.S_IWOTH
    )
    if not writable:
        raise PrivilegeError(
            f"Control socket directory {d} is not writable for user {p.user or uid} "
            f"(chown it, or let bgplabd create it)"
        )


# The daemon's code: a Python daemon, unlike BIRD's binary, loads modules lazily, and the
# dropped user may not be able to read an installation under /root (pyenv, a root venv).
PRELOAD_PACKAGES = ("bgplab.io", "bgplab.protocols", "bgplab.cli", "bgplab.rib",
                    "bgplab.filters", "bgplab.config", "bgplab.bgp")  # fmt: skip
# standard modules that asyncio and our code import only when first used
PRELOAD_STDLIB = ("concurrent.futures.thread", "json", "encodings.idna", "fnmatch",
                  "ipaddress", "logging.handlers", "selectors", "ssl")  # fmt: skip


def preload() -> None:
    """Import what the daemon may need after the drop, while it can still read it."""
    import pkgutil  # here: only a daemon that drops privileges walks its packages

    for name in PRELOAD_STDLIB:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    for pkg_name in PRELOAD_PACKAGES:
        pkg = importlib.import_module(pkg_name)
        for info in pkgutil.walk_packages(pkg.__path__, pkg_name + "."):
            with contextlib.suppress(ImportError):  # optional extras (uvloop, prometheus)
                importlib.import_module(info.name)


def drop(p: Plan, keep: tuple[int, ...] = KEEP) -> None:
    """Become ``p``'s group and user, keeping only ``keep``. Must run while the
    process has a single thread."""
    if p.uid is None and p.gid is None:
        return
    preload()
    if threading.active_count() != 1 or len(os.listdir("/proc/self/task")) != 1:
        raise PrivilegeError("cannot drop privileges: the daemon already runs threads")
    if p.uid not in (None, 0) and read_caps()["CapEff"] & (1 << CAP_SETPCAP):
        # the bounding set: nothing executed later can gain more than we keep
        for cap in range(_last_cap() + 1):
            if cap not in keep:
                _prctl(PR_CAPBSET_DROP, cap, "prctl(PR_CAPBSET_DROP)")
    # already that group (or user, below): `docker run --user bird` starts us as bird, with
    # the added capabilities as ambient ones (podman does that); then only trim the sets
    if p.gid is not None and not (
        os.getresgid() == (p.gid,) * 3 and set(os.getgroups()) <= {p.gid}
    ):
        try:
            os.setgroups([])
            os.setresgid(p.gid, p.gid, p.gid)
        except OSError as exc:
            raise PrivilegeError(f"setgid({p.gid}): {exc.strerror}") from None
    if p.uid is None or p.uid == 0:
        return
    # BIRD dies when one of them was never granted (`capset: Operation not permitted`);
    # we keep what we have and say what is missing, e.g. a container run without
    # --cap-add=NET_ADMIN still reflects routes but cannot program the kernel
    have = read_caps()["CapPrm"]
    missing = [c for c in keep if not have & (1 << c)]
    if missing:
        log.warning(
            "Running without %s: add it to the container or service (docs/container.md)",
            ", ".join(CAP_NAMES.get(c, f"cap{c}") for c in missing),
        )
        keep = tuple(c for c in keep if c not in missing)
    if os.getresuid() != (p.uid,) * 3:
        _prctl(PR_SET_KEEPCAPS, 1, "prctl(PR_SET_KEEPCAPS)")
        try:
            os.setresuid(p.uid, p.uid, p.uid)
        except OSError as exc:
            raise PrivilegeError(f"setuid({p.uid}): {exc.strerror}") from None
        _prctl(PR_SET_KEEPCAPS, 0, "prctl(PR_SET_KEEPCAPS)")
    set_capabilities(keep)
    # the daemon runs no other program: nothing to pass on (setresuid emptied it already;
    # a process started as the user may have it from its runtime)
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, "prctl(PR_CAP_AMBIENT)")


def cap_names(m: int) -> list[str]:
    """Names of the capabilities in a mask that this module knows by name."""
    return [CAP_NAMES.get(c, f"cap{c}") for c in range(64) if m & (1 << c)]
