"""BIRD 1.6 text for the control socket: reply lines as ``(code, text)``.

One module per kind of page (``framing`` and time formats, ``status``,
``protocols``, ``routes``, ``interfaces``); this package re-exports them, so
callers keep writing ``render.show_protocols``. Every function is pure: it
reads the daemon's state (protocols, tables, interfaces) and returns reply
lines. The server turns them into
``CCCC-text`` / `` text`` / ``CCCC text`` framing (:func:`frame`), so the
layout rules of BIRD's ``cli_printf`` live in one place.

Formats follow BIRD 1.6.8's format strings (``nest/proto.c``,
``nest/rt-table.c``, ``proto/bgp/bgp.c``, ``proto/bgp/attrs.c``,
``nest/iface.c``, ``nest/cmds.c``); the golden tests compare them with a
running BIRD 1.6.
"""

from __future__ import annotations

from bgplab.cli.render.framing import (
    DEFAULT_TF,
    IGP_METRIC_UNKNOWN,
    VERSION,
    Line,
    format_time,
    frame,
    timeformat,
)
from bgplab.cli.render.interfaces import show_interfaces
from bgplab.cli.render.protocols import (
    PROTO_HEADER,
    exported_count,
    filter_name,
    proto_details,
    proto_info,
    proto_row,
    proto_state,
    proto_table,
    show_protocols,
)
from bgplab.cli.render.routes import (
    as_path_text,
    bgp_attr_texts,
    bird_hash,
    ext_community_text,
    fib_order,
    is_recursive,
    krt_attr_texts,
    route_attr_lines,
    route_count_line,
    route_info,
    route_lines,
    static_lines,
    via_text,
)
from bgplab.cli.render.status import show_memory, show_status, show_symbols, symbols

__all__ = [
    "DEFAULT_TF",
    "IGP_METRIC_UNKNOWN",
    "Line",
    "PROTO_HEADER",
    "VERSION",
    "as_path_text",
    "bgp_attr_texts",
    "bird_hash",
    "exported_count",
    "ext_community_text",
    "fib_order",
    "filter_name",
    "format_time",
    "frame",
    "is_recursive",
    "krt_attr_texts",
    "proto_details",
    "proto_info",
    "proto_row",
    "proto_state",
    "proto_table",
    "route_attr_lines",
    "route_count_line",
    "route_info",
    "route_lines",
    "show_interfaces",
    "show_memory",
    "show_protocols",
    "show_status",
    "show_symbols",
    "static_lines",
    "symbols",
    "timeformat",
    "via_text",
]
