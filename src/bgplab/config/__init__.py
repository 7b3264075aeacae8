"""BIRD 1.x configuration: parse files into a frozen typed model.

Public API::

    parse_file(path) -> Config
    parse_text(text, filename="<config>", base_dir=None) -> Config
    diff(old, new) -> ReconfigPlan
    ConfigError  (one line: ``file:line:col: message``)

Filters live in :mod:`bgplab.filters` (``Filter.run(route, trace=None)``,
``compile_filter(text)``, ``standalone.compile_where(expr, config)``).
"""

from __future__ import annotations

from pathlib import Path

from bgplab.config.diff import ReconfigPlan, diff
from bgplab.config.errors import ConfigError
from bgplab.config.model import (
    BgpConfig,
    Config,
    DeviceConfig,
    DirectConfig,
    IfacePattern,
    KernelConfig,
    Limit,
    ListenBgp,
    LogTarget,
    PipeConfig,
    ProtoConfig,
    StaticConfig,
    StaticRoute,
    match_interfaces,
)


def parse_text(
    text: str, filename: str = "<config>", base_dir: Path | None = None, family: int | None = None
) -> Config:
    """Parse a configuration text; includes are relative to ``base_dir``
    (default: the current directory). ``family`` 4 or 6 reads it as
    ``bird`` or ``bird6`` would (addresses of the other family are errors);
    None accepts both."""
    from bgplab.config.parser import build_config

    try:
        return build_config(text, filename, base_dir, None, family)
    except RecursionError:
        raise ConfigError(filename, 0, 0, "configuration nested too deeply") from None


def parse_file(path: str | Path, family: int | None = None) -> Config:
    """Parse a configuration file (``bird -p -c FILE``, ``bird6 -p`` with
    ``family=6``)."""
    from bgplab.config.parser import build_config

    p = Path(path)
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(
            str(p), 0, 0, f"Unable to open configuration file {p}: {reason}"
        ) from None
    try:
        return build_config(text, str(p), p.parent, p, family)
    except RecursionError:
        raise ConfigError(str(p), 0, 0, "configuration nested too deeply") from None


__all__ = [
    "BgpConfig",
    "Config",
    "ConfigError",
    "DeviceConfig",
    "DirectConfig",
    "IfacePattern",
    "KernelConfig",
    "Limit",
    "ListenBgp",
    "LogTarget",
    "PipeConfig",
    "ProtoConfig",
    "ReconfigPlan",
    "StaticConfig",
    "StaticRoute",
    "diff",
    "match_interfaces",
    "parse_file",
    "parse_text",
]
