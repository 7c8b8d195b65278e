"""Numbers as search terms: text order is numeric order, so quantity and sensor comparisons are
index ranges that agree with Python's comparisons, over generated values, on SQLite and PostgreSQL."""

import math
import operator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.access.viewer import Viewer
from service.ingest.indexing import number_term
from service.read.pagination import PageTokens
from service.read.parameters import parse_event_query
from service.read.queries import query_events
from support.records import store_events

FINITE = st.floats(allow_nan=False, allow_infinity=False)
# Quantities and sensor values as a body carries them (I-JSON: doubles, integers within 2^53).
BODY_NUMBERS = st.one_of(FINITE, st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
                         st.sampled_from([0.0, -0.0, 1.0, -1.0, 5e-324, -5e-324, 1.7976931348623157e308]))
COMPARISONS = {"EQ": operator.eq, "GT": operator.gt, "GE": operator.ge, "LT": operator.lt, "LE": operator.le}
EVERYONE = Viewer(party="auditor", everything=True)
TOKENS = PageTokens(b"the server secret")
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]


@given(FINITE, FINITE)
def test_number_terms_order_as_their_numbers(a, b):
    assert len(number_term(a)) == len(number_term(b)) == 16
    assert (number_term(a) < number_term(b)) == (a < b)
    assert (number_term(a) == number_term(b)) == (a == b)  # -0.0 and 0.0 are one number


@given(FINITE, FINITE)
def test_greater_than_is_at_least_the_next_float(a, b):
    """GT a is the range from the next float above a (and LE a the range below it)."""
    assert (number_term(b) >= number_term(math.nextafter(a, math.inf))) == (b > a)


def event(n: int, quantities: list[float], reading: float) -> dict:
    return {"type": "ObjectEvent", "action": "OBSERVE", "eventTime": f"2026-03-01T08:{n % 60:02d}:00Z", "eventTimeZoneOffset": "+00:00",
            "epcList": [], "quantityList": [{"epcClass": f"urn:epc:class:lgtin:4012345.012345.{n}", "quantity": q, "uom": "KGM"}
                                            for q in quantities],
            "sensorElementList": [{"sensorReport": [{"type": "Temperature", "value": reading, "uom": "CEL"},
                                                    {"type": "Temperature", "value": -reading, "uom": "FAH"}]}]}


def found(ledger, params: dict) -> set[int]:
    with ledger.session() as session:
        page = query_events(session, query=parse_event_query(params | {"perPage": "1000"}), viewer=EVERYONE, tokens=TOKENS)
    assert page.next_page_token is None
    return {record.id for record in page.items}


def test_quantity_and_sensor_comparisons_agree_with_python(ledger):
    stored: dict[int, tuple[list[float], float]] = {}  # every event stored by any example: the oracle's world

    @settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.tuples(st.lists(BODY_NUMBERS, min_size=1, max_size=3), BODY_NUMBERS), min_size=1, max_size=4),
           st.one_of(BODY_NUMBERS, st.sampled_from([0, -0.0])), st.sampled_from(sorted(COMPARISONS)))
    def check(events, threshold, comparison):
        start = len(stored)
        document = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-03-01T00:00:00Z",
                    "epcisBody": {"eventList": [event(start + k, q, r) for k, (q, r) in enumerate(events)]}}
        with ledger.session() as session:
            for result, (quantities, reading) in zip(store_events(session, document=document, party="farm"), events, strict=True):
                stored[result.record.id] = (quantities, reading)
        compare = COMPARISONS[comparison]
        value = repr(float(threshold))
        assert found(ledger, {f"{comparison}_quantity": value}) == {
            record_id for record_id, (quantities, _) in stored.items() if any(compare(float(q), float(threshold)) for q in quantities)}
        assert found(ledger, {f"{comparison}_quantity_KGM": value}) == found(ledger, {f"{comparison}_quantity": value})  # all in KGM
        assert found(ledger, {f"{comparison}_quantity_LTR": value}) == set()
        assert found(ledger, {f"{comparison}_value_CEL": value}) == {
            record_id for record_id, (_, reading) in stored.items() if compare(float(reading), float(threshold))}
        assert found(ledger, {f"{comparison}_value_FAH": value}) == {  # another unit: its own values, never the other's
            record_id for record_id, (_, reading) in stored.items() if compare(-float(reading), float(threshold))}

    check()


def test_numbers_and_times_beyond_a_double_or_utc_are_no_terms():
    """Capture refuses them; a body edited by hand may hold them, and deriving its terms must still work
    (verification then reports the row, never fails)."""
    from service.ingest.indexing import event_terms

    terms = event_terms({"quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.1", "quantity": 10**400}],
                         "sensorElementList": [{"sensorMetadata": {"startTime": "0001-01-01T00:00:00+01:00"},
                                                "sensorReport": [{"type": "Temperature", "value": 10**400, "uom": "CEL"}]}]})
    assert {name for name, _ in terms} == {"epc_class", "sensor_type"}
