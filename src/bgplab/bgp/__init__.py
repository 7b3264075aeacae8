"""BGP-4, sans-I/O: bytes and timer expiries in, messages and actions out.

- :mod:`~bgplab.bgp.constants` - protocol numbers (types, codes, subcodes)
- :mod:`~bgplab.bgp.errors` - ``BgpError`` and RFC 7606 ``ErrorAction``
- :mod:`~bgplab.bgp.attrs` - ``PathAttrs``, the interned attribute set
- :mod:`~bgplab.bgp.nlri` - prefixes on the wire (with ADD-PATH ids)
- :mod:`~bgplab.bgp.attr_table` - per attribute: flags, RFC 7606 action, value codec
- :mod:`~bgplab.bgp.attr_codec` - the path attribute block
- :mod:`~bgplab.bgp.capabilities` - OPEN capabilities and negotiation
- :mod:`~bgplab.bgp.messages` - messages, and fast UPDATE packing
- :mod:`~bgplab.bgp.framer` - splitting the TCP stream into messages
- :mod:`~bgplab.bgp.events`, :mod:`~bgplab.bgp.fsm` - the session machine
  (:mod:`~bgplab.bgp.fsm_tables`: its data and transition tables;
  :mod:`~bgplab.bgp.fsm_messages`: its message handlers)
"""
