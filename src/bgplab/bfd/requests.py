"""Who wants a BFD session (BIRD's ``bfd_request``).

A BGP protocol with ``bfd on`` asks for a session to its neighbor; a
``protocol bfd`` serves the requests (the first one running takes each, as in
BIRD) and reports the session's state back. Requests made before any BFD
protocol runs wait, and are served when one starts; with none configured
they simply stay Down. Protocols never call each other: both sides only see
this broker, which the daemon keeps in its context.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol as TypingProtocol

from bgplab.bfd.packet import Diag, State


class Provider(TypingProtocol):
    """A running ``protocol bfd``."""

    def add_request(self, req: Request) -> None: ...

    def remove_request(self, req: Request) -> None: ...


class Request:
    """One wish for a session to ``addr``; ``notify`` is called on each
    state change of the session serving it."""

    def __init__(
        self,
        broker: Broker,
        addr: str,
        local: str | None,
        iface: str | None,
        multihop: bool,
        notify: Callable[[Request], None] | None,
    ) -> None:
        self.broker = broker
        self.addr = addr
        self.local = local
        self.iface = iface
        self.multihop = multihop
        self._notify = notify
        self.state = State.DOWN
        self.diag = Diag.NONE
        self.down = False  # the last change was Up -> Down: the neighbor is gone
        # (Up -> AdminDown is ours: the session or its protocol was removed)
        self.provider: Provider | None = None

    def update(self, state: State, diag: Diag) -> None:
        """Called by the serving protocol."""
        if state == self.state:
            return
        self.down = self.state == State.UP and state == State.DOWN
        self.state = state
        self.diag = diag
        if self._notify is not None:
            self._notify(self)

    def cancel(self) -> None:
        self.broker.cancel(self)


class Broker:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.providers: list[Provider] = []

    def request(
        self,
        addr: str,
        local: str | None = None,
        iface: str | None = None,
        multihop: bool = False,
        notify: Callable[[Request], None] | None = None,
    ) -> Request:
        req = Request(self, addr, local, iface, multihop, notify)
        self.requests.append(req)
        self._serve(req)
        return req

    def cancel(self, req: Request) -> None:
        if req in self.requests:
            self.requests.remove(req)
        if req.provider is not None:
            req.provider.remove_request(req)
            req.provider = None

    def attach(self, provider: Provider) -> None:
        """A BFD protocol started: it serves every waiting request."""
        self.providers.append(provider)
        for req in self.requests:
            self._serve(req)

    def detach(self, provider: Provider) -> None:
        """A BFD protocol stopped: its requests go to another, or wait Down."""
        if provider in self.providers:
            self.providers.remove(provider)
        for req in self.requests:
            if req.provider is provider:
                req.provider = None
                # AdminDown, not Down: a BFD protocol going away is no
                # failure of the neighbor (BIRD leaves BGP alone too)
                req.update(State.ADMIN_DOWN, Diag.ADMIN_DOWN)
                self._serve(req)

    def _serve(self, req: Request) -> None:
        if req.provider is None and self.providers:
            req.provider = self.providers[0]
            req.provider.add_request(req)


def broker_of(extra: dict[str, object]) -> Broker:
    """The daemon's broker, kept in ``DaemonContext.extra``."""
    b = extra.get("bfd")
    if not isinstance(b, Broker):
        b = extra["bfd"] = Broker()
    return b
