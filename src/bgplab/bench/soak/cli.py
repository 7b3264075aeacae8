"""``bgplab soak``: the report and the command line."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from dataclasses import asdict

from bgplab.bench.soak.model import SoakOptions
from bgplab.bench.soak.run import SoakResult, run_soak
from bgplab.errors import UserError

# ------------------------------------------------------------------ report


def format_report(res: SoakResult) -> str:
    o = res.options
    s = res.stats
    peers = int(o.get("peers", 0))  # type: ignore[call-overload]
    lines = [
        f"bgplab soak, {res.date}",
        f"  {peers} peers x {res.routes_per_peer} routes (one /26 + {o.get('pods')} /32), "
        f"{o.get('minutes')} min churn at {o.get('rate')} events/s, "
        f"flap every {o.get('flap_every')} s, reflector {o.get('addr')}",
    ]
    if s:
        lines.append(
            f"  events: {s['withdraws']} withdraws, {s['announces']} re-announces, "
            f"{s['replaces']} attribute changes, {s['bounces']} withdraw+re-announce at once, "
            f"{s['flaps']} session flaps"
        )
        lines.append(
            f"  sessions: {s['established']} establishments, {s['drops']} unexpected drops, "
            f"{s['notifications']} NOTIFICATIONs received, {s['hold_expired']} hold expiries, "
            f"{s['malformed']} faulty UPDATEs, {s['reflected_own']} own routes reflected back"
        )
    if res.converge_s:
        lines.append(f"  first convergence: {res.converge_s:.1f} s")
    if res.rss_start_mb:
        samples = " ".join(f"{v:.0f}" for v in res.rss_samples_mb)
        lines.append(
            f"  bgplabd RSS: start {res.rss_start_mb:.1f} MiB, end {res.rss_end_mb:.1f} MiB, "
            f"peak (VmHWM) {res.rss_peak_mb:.1f} MiB; CPU {res.cpu_s:.1f} s "
            f"({res.cpu_churn_s:.1f} s during churn+settle)"
        )
        lines.append(f"  RSS every 30 s (MiB): {samples}")
    if res.lost >= 0:
        quiet = "quiet" if res.quiet_reached else "NOT quiet (settle timeout)"
        lines.append(
            f"  end state after {res.settle_s:.1f} s settle ({quiet}): "
            f"{res.expected} routes expected, {res.held} held"
        )
        lines.append(f"  lost {res.lost}, duplicated {res.duplicated}, stale {res.stale}")
        for e in res.examples[:5]:
            lines.append(f"    {e}")
    if res.error:
        lines.append(f"  error: {res.error}")
    for n in res.notes[:5]:
        lines.append(f"  note: {n}")
    lines.append("  result: " + ("PASS" if res.passed else "FAIL"))
    return "\n".join(lines)


# ------------------------------------------------------------------ command line


def register(parser: argparse.ArgumentParser) -> None:
    d = SoakOptions()
    parser.add_argument("--minutes", type=float, default=d.minutes, help="churn time (default 10)")
    parser.add_argument("--peers", type=int, default=d.peers, help="scripted peers (default 300)")
    parser.add_argument(
        "--rate", type=float, default=d.rate, help=f"churn events/s in total (default {d.rate:g})"
    )
    parser.add_argument(
        "--pods", type=int, default=d.pods, help=f"/32s per peer besides its /26 (default {d.pods})"
    )
    parser.add_argument(
        "--flap-every",
        type=float,
        default=d.flap_every,
        metavar="S",
        help=f"flap one session every S seconds, 0 for none (default {d.flap_every:g})",
    )
    parser.add_argument("--addr", default=d.addr, help=f"reflector address (default {d.addr})")
    parser.add_argument(
        "--peer-base", default=d.peer_base, help=f"first peer address (default {d.peer_base})"
    )
    parser.add_argument("--hold", type=int, default=d.hold, help=f"hold time (default {d.hold})")
    parser.add_argument(
        "--settle",
        type=float,
        default=d.settle,
        metavar="S",
        help=f"longest wait for the end state (default {d.settle:g})",
    )
    parser.add_argument("--seed", type=int, default=d.seed, help="random seed (default 1)")
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="print session events")
    parser.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    opts = SoakOptions(
        peers=args.peers,
        minutes=args.minutes,
        rate=args.rate,
        pods=args.pods,
        flap_every=args.flap_every,
        addr=args.addr,
        peer_base=args.peer_base,
        hold=args.hold,
        settle=args.settle,
        seed=args.seed,
        verbose=args.verbose,
    )
    opts.validate()
    if os.geteuid() != 0:
        raise UserError("the soak binds port 179: run it as root")

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    # SIGTERM ends the run like Ctrl-C: the daemon is stopped on the way out
    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        res = run_soak(opts, log)
    finally:
        signal.signal(signal.SIGTERM, old)
    print(format_report(res))
    if args.json:
        try:
            with open(args.json, "w") as f:
                json.dump(asdict(res), f, indent=1)
        except OSError as exc:
            raise UserError(f"cannot write {args.json}: {exc.strerror}") from None
    return 0 if res.passed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bgplab soak", description="bounded churn soak of bgplabd as route reflector"
    )
    register(parser)
    args = parser.parse_args(argv)
    try:
        return run_command(args)
    except UserError as exc:
        print(f"bgplab soak: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bgplab soak: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
