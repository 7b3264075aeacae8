"""What one UPDATE's fan-out costs the writer: the same small message written
to N loopback TCP sockets, measured outside any daemon.

Under churn, bgplabd's median delay at 1,000 events/s is the time a flush
takes to write to every member (docs/bench.md, issue 15). This isolates the
write itself, so its cost and the levers on it can be compared on the
machine at hand. The sockets have ``TCP_NODELAY``, as asyncio sets on
every transport: each write leaves as a segment, and on loopback the
receiver's input runs inside the writer's system call. The members are
written from one thread, or split over two (a write releases the GIL for
its system call), to see whether a second writer shortens the fan-out.

The receiving ends live in a child process that reads them with one epoll,
as the load generator does, and counts the bytes: a run whose receiver did
not get every byte is an error, not a number.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bgplab.bench.loadgen import raise_nofile

# A KEEPALIVE-sized header and a small UPDATE body: what churn sends a member.
BLOB = b"\xff" * 16 + (60).to_bytes(2, "big") + b"\x02" + bytes(41)
# Pause between fan-outs: events at about 500/s, so the receiver keeps up.
GAP = 0.002
ROUNDS = 1000  # fan-outs a run


@dataclass(frozen=True)
class FanoutResult:
    members: int
    threads: int
    rounds: int
    durations: list[float]  # seconds per fan-out, sorted

    def quantile(self, q: float) -> float:
        d = self.durations
        return d[min(len(d) - 1, int(len(d) * q))]

    @property
    def per_write_us(self) -> float:
        return self.quantile(0.5) / self.members * 1e6

    @property
    def label(self) -> str:
        return _label(self.threads)


def _label(threads: int) -> str:
    return f"{threads} thread{'s' if threads > 1 else ''}"


def _receive(listener: socket.socket, members: int, done: int, report: int) -> None:
    """The child: accept every member, read until each closes, then write the
    byte count to ``report``."""
    ep = select.epoll()
    for _ in range(members):
        conn, _addr = listener.accept()
        conn.setblocking(False)
        ep.register(conn.detach(), select.EPOLLIN)
    listener.close()
    os.close(done)
    got = 0
    open_fds = members
    while open_fds:
        for fd, _ev in ep.poll():
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if data:
                got += len(data)
            else:
                ep.unregister(fd)
                os.close(fd)
                open_fds -= 1
    os.write(report, str(got).encode())


def _write_all(fds: list[int], blob: bytes) -> None:
    write = os.write
    for fd in fds:
        if write(fd, blob) != len(blob):  # blocking sockets: a short write is a fault
            raise OSError("short write")


def _rounds_one(fds: list[int], rounds: int, gap: float) -> list[float]:
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        _write_all(fds, BLOB)
        out.append(time.perf_counter() - t)
        time.sleep(gap)
    return out


def _rounds_two(fds: list[int], rounds: int, gap: float) -> list[float]:
    """The second half of the members on a helper thread, both halves at once."""
    half = len(fds) // 2
    mine, theirs = fds[:half], fds[half:]
    go = threading.Semaphore(0)
    done = threading.Semaphore(0)
    failed: list[BaseException] = []

    def helper() -> None:
        for _ in range(rounds):
            go.acquire()
            try:
                _write_all(theirs, BLOB)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                failed.append(exc)
            done.release()

    th = threading.Thread(target=helper, name="fanout-helper", daemon=True)
    th.start()
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        go.release()
        _write_all(mine, BLOB)
        done.acquire()
        out.append(time.perf_counter() - t)
        if failed:
            raise failed[0]
        time.sleep(gap)
    th.join()
    return out


def measure_fanout(members: int, rounds: int, threads: int = 1,
                   gap: float = GAP) -> FanoutResult:
    """Time ``rounds`` fan-outs of :data:`BLOB` to ``members`` sockets."""
    if members < 2 or rounds < 1 or threads not in (1, 2):
        raise ValueError("need at least 2 members, 1 round, and 1 or 2 threads")
    # each member is a socket here and one in the child, as for the load generator
    raise_nofile(members + 64)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(members)
    port = listener.getsockname()[1]
    ready_r, ready_w = os.pipe()
    report_r, report_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        code = 1
        try:
            os.close(ready_r)
            os.close(report_r)
            _receive(listener, members, ready_w, report_w)
            code = 0
        finally:
            os._exit(code)
    os.close(ready_w)
    os.close(report_w)
    listener.close()
    socks: list[socket.socket] = []
    done = False
    try:
        for _ in range(members):
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            socks.append(s)
        os.read(ready_r, 1)  # EOF once the child has accepted them all
        fds = [s.fileno() for s in socks]
        run = _rounds_one if threads == 1 else _rounds_two
        durations = sorted(run(fds, rounds, gap))
        done = True
    finally:
        for s in socks:
            s.close()
        if not done:  # the child may still wait in accept() for members that never came
            os.kill(pid, signal.SIGKILL)
        os.close(ready_r)
        got = os.read(report_r, 64)
        os.close(report_r)
        _, status = os.waitpid(pid, 0)
    want = members * rounds * len(BLOB)
    if os.waitstatus_to_exitcode(status) != 0 or int(got or b"0") != want:
        raise OSError(f"the receiver got {int(got or b'0'):,} of {want:,} bytes")
    return FanoutResult(members, threads, rounds, durations)


THREADS = (1, 2)


def run(members: int, repeat: int, rounds: int = ROUNDS,
        log: Callable[[str], None] = print) -> list[FanoutResult]:
    """Every variant ``repeat`` times, alternating, and a table of them."""
    results = []
    for _ in range(repeat):
        for threads in THREADS:
            results.append(measure_fanout(members, rounds, threads))
    log(f"fan-out of a {len(BLOB)}-byte message to {members} loopback TCP sockets, "
        f"{rounds} rounds a run")
    log("| writers | run | p50 ms | p90 ms | us per write (p50) |")
    log("|---|---|---|---|---|")
    for i, r in enumerate(results):
        log(f"| {r.label} | {i // len(THREADS) + 1} | {r.quantile(0.5) * 1e3:.3f} | "
            f"{r.quantile(0.9) * 1e3:.3f} | {r.per_write_us:.2f} |")
    medians = {t: statistics.median(r.quantile(0.5) for r in results if r.threads == t)
               for t in THREADS}
    one = medians[1]
    log("median p50 over the runs: " + ", ".join(
        f"{_label(t)} {m * 1e3:.3f} ms ({m / one:.2f}x)" for t, m in medians.items()))
    return results
