"""``bgplab soak``: a bounded churn run against bgplabd as route reflector.

bgplabd reflects routes between N scripted iBGP peers on loopback (AS 63400,
``rr client``, ``add paths on`` as Calico's BIRD config has it). Each peer
owns a /26 block and some /32s inside it. At a fixed total rate, peers
withdraw routes, announce them again and re-announce them with changed
attributes; now and then a whole session flaps (closed, reconnected,
re-announced). Every route carries a large community (AS, owner, version),
so a peer can tell a current route from an outdated one.

The run keeps a model: what each peer announces now. After the churn stops
and the reflector has gone quiet, every peer's received routes are compared
with the union of the other peers' current routes:

- lost: a route the peer should hold and does not;
- duplicated: a route held more than once (two path ids, same prefix);
- stale: a route held that was withdrawn, or with outdated attributes.

All three must be 0. bgplabd's RSS after the first convergence and at the
end, its peak (VmHWM) and CPU seconds are reported too, to show memory stays
flat under churn. The peers are a small asyncio speaker built on bgplab's
own codec: the benchmark's load generator only counts what arrives and
replays a fixed announcement on reconnect, but a soak needs per-path state
and the current routes after each flap.

Layout: ``model`` (options, the peers' routes, the end-state check), ``peer``
(one scripted speaker), ``run`` (the churn and the daemon around it), ``cli``
(the report and ``bgplab soak``).
"""
