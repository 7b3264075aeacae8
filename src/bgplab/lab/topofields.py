"""Field parsers for topology files: each checks one YAML value and raises
:class:`TopologyError` as ``field path = value`` and why (the lab's one error shape)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import yaml

from bgplab.lab.topomodel import TopologyError

NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
IFNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,14}$")
# Namespace names are "<prefix><host>" and pod names "<node>-<pod>"; keep them short
# enough that generated names stay readable and well under the 255-byte limit.
MAX_NAME = 40


def check_name(where: str, value: Any) -> None:
    if not isinstance(value, str) or not NAME_RE.match(value) or len(value) > MAX_NAME:
        raise TopologyError(
            f"{where} = {value!r} must be lower-case letters, digits and '-' (at most {MAX_NAME})"
        )


def field_list(d: dict[str, Any], key: str, required: bool, where: str = "") -> list[Any]:
    full = f"{where}.{key}" if where else key
    if key not in d:
        if required:
            raise TopologyError(f"{full} is required")
        return []
    value = d[key]
    if not isinstance(value, list):
        raise TopologyError(f"{full} must be a list")
    return value


def mapping(value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TopologyError(f"{where} must be a mapping")
    for key in value:
        if key not in allowed:
            raise TopologyError(
                f"{where}: unknown field {key!r} (expected one of {sorted(allowed)})"
            )
    return value


def network(d: dict[str, Any], key: str, where: str) -> ipaddress.IPv4Network:
    if key not in d:
        raise TopologyError(f"{where}.{key} is required")
    value = d[key]
    try:
        return ipaddress.IPv4Network(str(value), strict=True)
    except ValueError:
        host_bits(ipaddress.IPv4Network, value, f"{where}.{key}")
        raise TopologyError(
            f"{where}.{key} = {value!r} is not an IPv4 CIDR (like 192.168.0.0/24)"
        ) from None


def host_bits(kind: type[ipaddress.IPv4Network | ipaddress.IPv6Network], value: Any,
              where: str) -> None:
    """A CIDR that is only wrong by its host bits says so, with the network meant."""
    try:
        net = kind(str(value), strict=False)
    except ValueError:
        return
    raise TopologyError(f"{where} = {value!r} has host bits set (the network is {net})")


def yaml_error(exc: yaml.YAMLError, name: str) -> str:
    """``file:line:col: not valid YAML: <the parser's reason>``."""
    mark = getattr(exc, "problem_mark", None)
    where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{where}: not valid YAML: {problem}"


def address(
    d: dict[str, Any], key: str, where: str, required: bool
) -> ipaddress.IPv4Address | None:
    if key not in d:
        if required:
            raise TopologyError(f"{where}.{key} is required")
        return None
    value = d[key]
    try:
        return ipaddress.IPv4Address(str(value))
    except ValueError:
        raise TopologyError(f"{where}.{key} = {value!r} is not an IPv4 address") from None


def unique(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise TopologyError(f"duplicate {what}: {v!r}")
        seen.add(v)


def asn(d: dict[str, Any], key: str, where: str) -> int | None:
    if key not in d:
        return None
    value = d[key]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**32:
        raise TopologyError(f"{where}.{key} = {value!r} is not an AS number")
    return value


def flag(d: dict[str, Any], key: str, where: str) -> bool:
    value = d.get(key, False)
    if not isinstance(value, bool):
        raise TopologyError(f"{where}.{key} = {value!r} must be true or false")
    return value


def network6(value: Any, where: str) -> ipaddress.IPv6Network:
    try:
        return ipaddress.IPv6Network(str(value), strict=True)
    except ValueError:
        host_bits(ipaddress.IPv6Network, value, where)
        raise TopologyError(
            f"{where} = {value!r} is not an IPv6 CIDR (like fd00:192:168::/64)"
        ) from None


def address6(d: dict[str, Any], key: str, where: str) -> ipaddress.IPv6Address | None:
    if key not in d:
        return None
    value = d[key]
    try:
        return ipaddress.IPv6Address(str(value))
    except ValueError:
        raise TopologyError(f"{where}.{key} = {value!r} is not an IPv6 address") from None
