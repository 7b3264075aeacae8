"""The shape every resource shares: kind, name, labels, its document, and the
one-line errors that name a resource and a field.

Calico's own kinds are in :mod:`bgplab.calico.resources`, the Kubernetes and
CRD objects the templates read in :mod:`bgplab.calico.kube`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from bgplab.calico.selector import SelectorError, parse_selector
from bgplab.errors import UserError

NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


class ResourceError(UserError):
    """A resource document that calicoctl would reject."""


class FieldError(ResourceError):
    """One field of one resource has a bad value."""

    def __init__(self, where: str, fieldname: str, value: object, reason: str):
        super().__init__(f"{where}: error with field {fieldname} = '{_show(value)}' ({reason})")
        self.fieldname = fieldname


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_asn(value: object) -> int:
    """An AS number: an integer, or 'a.b' (asdot), 0 < asn < 2**32."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, int):
        asn = value
    elif isinstance(value, str) and re.fullmatch(r"\d+", value):
        asn = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\d+\.\d+", value):
        hi, lo = (int(x) for x in value.split("."))
        if hi > 0xFFFF or lo > 0xFFFF:
            raise ValueError("out of range")
        asn = hi << 16 | lo
    else:
        raise ValueError("not an AS number")
    if not 0 < asn < 2**32:
        raise ValueError("out of range")
    return asn


def parse_peer_ip(text: str) -> tuple[str, int]:
    """``ip``, ``ip:port`` or ``[v6]:port`` -> (address, port or 0).

    Raises ValueError whose message starts with "invalid port" or "invalid IP".
    """
    host, port_text = text, None
    m = re.fullmatch(r"\[([^\]]*)\]:(.*)", text)
    if m:
        host, port_text = m.group(1), m.group(2)
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError("invalid IP") from None
    port = 0
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError("invalid port (1-65535)")
        port = int(port_text)
    return str(ip), port


@dataclass
class Resource:
    """One calicoctl resource: kind, name, labels and its validated spec."""

    kind: str
    name: str
    doc: dict[str, Any]
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.doc.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.name)

    @property
    def ident(self) -> str:
        return f"{self.kind}({self.name})"

    def spec_text(self, name: str) -> str:
        """A spec field as text ('' when unset)."""
        return str(self.spec.get(name) or "")

    def validate(self) -> None:
        """Raise :class:`FieldError` for the first bad field."""

    def err(self, fieldname: str, value: object, reason: str) -> FieldError:
        return FieldError(self.ident, fieldname, value, reason)

    # Small typed readers used by validate() and the renderer.
    def _bool(self, name: str) -> bool | None:
        v = self.spec.get(name)
        if v is None:
            return None
        if not isinstance(v, bool):
            raise self.err(name, v, "must be true or false")
        return v

    def _cidr(self, name: str, value: object) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        if not isinstance(value, str):
            raise self.err(name, value, "invalid CIDR")
        try:
            return ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise self.err(name, value, "invalid CIDR") from None

    def _selector(self, name: str) -> None:
        v = self.spec.get(name)
        if v is None or v == "":
            return
        try:
            parse_selector(v)
        except SelectorError as exc:
            raise self.err(name, v, f"invalid selector: {exc.reason}") from None

    def _secret_ref(self, name: str) -> None:
        v = self.spec.get(name)
        if v is None:
            return
        ref = v.get("secretKeyRef") if isinstance(v, dict) else None
        if (
            not isinstance(ref, dict)
            or not isinstance(ref.get("name"), str)
            or not isinstance(ref.get("key"), str)
        ):
            raise self.err(name, v, "must be {secretKeyRef: {name: ..., key: ...}}")


def check_label(key: str, value: str, where: str) -> None:
    if not _LABEL_KEY.match(key) or len(key) > 316:
        raise ResourceError(
            f"{where}: error with field metadata.labels = '{key}' (invalid label key)"
        )
    if not _LABEL_VALUE.match(value) or len(value) > 63:
        raise ResourceError(
            f"{where}: error with field metadata.labels = '{value}' (invalid label value)"
        )
