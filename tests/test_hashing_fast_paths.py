"""The hashing shortcuts (UTC timestamp fast path, flat EPC lists, per-context field memo) agree
with the general rendering they bypass."""

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.hashing import HashingError, event_hash_id, pre_hash_string
from service.hashing.values import canonical_timestamp

STANDARD_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


def _event(context: list | None = None, **fields) -> dict:
    return {"@context": context or [STANDARD_CONTEXT, {"example": "https://ns.example.com/epcis/"}],
            "type": "ObjectEvent", "eventTime": "2024-05-01T10:00:00.000Z", "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE", **fields}


@settings(max_examples=80, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)), st.integers(0, 3))
def test_zulu_fast_path_matches_the_offset_path(moment, digits):
    """``...Z`` (fast path) and ``...+00:00`` (general path) are the same instant, so the same text."""
    fraction = f"{moment.microsecond:06d}"[:digits]
    stem = (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
            f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}")
    expected = f"{stem}.{fraction.ljust(3, '0')}Z"
    stem += f".{fraction}" if digits else ""
    assert canonical_timestamp(stem + "Z", field="t") == expected
    assert canonical_timestamp(stem + "+00:00", field="t") == expected


@pytest.mark.parametrize("text", ["2023-02-29T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T10:60:00Z",
                                  "2024-01-01T10:00:60.5Z", "0000-01-01T00:00:00Z", "2024-13-01T00:00:00Z"])
def test_zulu_fast_path_still_rejects_impossible_times(text):
    with pytest.raises(HashingError):
        canonical_timestamp(text, field="eventTime")


def test_zulu_fast_path_agrees_on_non_ascii_digits():
    fullwidth = "２０２４-０５-０１T１０:００:００Z"  # \d matches them; the fast path leaves them to the general path
    assert canonical_timestamp(fullwidth, field="t") == "2024-05-01T10:00:00.000Z"


def test_flat_epc_list_matches_the_general_item_renderer():
    """A nested list goes through the generic item path; a flat one through the shortcut."""
    flat = _event(epcList=["urn:epc:id:sgtin:4012345.011111.1", " example:obj1 "])
    nested = _event(epcList=[["urn:epc:id:sgtin:4012345.011111.1"], " example:obj1 "])
    assert event_hash_id(flat) == event_hash_id(nested)
    assert "epc=https://ns.example.com/epcis/obj1" in pre_hash_string(flat)


def test_memoised_values_follow_the_context_they_were_rendered_in():
    """The same value under two contexts that define ``example`` differently renders differently, in
    either order and repeatedly: the field memo is per namespaces mapping."""
    first = [STANDARD_CONTEXT, {"example": "https://a.example/"}]
    second = [STANDARD_CONTEXT, {"example": "https://b.example/"}]
    for context, namespace in [(first, "a"), (second, "b"), (first, "a"), (second, "b")]:
        text = pre_hash_string(_event(context, readPoint={"id": "example:dock"}))
        assert f"readPointid=https://{namespace}.example/dock" in text


def test_memo_keys_distinguish_value_shapes_and_types():
    """Values that compare equal in Python (``1 == True``) or look alike must not share a memo entry."""
    spellings = [(True, "flag=true"), (1, "flag=1"), (1.5, "flag=1.5"), ("x", "flag=x"), (["x", "y"], "flag=y")]
    for _ in range(2):
        for value, expected in spellings:
            assert pre_hash_string(_event(**{"example:flag": value})).endswith(expected)
    structured = pre_hash_string(_event(**{"example:flag": {"example:inner": "x"}}))
    assert structured.endswith("{https://ns.example.com/epcis/}flag{https://ns.example.com/epcis/}inner=x")
