"""Property-based tests: spelling never changes a hash, meaning always does (EPCIS and JCS)."""

import json
import random
from datetime import datetime, timedelta, timezone, UTC

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.hashing import HashingError, event_hash_id, jcs_digest
from service.hashing.content import jcs
from service.hashing.identifiers import check_digit
from service.hashing.vocabulary import BIZ_STEPS, DISPOSITIONS

settings.register_profile("hashing", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("hashing")

CONTEXT = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"example": "https://ns.example.com/epcis/"},
]


# ---- strategies ----------------------------------------------------------------------------------

company_prefixes = st.integers(min_value=6, max_value=12).flatmap(
    lambda n: st.text("0123456789", min_size=n, max_size=n))
serials = st.text("ABCXYZabc0123456789-", min_size=1, max_size=12)


@st.composite
def sgtins(draw) -> tuple[str, str, str]:
    """(company prefix, item reference, serial) of a valid SGTIN."""
    cp = draw(company_prefixes)
    ref = draw(st.text("0123456789", min_size=13 - len(cp), max_size=13 - len(cp)))
    return cp, ref, draw(serials)


def epc_urn(sgtin: tuple[str, str, str]) -> str:
    cp, ref, serial = sgtin
    return f"urn:epc:id:sgtin:{cp}.{ref}.{serial}"


def digital_link(sgtin: tuple[str, str, str], *, domain: str, short_names: bool) -> str:
    cp, ref, serial = sgtin
    gtin = ref[0] + cp + ref[1:]
    gtin += check_digit(gtin)
    return f"https://{domain}/{'gtin' if short_names else '01'}/{gtin}/{'ser' if short_names else '21'}/{serial}"


instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=UTC))
offsets = st.integers(min_value=-14 * 4, max_value=14 * 4).map(lambda q: timedelta(minutes=15 * q))
quantities = st.one_of(st.integers(min_value=0, max_value=10**6), st.decimals(
    min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False).map(float))


def spell_time(instant: datetime, offset: timedelta, *, extra_digits: str = "") -> str:
    """The instant written in the zone ``offset``, with sub-millisecond digits below the rounding point."""
    local = instant.astimezone(timezone(offset))
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    zone = "Z" if minutes == 0 and not extra_digits else f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f".{local.microsecond // 1000:03d}{extra_digits}" + zone


@st.composite
def events(draw) -> dict:
    items = draw(st.lists(sgtins(), min_size=1, max_size=5, unique=True))
    return {
        "@context": CONTEXT,
        "type": "ObjectEvent",
        "eventTime": spell_time(draw(instants), timedelta(0)),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [epc_urn(s) for s in items],
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.L1",
                          "quantity": draw(quantities), "uom": "KGM"}],
        "action": draw(st.sampled_from(["ADD", "OBSERVE", "DELETE"])),
        "bizStep": draw(st.sampled_from(sorted(BIZ_STEPS))),
        "disposition": draw(st.sampled_from(sorted(DISPOSITIONS))),
        "readPoint": {"id": "urn:epc:id:sgln:4012345.00011.987"},
        "example:batch": draw(st.text("abc123", min_size=1, max_size=6)),
        "_sgtins": items,  # kept aside for re-spelling, removed before hashing
    }


def _strip(event: dict) -> dict:
    return {k: v for k, v in event.items() if k != "_sgtins"}


def _shuffled(value: object, rng: random.Random) -> object:
    """Same JSON with every object's keys in a random order (and JSON list order untouched)."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {k: _shuffled(value[k], rng) for k in keys}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


# ---- EPCIS: same meaning, same hash ---------------------------------------------------------------

@given(events(), st.randoms(use_true_random=False), st.sampled_from([None, 0, 2, "\t"]))
def test_key_order_whitespace_and_list_order_do_not_matter(event, rng, indent):
    event = _strip(event)
    respelt = _shuffled(event, rng)
    respelt["epcList"] = rng.sample(respelt["epcList"], len(respelt["epcList"]))
    text = json.dumps(respelt, indent=indent, separators=None if indent is not None else (" ,", " : "))
    assert event_hash_id(json.loads(text)) == event_hash_id(event)


NUMBER_SPELLINGS = [str, "{}.0".format, "{}e0".format, "{}.000".format, lambda n: f"{n * 10}e-1", lambda n: f"{n}.0E+0"]


@given(events(), st.sampled_from(NUMBER_SPELLINGS))
def test_number_spelling_does_not_matter(event, spell):
    event = _strip(event)
    whole = int(event["quantityList"][0]["quantity"])
    event["quantityList"][0]["quantity"] = whole
    text = json.dumps(event).replace(f'"quantity": {whole}', '"quantity": ' + spell(whole))
    assert event_hash_id(json.loads(text)) == event_hash_id(event)


@given(instants, offsets, st.text("01234", min_size=1, max_size=4))
def test_timestamp_spelling_does_not_matter(instant, offset, below_rounding):
    base = _strip({"@context": CONTEXT, "type": "ObjectEvent", "action": "OBSERVE", "eventTimeZoneOffset": "+01:00",
                   "eventTime": spell_time(instant, timedelta(0))})
    respelt = {**base, "eventTime": spell_time(instant, offset, extra_digits=below_rounding)}
    assert event_hash_id(respelt) == event_hash_id(base)


@given(events(), st.sampled_from(["id.gs1.org", "example.com", "brand.example.org/shop"]), st.booleans(),
       st.sampled_from(["short", "full", "urn", "curie"]))
def test_identifier_and_vocabulary_spellings_do_not_matter(event, domain, short_names, vocabulary_form):
    respelt = _strip(event)
    respelt["epcList"] = [digital_link(s, domain=domain, short_names=short_names) for s in event["_sgtins"]]
    step = event["bizStep"]
    respelt["bizStep"] = {
        "short": step, "full": BIZ_STEPS[step],
        "urn": f"urn:epcglobal:cbv:bizstep:{step}", "curie": f"cbv:BizStep-{step}",
    }[vocabulary_form]
    assert event_hash_id(respelt) == event_hash_id(_strip(event))


# ---- EPCIS: different meaning, different hash -----------------------------------------------------

@given(events(), st.data())
def test_any_change_of_meaning_changes_the_hash(event, data):
    original = _strip(event)
    changed = json.loads(json.dumps(original))
    change = data.draw(st.sampled_from(["epc", "bizStep", "quantity", "time", "added field", "extension"]))
    if change == "epc":
        changed["epcList"][0] = changed["epcList"][0] + "X"
    elif change == "bizStep":
        changed["bizStep"] = data.draw(st.sampled_from(sorted(set(BIZ_STEPS) - {original["bizStep"]})))
    elif change == "quantity":
        changed["quantityList"][0]["quantity"] = original["quantityList"][0]["quantity"] + 1
    elif change == "time":
        changed["eventTime"] = original["eventTime"].replace("Z", "+00:01")
    elif change == "added field":
        changed["bizLocation"] = {"id": "urn:epc:id:sgln:4012345.00012.0"}
    else:
        changed["example:batch"] = original["example:batch"] + "0"
    assert event_hash_id(changed) != event_hash_id(original)


# ---- JCS ----------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1) | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False, width=64),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6), st.randoms(use_true_random=False),
       st.sampled_from([None, 1, 4]))
def test_jcs_ignores_key_order_and_whitespace(record, rng, indent):
    respelt = json.loads(json.dumps(_shuffled(record, rng), indent=indent))
    assert jcs_digest(respelt) == jcs_digest(record)


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(["{}", "{}.0", "{}e0", "{}.000"]))
def test_jcs_ignores_number_spelling(number, template):
    assert jcs_digest(json.loads('{"amount": ' + template.format(number) + "}")) == jcs_digest({"amount": number})


@given(st.dictionaries(st.text(min_size=1, max_size=6), json_values, min_size=1, max_size=6), st.data())
def test_jcs_changes_with_any_change_of_meaning(record, data):
    key = data.draw(st.sampled_from(sorted(record)))
    changed = {**record, key: [record[key]]}  # a different JSON value in one place
    added = {**record, key + "+": 0}
    assert jcs_digest(changed) != jcs_digest(record)
    assert jcs_digest(added) != jcs_digest(record)


any_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**60), max_value=2**60) | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(["\u2028", "\x7f", "\x00\x1f", "\ud7ff\ue000\U0001f600"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6) | st.sampled_from(["\ue000", "\U0001f600", "é", "\x00"]), children, max_size=4),
    max_leaves=24,
)


@settings(max_examples=400)
@given(any_json)
def test_jcs_agrees_with_the_rfc8785_library(value):
    """Our C-encoder path and the library's fallback write exactly what the ``rfc8785`` library writes."""
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        with pytest.raises(HashingError):
            jcs(value)
    else:
        assert jcs(value) == expected


def test_jcs_orders_keys_by_utf16_code_units_like_the_library():
    """Above the BMP's surrogates code point order and UTF-16 order differ: the library decides."""
    value = {"\ue000": 1, "\U0001f600": 2, "a": [1.5, 2**53 - 1, -0.0]}
    assert jcs(value) == rfc8785.dumps(value)
