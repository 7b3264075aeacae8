"""The OpenAPI 3.1 description of the looking glass's JSON API.

Served as ``/api/openapi.json``; ``docs/openapi.json`` is the same document
(a unit test keeps them equal: ``python -m bgplab.web.openapi > docs/openapi.json``
after a change).
"""

from __future__ import annotations

import json
from typing import Any


def _q(name: str, desc: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": desc,
        "schema": schema or {"type": "string"},
    }


def _ok(desc: str, ref: str) -> dict[str, Any]:
    return {
        "200": {
            "description": desc,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
        },
        "400": {"$ref": "#/components/responses/Error"},
        "404": {"$ref": "#/components/responses/Error"},
    }


ROUTE_PARAMS = [
    _q("prefix", "Prefix or address (IPv4 or IPv6)."),
    _q(
        "match",
        "longest: the longest prefix covering `prefix` (`show route for`); exact: that "
        "network only; within: every network inside `prefix`.",
        {"type": "string", "enum": ["longest", "exact", "within"], "default": "longest"},
    ),
    _q("table", "Routing table (default master)."),
    _q("protocol", "Only routes from this protocol."),
    _q("community", "Routes carrying this standard community, `ASN:VALUE`."),
    _q("large_community", "Routes carrying this large community, `A:B:C`."),
    _q(
        "as_path",
        "AS path pattern: one ASN (anywhere in the path) or ASNs, `*` and `?` as in "
        "BIRD's `[= ... =]`.",
    ),
    _q("filtered", "1: routes the import filters rejected (`import keep filtered`)."),
    _q("primary", "1: only the best route of each network."),
    _q("offset", "Routes to skip.", {"type": "integer", "minimum": 0, "default": 0}),
    _q(
        "limit",
        "Routes per page.",
        {"type": "integer", "minimum": 1, "maximum": 5000, "default": 100},
    ),
]


def document() -> dict[str, Any]:
    obj = {"type": "object"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "bgplabd looking glass",
            "version": "1.0",  # of the API, not of bgplab
            "description": (
                "Read-only JSON view of a running bgplabd. Every document is the "
                "answer of the control socket's command layer (`bgplabc json show ...`) "
                "in a restricted session; nothing here changes state. Only GET and HEAD "
                "are served."
            ),
        },
        "paths": {
            "/api/status": {
                "get": {
                    "summary": "Router status (`show status`)",
                    "responses": _ok("Status", "Status"),
                }
            },
            "/api/protocols": {
                "get": {
                    "summary": "All protocols with counters and filters (`show protocols all`)",
                    "parameters": [
                        _q(
                            "detail",
                            "0: names, states and info only (`show protocols`), cheap enough "
                            "to poll with a full table; the counters walk the table.",
                            {"type": "integer", "enum": [0, 1], "default": 1},
                        )
                    ],
                    "responses": {
                        "200": {
                            "description": "Protocols",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Protocol"},
                                    }
                                }
                            },
                        }
                    },
                }
            },
            "/api/protocols/{name}": {
                "get": {
                    "summary": "One protocol: its document and `show protocols all NAME`",
                    "parameters": [
                        {
                            "name": "name",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": _ok("Protocol detail", "ProtocolDetail"),
                }
            },
            "/api/routes": {
                "get": {
                    "summary": "Routes, one page (`show route ...`), streamed",
                    "parameters": ROUTE_PARAMS,
                    "responses": _ok("A page of routes", "RoutePage"),
                }
            },
            "/api/route": {
                "get": {
                    "summary": "One network: routes with attributes, explain, kernel view",
                    "parameters": ROUTE_PARAMS[:3],
                    "responses": _ok("Route detail", "RouteDetail"),
                }
            },
            "/api/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI document"}},
                }
            },
        },
        "components": {
            "responses": {
                "Error": {
                    "description": "Refused: bad parameter or unknown name",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "error": {"type": "string"},
                                    "status": {"type": "integer"},
                                },
                            }
                        }
                    },
                }
            },
            "schemas": {
                "Status": {
                    "type": "object",
                    "properties": {
                        "version": {"type": "string"},
                        "router_id": {"type": "string"},
                        "last_reboot": {"type": "number"},
                        "last_reconfiguration": {"type": "number"},
                        "graceful_recovery": {"type": "boolean"},
                        "status": {"type": "string"},
                    },
                },
                "Protocol": {
                    "type": "object",
                    "required": ["name", "proto", "state"],
                    "properties": {
                        "name": {"type": "string"},
                        "proto": {"type": "string"},
                        "table": {"type": "string"},
                        "state": {"type": "string"},
                        "since": {"type": ["number", "null"]},
                        "info": {"type": "string"},
                        "description": {"type": ["string", "null"]},
                        "preference": {"type": "integer"},
                        "import_filter": {"type": "string"},
                        "export_filter": {"type": "string"},
                        "imported": {"type": "integer"},
                        "filtered": {"type": "integer"},
                        "exported": {"type": "integer"},
                        "preferred": {"type": "integer"},
                        "import_stats": obj,
                        "export_stats": obj,
                        "bgp": {
                            "type": "object",
                            "description": "BGP session: state, neighbor, capabilities "
                            "(neighbor_caps), timers [remaining, configured], last_error",
                        },
                    },
                },
                "ProtocolDetail": {
                    "type": "object",
                    "properties": {
                        "protocol": {"$ref": "#/components/schemas/Protocol"},
                        "text": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "Route": {
                    "type": "object",
                    "properties": {
                        "net": {"type": "string"},
                        "protocol": {"type": "string"},
                        "primary": {"type": "boolean"},
                        "dest": {"type": "string"},
                        "gateway": {"type": ["string", "null"]},
                        "interface": {"type": ["string", "null"]},
                        "nexthops": {"type": "array", "items": obj},
                        "preference": {"type": "integer"},
                        "since": {"type": "number"},
                        "from": {"type": ["string", "null"]},
                        "type": {"type": "string"},
                        "bgp": {"type": ["object", "null"]},
                    },
                },
                "RoutePage": {
                    "type": "object",
                    "properties": {
                        "routes": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Route"},
                        },
                        "offset": {"type": "integer"},
                        "limit": {"type": "integer"},
                        "count": {"type": "integer"},
                        "next_offset": {"type": ["integer", "null"]},
                        "command": {"type": "string"},
                    },
                },
                "RouteDetail": {
                    "type": "object",
                    "properties": {
                        "prefix": {"type": "string"},
                        "command": {"type": "string"},
                        "routes": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Route"},
                        },
                        "text": {"type": "array", "items": {"type": "string"}},
                        "explain": {"type": "array", "items": {"type": "string"}},
                        "kernel": {
                            "type": "array",
                            "description": "what each kernel protocol exports for the net",
                            "items": obj,
                        },
                        "fib": {
                            "type": ["array", "null"],
                            "description": "`ip -j route show exact NET table all`",
                            "items": obj,
                        },
                    },
                },
            },
        },
    }


def text() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(text(), end="")
