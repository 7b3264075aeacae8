"""``bgplabc``: a birdc-compatible client for bgplabd (and for BIRD 1.6).

    bgplabc [-s SOCKET] [-r] [-v] [--json] [COMMAND ...]

With a command it runs it once and exits; without one it is interactive
(readline history and tab completion, ``?`` for help, like birdc).
Output is what birdc prints: reply codes stripped, continuation lines
without their leading space; ``-v`` shows the raw codes. A command that
fails exits 1 (birdc exits 0).

``?`` (or ``show ?``, ``conf ?``) lists the commands as birdc's ``?`` key
does, also as a one-shot command; ``help`` answers as birdc does.

``--json`` asks the daemon for a JSON document (bgplab extension) and
pretty-prints it: stdout carries only that document (no greeting), and any
error goes to stderr with exit status 1, so ``bgplabc --json show
protocols | jq .`` works.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import Callable

from bgplab import __version__
from bgplab.cli.commands import CommandError, complete, expand, help_lines

DEFAULT_SOCKET = "/run/bird/bird.ctl"
HISTORY = "~/.bgplabc_history"
HELP_HINT = "Press `?' for context sensitive help."  # birdc's answer to `help`


class Connection:
    """A line-oriented connection to a BIRD-protocol control socket."""

    def __init__(self, path: str, timeout: float | None = None) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if timeout is not None:
            self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.f = self.sock.makefile("rwb")

    def read_reply(self) -> list[str]:
        """Lines up to and including the final ``CCCC `` line."""
        lines = []
        while True:
            raw = self.f.readline()
            if not raw:
                raise ConnectionError("server closed the connection")
            text = raw.decode("utf-8", errors="replace").rstrip("\n")
            lines.append(text)
            if is_final(text):
                return lines

    def command(self, line: str) -> list[str]:
        self.f.write(line.encode() + b"\n")
        self.f.flush()
        return self.read_reply()

    def close(self) -> None:
        self.f.close()
        self.sock.close()


def is_final(text: str) -> bool:
    return len(text) >= 5 and text[:4].isdigit() and text[4] == " "


def format_line(x: str, verbose: bool) -> str | None:
    """How birdc prints one reply line (``None``: nothing)."""
    if x.startswith("+"):
        return f">>> {x[1:]}"
    if x.startswith(" "):
        return ("     " if verbose else "") + x[1:]
    if len(x) > 4 and x[:4].isdigit() and x[4] in " -":
        if int(x[:4]) == 0:
            return None
        return x if verbose else x[5:]
    return f"??? <{x}>"


def print_reply(lines: list[str], verbose: bool, out: Callable[[str], None]) -> None:
    for x in lines:
        text = format_line(x, verbose)
        if text is not None:
            out(text)


def json_reply(lines: list[str]) -> tuple[object | None, list[str]]:
    """The JSON document of a ``json …`` reply (its 1100 line and their
    continuations, concatenated), or the error lines."""
    body: list[str] = []
    code = ""
    for x in lines:
        if x[:4].isdigit() and x[4:5] in ("-", " "):
            code = x[:4]
            if code == "1100":
                body.append(x[5:])
        elif x.startswith(" ") and code == "1100":
            body.append(x[1:])
    if body:
        try:
            return json.loads("".join(body)), []
        except ValueError:
            pass
    return None, lines


def client_side(line: str) -> list[str] | None:
    """What birdc answers itself, without the daemon: ``?`` listings and ``help``."""
    if line.endswith("?"):
        return help_lines(line[:-1], client=True)
    if line.split() == ["help"]:
        return [HELP_HINT]
    return None


def run_one(
    conn: Connection,
    line: str,
    args: argparse.Namespace,
    out: Callable[[str], None],
    err: Callable[[str], None] | None = None,
) -> int:
    """Run one command line; ``err`` takes the error lines (default: ``out``, as birdc)."""
    err = err or out
    local = client_side(line.strip())
    if local is not None:
        for text in local:
            out(text)
        return 0
    try:
        cmd = expand(line)
    except CommandError as exc:
        err(exc.msg)
        return 1
    if args.json:
        if not cmd.startswith("show"):
            err(f"--json answers show commands only, not {cmd.split()[0]!r}")
            return 1
        lines = conn.command(f"json {cmd}")
        doc, errors = json_reply(lines)
        if doc is not None:
            out(json.dumps(doc, indent=2, sort_keys=False))
            return 0
        print_reply(errors, args.verbose, err)
        return 1
    lines = conn.command(cmd)
    last = lines[-1] if lines else ""
    failed = last[:1] in ("8", "9")
    print_reply(lines, args.verbose, err if failed else out)
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bgplabc",
        description="A birdc-compatible client for bgplabd (and BIRD 1.6): runs COMMAND once, "
        "or is interactive without one. '?' lists the commands.",
        epilog="examples: bgplabc -s /run/bird/bird.ctl show protocols; "
        "bgplabc --json show route for 10.0.0.1 | jq .; bgplabc '?'",
    )
    p.add_argument(
        "-s",
        dest="socket",
        default=DEFAULT_SOCKET,
        metavar="SOCKET",
        help="control socket path (default: %(default)s)",
    )
    p.add_argument(
        "-r", dest="restricted", action="store_true", help="restricted mode: show commands only"
    )
    p.add_argument("-v", dest="verbose", action="store_true", help="show raw reply codes")
    p.add_argument(
        "-l", dest="local", action="store_true", help="use bird.ctl in the current directory"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="answer show commands as one JSON document on stdout (errors on stderr, exit 1)",
    )
    p.add_argument("--version", action="version", version=f"bgplabc {__version__}")
    p.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        help="command to run once, abbreviations allowed (sh pro = show protocols)",
    )
    return p


def _interactive(conn: Connection, args: argparse.Namespace) -> int:
    try:
        import readline
    except ImportError:  # pragma: no cover - readline is in every CPython on Linux
        readline = None  # type: ignore[assignment]
    hist = os.path.expanduser(HISTORY)
    if readline is not None:
        with contextlib.suppress(OSError):
            readline.read_history_file(hist)

        def completer(text: str, state: int) -> str | None:
            buf = readline.get_line_buffer()[: readline.get_endidx()]
            opts = complete(buf)
            return (opts[state] + " ") if state < len(opts) else None

        readline.set_completer(completer)
        readline.set_completer_delims(" \t")
        readline.parse_and_bind("tab: complete")
    try:
        while True:
            try:
                line = input("bgplab> ")
            except EOFError:
                print()
                break
            except KeyboardInterrupt:
                print()
                continue
            line = line.strip()
            if not line:
                continue
            if line in ("exit", "quit"):
                break
            try:
                run_one(conn, line, args, print)
            except (ConnectionError, OSError) as exc:
                print(f"Error: {exc}", file=sys.stderr)
                return 1
    finally:
        if readline is not None:
            with contextlib.suppress(OSError):
                readline.write_history_file(hist)
    return 0


def _stderr(text: str) -> None:
    print(text, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the command line: `bgplabc ... | head` ends quietly, as birdc does
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = build_parser().parse_args(argv)
    path = "bird.ctl" if args.local else args.socket
    try:
        conn = Connection(path)
    except OSError as exc:
        print(
            f"Unable to connect to server control socket ({path}): {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    try:
        # --json: stdout is the document alone, so the greeting is not printed
        greeting = conn.read_reply()
        if not (args.json and args.command):
            print_reply(greeting, args.verbose, print)
        if args.restricted:
            reply = conn.command("restrict")
            if not args.json or reply[-1][:1] in ("8", "9"):
                print_reply(reply, args.verbose, _stderr if args.json else print)
        if args.command:
            return run_one(
                conn, " ".join(args.command), args, print, _stderr if args.json else None
            )
        return _interactive(conn, args)
    except (ConnectionError, OSError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
