"""The birdc command language: tokenizing, abbreviation, parsing, help.

:func:`parse` turns one command line into a :class:`Command` or raises
:class:`CommandError` carrying BIRD's reply code (``9001`` for syntax
errors). :func:`expand` does what birdc does before sending a line:
unique-prefix abbreviations of command words (``sh pro`` -> ``show
protocols``). :data:`COMMANDS` is the help table that ``?``, ``help`` and
tab completion use.

bgplab extensions, documented in ``help``: ``json <show command>`` (reply
as one JSON document, code 1100) and ``show route for PREFIX explain``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bgplab import net as netmod

MAX_LINE = 4096  # longer command lines are refused with 9000

# (words, arguments, description): what `help` and `?` print
COMMANDS: list[tuple[str, str, str]] = [
    ("configure", '[soft] ["<file>"]', "Reload configuration"),
    ("configure check", '["<file>"]', "Parse configuration and check its validity"),
    ("configure soft", '["<file>"]', "Reload configuration and ignore changes in filters"),
    (
        "debug",
        '(<protocol> | "<pattern>" | all) (all | off | { states | routes | filters'
        " | interfaces | events | packets })",
        "Control protocol debugging",
    ),
    ("disable", '<protocol> | "<pattern>" | all', "Disable protocol"),
    ("down", "", "Shut the daemon down"),
    ("enable", '<protocol> | "<pattern>" | all', "Enable protocol"),
    ("help", "", "Description of the commands (bgplab, BIRD 1.6 compatible)"),
    ("json", "<show command>", "bgplab: answer a show command as JSON (code 1100)"),
    ("reload", '[in | out] <protocol> | "<pattern>" | all', "Reload protocol"),
    ("restart", '<protocol> | "<pattern>" | all', "Restart protocol"),
    ("restrict", "", "Restrict current CLI session to safe commands"),
    ("show bfd sessions", "[<name>]", "Show information about BFD sessions"),
    ("show interfaces", "[summary]", "Show network interfaces"),
    ("show memory", "", "Show memory usage"),
    ("show protocols", '[all] [<protocol> | "<pattern>"]', "Show routing protocols"),
    (
        "show route",
        "[all] [for <prefix>|<ip>] [table <t>] [protocol <p>] [filter <f> | where "
        "<cond>] [count | stats] [primary] [export|preexport|noexport <p>] [filtered]"
        " [explain]",
        "Show routing table",
    ),
    ("show static", "[<name>]", "Show details of static protocol"),
    ("show status", "", "Show router status"),
    ("show symbols", "[<symbol>]", "Show all known symbolic names"),
]

# the keyword tree birdc expands (first words of COMMANDS); COMPLETE holds
# the word sequences that are whole commands ("show" alone is not)
TREE: dict[str, dict] = {}
COMPLETE: set[tuple[str, ...]] = set()
for _words, _a, _d in COMMANDS:
    node = TREE
    for _w in _words.split():
        node = node.setdefault(_w, {})
    COMPLETE.add(tuple(_words.split()))

ROUTE_FLAGS = ("all", "count", "stats", "primary", "filtered", "explain")
ROUTE_ARGS = ("for", "table", "protocol", "filter", "where", "export", "preexport", "noexport")
DEBUG_FLAGS = ("states", "routes", "filters", "interfaces", "events", "packets")


class CommandError(Exception):
    """A command that cannot be run: BIRD's reply code and message."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def syntax_error() -> CommandError:
    return CommandError(9001, "syntax error")


@dataclass
class Token:
    text: str
    quoted: bool = False  # "pattern" (a string); 'name' is a plain symbol
    start: int = 0


def tokenize(line: str) -> list[Token]:
    out: list[Token] = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c.isspace():
            i += 1
            continue
        if c in "\"'":
            j = line.find(c, i + 1)
            if j < 0:
                raise CommandError(9001, "Unterminated string")
            out.append(Token(line[i + 1 : j], quoted=(c == '"'), start=i))
            i = j + 1
            continue
        if c in "{},;":
            out.append(Token(c, start=i))
            i += 1
            continue
        j = i
        while j < n and not line[j].isspace() and line[j] not in "{},;\"'":
            j += 1
        out.append(Token(line[i:j], start=i))
        i = j
    return out


def _match(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    """Exact or unique-prefix match; ``None`` when nothing/several match."""
    if word in choices:
        return word
    found = [c for c in choices if c.startswith(word)]
    return found[0] if len(found) == 1 else None


def expand(line: str) -> str:
    """birdc's client-side expansion of abbreviated command words: walk the
    keyword tree while words match, then the words walked must form a whole
    command. Raises :class:`CommandError` (code 0: a client message) with
    birdc's wording otherwise."""
    words = line.split()
    node = TREE
    out: list[str] = []
    for w in words:
        found = [w] if w in node else [c for c in node if c.startswith(w)]
        if not found:
            break
        if len(found) > 1:
            raise CommandError(
                0,
                "Ambiguous command, possible expansions are:\n"
                + "\n".join(" ".join(out + [f]) for f in sorted(found)),
            )
        out.append(found[0])
        node = node[found[0]]
    if tuple(out) not in COMPLETE:
        raise CommandError(0, "No such command. Press `?' for help.")
    rest = line.split(None, len(out))[len(out) :]
    return " ".join(out + rest)


def complete(text: str) -> list[str]:
    """Possible next words for tab completion (command words only)."""
    words = text.split()
    trailing = text.endswith(" ") or not text
    node = TREE
    prefix_words = words if trailing else words[:-1]
    for w in prefix_words:
        m = _match(w, list(node))
        if m is None:
            return []
        node = node[m]
    partial = "" if trailing else words[-1]
    return sorted(c for c in node if c.startswith(partial))


# what `?` says for a word that only groups commands (birdc's "show ...")
GROUPS = {"show": "Show status information"}
# birdc's own commands: in its `?` listing, never sent to the daemon
CLIENT_COMMANDS = [("exit", "", "Exit the client"), ("quit", "", "Quit the client")]


def help_lines(prefix: str = "", client: bool = False) -> list[str]:
    """The ``?`` listing as birdc prints it: the command ``prefix`` names (if
    it is one), then the commands one word below its (abbreviated) words; a
    word with commands under it is one ``word ...`` line. An unknown prefix
    lists nothing. ``client`` adds birdc's own exit and quit."""
    node, words = TREE, []
    for w in prefix.split():
        m = _match(w, list(node))
        if m is None:
            return []
        words.append(m)
        node = node[m]
    entries = [_entry(words)] if tuple(words) in COMPLETE else []
    for child in sorted(node):
        path = words + [child]
        if node[child]:
            desc = GROUPS.get(" ".join(path)) or _entry(path)[2]
            entries.append((" ".join(path), "...", desc))
        else:
            entries.append(_entry(path))
    if not words and client:
        entries = sorted(entries + CLIENT_COMMANDS)
    return [_help_line(*e) for e in entries]


def help_all() -> list[str]:
    """Every command with its arguments, one a line (the daemon's ``help``)."""
    return [_help_line(*e) for e in COMMANDS]


def _entry(words: list[str]) -> tuple[str, str, str]:
    name = " ".join(words)
    return next((e for e in COMMANDS if e[0] == name), (name, "...", ""))


def _help_line(words: str, args: str, desc: str) -> str:
    left = f"{words} {args}".strip()
    return f"{left:<46} {desc}" if len(left) < 46 else f"{left}  {desc}"


# ---- the parsed command ------------------------------------------------------


@dataclass
class RouteQuery:
    verbose: bool = False
    for_addr: int | None = None  # net key: longest match ("for")
    exact: int | None = None  # net key: exact net (bare prefix)
    table: str | None = None
    protocol: str | None = None
    filter_name: str | None = None
    where: str | None = None
    stats: int = 0  # 1 = stats (routes + count), 2 = count only
    primary: bool = False
    export_mode: str | None = None  # "export" | "preexport" | "noexport"
    export_proto: str | None = None
    filtered: bool = False
    explain: bool = False


@dataclass
class Command:
    name: str  # canonical words, e.g. "show route", "enable"
    json: bool = False
    verbose: bool = False  # show protocols all
    target: str | None = None  # protocol/symbol name or pattern
    pattern: bool = False  # target came as "quoted pattern"
    direction: str = "both"  # reload in|out
    flags: set[str] = field(default_factory=set)  # debug flags / interface summary
    path: str | None = None  # configure "file"
    check: bool = False
    soft: bool = False
    route: RouteQuery | None = None


def parse(line: str) -> Command:
    """Parse one control-socket command line (already expanded or not)."""
    if len(line) > MAX_LINE:
        raise CommandError(9000, "Command too long")
    text = line.strip()
    if not text:
        raise syntax_error()
    toks = tokenize(text)
    as_json = False
    if toks and toks[0].text == "json" and not toks[0].quoted:
        as_json = True
        text = text[toks[0].start + 4 :].strip()
        toks = tokenize(text)
        if not toks:
            raise syntax_error()
    cmd = _parse(text, toks)
    if as_json:
        if not cmd.name.startswith("show"):
            raise CommandError(9001, "json: only show commands")
        cmd.json = True
    return cmd


def _word(toks: list[Token], i: int, choices: list[str] | tuple[str, ...]) -> str | None:
    if i >= len(toks) or toks[i].quoted:
        return None
    return _match(toks[i].text, choices)


def _parse(text: str, toks: list[Token]) -> Command:
    first = _word(toks, 0, list(TREE))
    if first is None:
        raise syntax_error()
    if first == "show":
        sub = _word(toks, 1, list(TREE["show"]))
        if sub is None:
            raise syntax_error()
        return _parse_show(sub, text, toks)
    if first in ("down", "help", "restrict"):
        if len(toks) != 1:
            raise syntax_error()
        return Command(first)
    if first == "configure":
        return _parse_configure(toks)
    if first in ("enable", "disable", "restart"):
        if len(toks) != 2:
            raise syntax_error()
        return Command(first, target=toks[1].text, pattern=toks[1].quoted)
    if first == "reload":
        i = 1
        direction = "both"
        w = _word(toks, 1, ("in", "out"))
        if w is not None and len(toks) == 3:
            direction = w
            i = 2
        if len(toks) != i + 1 or (not toks[i].quoted and toks[i].text in ("in", "out")):
            raise syntax_error()
        return Command("reload", target=toks[i].text, pattern=toks[i].quoted, direction=direction)
    if first == "debug":
        return _parse_debug(toks)
    raise syntax_error()


def _parse_configure(toks: list[Token]) -> Command:
    cmd = Command("configure")
    i = 1
    while i < len(toks):
        t = toks[i]
        if t.quoted:
            if cmd.path is not None:
                raise syntax_error()
            cmd.path = t.text
        else:
            w = _match(t.text, ("soft", "check"))
            if w == "soft" and not cmd.soft and not cmd.check:
                cmd.soft = True
            elif w == "check" and not cmd.check and not cmd.soft and i == 1:
                cmd.check = True
            else:
                raise syntax_error()
        i += 1
    return cmd


def _parse_debug(toks: list[Token]) -> Command:
    if len(toks) < 3:
        raise syntax_error()
    target = toks[1]
    cmd = Command("debug", target=target.text, pattern=target.quoted)
    rest = toks[2:]
    if len(rest) == 1 and not rest[0].quoted:
        w = _match(rest[0].text, ("all", "off"))
        if w is None:
            raise syntax_error()
        cmd.flags = {w}
        return cmd
    if rest[0].text != "{" or rest[-1].text != "}":
        raise syntax_error()
    body = rest[1:-1]
    expect_word = True
    for t in body:
        if expect_word:
            w = _match(t.text, DEBUG_FLAGS) if not t.quoted else None
            if w is None:
                raise syntax_error()
            cmd.flags.add(w)
        elif t.text != ",":
            raise syntax_error()
        expect_word = not expect_word
    if expect_word and body:
        raise syntax_error()
    if not cmd.flags:
        cmd.flags = {"off"}
    return cmd


def _parse_show(sub: str, text: str, toks: list[Token]) -> Command:
    rest = toks[2:]
    if sub in ("status", "memory"):
        if rest:
            raise syntax_error()
        return Command(f"show {sub}")
    if sub == "interfaces":
        cmd = Command("show interfaces")
        if rest:
            if len(rest) != 1 or _word(rest, 0, ("summary",)) is None:
                raise syntax_error()
            cmd.flags = {"summary"}
        return cmd
    if sub in ("static", "symbols"):
        if len(rest) > 1:
            raise syntax_error()
        return Command(f"show {sub}", target=rest[0].text if rest else None)
    if sub == "bfd":
        if not rest or _word(rest, 0, ("sessions",)) is None or len(rest) > 2:
            raise syntax_error()
        return Command("show bfd sessions", target=rest[1].text if len(rest) > 1 else None)
    if sub == "protocols":
        cmd = Command("show protocols")
        i = 0
        if rest and not rest[0].quoted and rest[0].text == "all":
            cmd.verbose = True
            i = 1
        if i < len(rest):
            cmd.target = rest[i].text
            cmd.pattern = rest[i].quoted
            i += 1
        if i != len(rest):
            raise syntax_error()
        return cmd
    if sub == "route":
        return Command("show route", route=_parse_route(text, toks[2:]))
    raise syntax_error()


def _prefix(tok: Token) -> int:
    """A prefix or an address (host route) as a net key; host bits set
    beyond the length is BIRD's "Invalid prefix"."""
    if tok.quoted:
        raise syntax_error()
    try:
        return netmod.parse(tok.text)
    except netmod.PrefixError as exc:
        if "host bits" in str(exc):
            raise CommandError(9001, "Invalid prefix") from exc
        raise syntax_error() from exc


def _parse_route(text: str, toks: list[Token]) -> RouteQuery:
    q = RouteQuery()
    # `where` swallows an expression; known trailing flags after it are peeled
    for idx, t in enumerate(toks):
        if not t.quoted and t.text == "where":
            expr_toks = toks[idx + 1 :]
            tail: list[str] = []
            while expr_toks and not expr_toks[-1].quoted and expr_toks[-1].text in ROUTE_FLAGS:
                tail.insert(0, expr_toks[-1].text)
                expr_toks = expr_toks[:-1]
            if not expr_toks:
                raise syntax_error()
            q.where = text[
                expr_toks[0].start : expr_toks[-1].start
                + len(expr_toks[-1].text)
                + (2 if expr_toks[-1].quoted else 0)
            ].strip()
            toks = toks[:idx] + [Token(w) for w in tail]
            break
    i = 0
    n = len(toks)

    def arg() -> Token:
        nonlocal i
        i += 1
        if i >= n:
            raise syntax_error()
        return toks[i]

    while i < n:
        t = toks[i]
        w = None if t.quoted else _match(t.text, ROUTE_FLAGS + ROUTE_ARGS)
        if w is None:
            if t.quoted or not (t.text[:1].isdigit() or ":" in t.text):
                raise syntax_error()
            if q.exact is not None or q.for_addr is not None:
                raise syntax_error()
            q.exact = _prefix(t)
        elif w == "all":
            q.verbose = True
        elif w == "count":
            q.stats = 2
        elif w == "stats":
            q.stats = max(q.stats, 1)
        elif w == "primary":
            q.primary = True
        elif w == "filtered":
            q.filtered = True
        elif w == "explain":
            q.explain = True
        elif w == "for":
            if q.exact is not None or q.for_addr is not None:
                raise syntax_error()
            q.for_addr = _prefix(arg())
        elif w == "table":
            q.table = arg().text
        elif w == "protocol":
            q.protocol = arg().text
        elif w == "filter":
            a = arg()
            if a.text == "{":
                raise CommandError(9001, "inline filters are not supported; use where")
            q.filter_name = a.text
        elif w in ("export", "preexport", "noexport"):
            if q.export_mode is not None:
                raise syntax_error()
            q.export_mode = w
            q.export_proto = arg().text
        i += 1
    if q.filter_name is not None and q.where is not None:
        raise syntax_error()
    if q.explain and q.for_addr is None and q.exact is None:
        raise CommandError(9001, "explain needs for <prefix>")
    return q
