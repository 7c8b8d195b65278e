"""content_hash / jcs_digest: the 32-byte values anchored for every kind of record."""

import hashlib
import json
from pathlib import Path

import pytest
from support import DATA

from service.hashing import HashingError, content_hash, events_of, jcs_digest

VECTORS = DATA / "epcis" / "hash-vectors"
if not VECTORS.is_dir():
    raise RuntimeError(f"reference data missing: expected {VECTORS} (see tests/data/README.md)")


def test_jcs_digest_hashes_the_rfc8785_serialisation():
    # RFC 8785: keys sorted by UTF-16 code units, no whitespace, ECMAScript number formatting.
    record = {"b": [1.0, "x", None, True], "a": {"z": 1e21, "é": 0.5, "A": -0.0}}
    canonical = b'{"a":{"A":0,"z":1e+21,"\xc3\xa9":0.5},"b":[1,"x",null,true]}'
    assert jcs_digest(record) == hashlib.sha256(canonical).digest()


def test_transactions_and_other_kinds_use_jcs():
    order = {"order_id": "PO-1", "lines": [{"gtin": "04012345111118", "qty": 3, "unit_price": 2.5}]}
    assert content_hash(kind="transaction", body=order) == jcs_digest(order)
    assert content_hash(kind="label", body=order) == jcs_digest(order)
    assert len(jcs_digest(order)) == 32


def test_epcis_events_use_the_event_hash_id_digest():
    document = json.loads((VECTORS / "ReferenceEventHashAlgorithm.jsonld").read_text())
    expected = (VECTORS / "ReferenceEventHashAlgorithm.hashes").read_text().split()[0]
    [event] = events_of(document)
    digest = content_hash(kind="epcis_event", body=event)
    assert "ni:///sha-256;" + digest.hex() + "?ver=CBV2.0" == expected
    assert digest != jcs_digest(event)


def test_the_kind_decides_the_algorithm():
    event = events_of(json.loads((VECTORS / "epcisDocWithSingleEvent.jsonld").read_text()))[0]
    assert content_hash(kind="epcis_event", body=event) != content_hash(kind="transaction", body=event)


def test_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        content_hash("transaction", {})  # type: ignore[misc]


@pytest.mark.parametrize("value", [{"x": float("nan")}, {"x": float("inf")}, {"x": 2**60}, {"x": object()}])
def test_values_without_canonical_json_raise_hashing_error(value):
    with pytest.raises(HashingError, match="^value"):
        jcs_digest(value)


def test_a_non_event_under_the_epcis_kind_raises():
    with pytest.raises(HashingError, match="^type"):
        content_hash(kind="epcis_event", body={"order_id": "PO-1"})
