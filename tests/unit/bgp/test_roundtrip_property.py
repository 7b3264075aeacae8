"""Property: any attribute set survives encode -> decode, on 4-octet and on
2-octet sessions (where AS4_PATH / AS4_AGGREGATOR carry the big ASNs)."""

from __future__ import annotations

from ipaddress import IPv4Address

from hypothesis import given, settings
from hypothesis import strategies as st

from bgplab import net
from bgplab.bgp.attr_codec import decode_attributes, encode_attributes
from bgplab.bgp.attrs import AS_CONFED_SEQUENCE, AS_CONFED_SET, AS_SEQUENCE, AS_SET, PathAttrs
from bgplab.bgp.capabilities import Negotiated
from bgplab.bgp.messages import Update, decode_message, encode_message
from bgplab.bgp.nlri import decode_nlri, encode_nlri

u32 = st.integers(0, 2**32 - 1)
u16 = st.integers(0, 2**16 - 1)
asn = st.integers(1, 2**32 - 1)
unicast_v4 = st.integers(0x01000000, 0xDFFFFFFF).map(IPv4Address)
any_v4 = u32.map(IPv4Address)


def segments(as4: bool):
    # Confederation segments only lead the path (RFC 5065 5.3: they are
    # prepended inside the confederation and removed when leaving it).
    confed_asn = asn if as4 else st.integers(1, 65535)
    confed = st.lists(
        st.tuples(
            st.sampled_from([AS_CONFED_SEQUENCE, AS_CONFED_SET]),
            st.lists(confed_asn, min_size=1, max_size=5).map(tuple),
        ),
        max_size=2,
    )
    normal = st.lists(
        st.one_of(
            st.tuples(st.just(AS_SEQUENCE), st.lists(asn, min_size=1, max_size=30).map(tuple)),
            st.tuples(st.just(AS_SET), st.lists(asn, min_size=1, max_size=20).map(tuple)),
        ),
        max_size=3,
    )
    return st.tuples(confed, normal).map(lambda cn: tuple(cn[0] + cn[1]))


def normalize(path):
    # the wire cannot tell two adjacent sequences from one
    out: list = []
    for t, asns in path:
        if out and out[-1][0] == t and t in (AS_SEQUENCE, AS_CONFED_SEQUENCE):
            out[-1] = (t, out[-1][1] + asns)
        else:
            out.append((t, asns))
    return tuple(out)


def attrs(as4: bool):
    return st.builds(
        PathAttrs,
        origin=st.sampled_from([0, 1, 2]),
        as_path=segments(as4),
        next_hop=unicast_v4,
        med=st.none() | u32,
        local_pref=st.none() | u32,
        atomic_aggregate=st.booleans(),
        aggregator=st.none() | st.tuples(asn, any_v4),
        communities=st.lists(st.tuples(u16, u16), max_size=10).map(tuple),
        ext_communities=st.lists(st.integers(0, 2**64 - 1), max_size=5).map(tuple),
        large_communities=st.lists(st.tuples(u32, u32, u32), max_size=5).map(tuple),
        originator_id=st.none() | any_v4,
        cluster_list=st.lists(any_v4, max_size=4).map(tuple),
        unknown=st.lists(
            st.tuples(st.just(0xE0), st.integers(100, 200), st.binary(max_size=40)),
            max_size=2,
            unique_by=lambda u: u[1],
        ).map(lambda xs: tuple(sorted(xs, key=lambda u: u[1]))),
    )


def expected(a: PathAttrs, as4: bool) -> PathAttrs:
    path = normalize(a.as_path)
    if not as4 and a.aggregator is not None and a.aggregator[0] <= 0xFFFF:
        # RFC 6793 4.2.3: a 2-octet AGGREGATOR means an old speaker
        # aggregated, so the receiver ignores AS4_PATH: big ASNs stay AS_TRANS.
        path = tuple((t, tuple(x if x <= 0xFFFF else 23456 for x in asns)) for t, asns in path)
    return a.replace(as_path=path)


@settings(max_examples=100, deadline=None)
@given(st.data(), st.booleans())
def test_attribute_round_trip(data: st.DataObject, as4: bool) -> None:
    a = data.draw(attrs(as4))
    neg = Negotiated.default(as4=as4)
    dec = decode_attributes(encode_attributes(a, neg), neg, has_nlri=True)
    assert dec.problems == [] and not dec.treat_as_withdraw
    assert dec.attrs == expected(a, as4)


prefix4 = st.tuples(u32, st.integers(0, 32)).map(lambda t: net.make(t[0], t[1]))
prefix6 = st.tuples(st.integers(0, 2**128 - 1), st.integers(0, 128)).map(
    lambda t: net.make(t[0], t[1], v6=True)
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(prefix4, u32)), st.lists(st.tuples(prefix6, u32)), st.booleans())
def test_nlri_round_trip(v4: list, v6: list, add_path: bool) -> None:
    if not add_path:
        v4 = [(n, 0) for n, _ in v4]
        v6 = [(n, 0) for n, _ in v6]
    assert decode_nlri(encode_nlri(v4, add_path), 1, add_path) == v4
    assert decode_nlri(encode_nlri(v6, add_path), 2, add_path) == v6


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(prefix4, u32), min_size=1, max_size=200), attrs(True))
def test_update_round_trip(items: list, a: PathAttrs) -> None:
    neg = Negotiated.default(add_path=[(1, 1)])
    msg = Update(withdrawn=items[:3], nlri=items, attrs=a)
    wire = encode_message(msg, neg)
    nlri: list = []
    wd: list = []
    pos = 0
    while pos < len(wire):
        ln = int.from_bytes(wire[pos + 16 : pos + 18])
        u = decode_message(2, wire[pos + 19 : pos + ln], neg)
        assert u.attrs in (None, a.replace(as_path=normalize(a.as_path)))
        nlri += u.nlri
        wd += u.withdrawn
        pos += ln
    assert nlri == items and wd == items[:3]
