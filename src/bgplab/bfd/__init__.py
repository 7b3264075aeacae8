"""Sans-I/O BFD (RFC 5880, single-hop RFC 5881): the control packet codec
(:mod:`.packet`), one session's state machine (:mod:`.session`) and the
requests other protocols make for a session (:mod:`.requests`).

Bytes and timer expiries in; packets, state changes and timer requests out.
No sockets, no event loop, no clock: :mod:`bgplab.io.bfd_transport` and
:mod:`bgplab.protocols.bfd` are the shell around it.
"""
