"""EPCIS document validation against GS1's official schema, with GS1's own examples as ground truth."""

import copy
import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import pytest
from support import DATA

from service.errors import InvalidRecord
from service.ingest.validation.epcis import MAX_REPORTED_ERRORS, SchemaViolation, TooManyEvents, validate_document

SHARED_EPCIS = DATA / "epcis"
BUNDLED_SCHEMA = Path(__file__).resolve().parents[1] / "service" / "ingest" / "validation" / "schema"
EXAMPLES = sorted((SHARED_EPCIS / "examples").rglob("*.jsonld"))
OBJECT_EVENT_EXAMPLE = SHARED_EPCIS / "examples" / "Example_9.6.1-ObjectEvent.jsonld"
QUERY_EXAMPLE = SHARED_EPCIS / "examples" / "EPCISQueryDocument.jsonld"


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def violations(document: object, *, max_events: int = 1000) -> list[dict]:
    with pytest.raises(SchemaViolation) as caught:
        validate_document(document, max_events=max_events)
    assert caught.value.status_code == 422
    return [asdict(error) for error in caught.value.errors]


@pytest.fixture
def document() -> dict:
    return load(OBJECT_EVENT_EXAMPLE)


@pytest.fixture
def many_events() -> dict:
    """A 60-event document cycling through every event of the official example documents."""
    documents = [load(path) for path in EXAMPLES]
    events = [event for doc in documents if "eventList" in doc.get("epcisBody", {})
              for event in doc["epcisBody"]["eventList"]]
    document = load(OBJECT_EVENT_EXAMPLE)
    document["epcisBody"]["eventList"] = [copy.deepcopy(events[i % len(events)]) for i in range(60)]
    return document


def test_reference_data_is_present():
    assert len(EXAMPLES) == 47, f"expected GS1's 47 examples under {SHARED_EPCIS / 'examples'}"


def test_bundled_schema_is_an_identical_copy_of_the_official_files():
    """SHA256SUMS holds the SHA-256 of each official file of GS1's release (see the schema's README)."""
    official = dict(reversed(line.split("  ")) for line in (BUNDLED_SCHEMA / "SHA256SUMS").read_text().splitlines())
    bundled = {f"./{p.relative_to(BUNDLED_SCHEMA)}": hashlib.sha256(p.read_bytes()).hexdigest() for p in BUNDLED_SCHEMA.rglob("*.json")}
    assert len(official) == 19
    assert bundled == official


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_official_example_is_accepted(example):
    # The schema accepts all 47, the EPCISQueryDocument included (its root dispatches on "type").
    validate_document(load(example), max_events=1000)


@pytest.mark.parametrize("not_an_object", [[], "EPCISDocument", 42, None, True])
def test_non_object_input_is_rejected(not_an_object):
    [error] = violations(not_an_object)
    assert error == {"index": None, "field": "$", "message": error["message"]}
    assert error["message"].startswith("expected a JSON object, got ")


def test_violation_is_an_invalid_record_naming_the_first_field(document):
    document["epcisBody"]["eventList"][0]["bizStep"] = "xyz"
    with pytest.raises(InvalidRecord) as caught:
        validate_document(document, max_events=10)
    assert caught.value.field == "epcisBody.eventList[0].bizStep"


def test_bad_biz_step_is_named_with_a_short_message(document):
    document["epcisBody"]["eventList"][0]["bizStep"] = "xyz"
    assert violations(document) == [{
        "index": 0,
        "field": "epcisBody.eventList[0].bizStep",
        "message": 'event 0: bizStep: "xyz" is not valid under any of the given schemas',
    }]


def test_cbv_urn_biz_step_is_rejected_as_the_json_schema_wants_bare_words(document):
    document["epcisBody"]["eventList"][0]["bizStep"] = "urn:epcglobal:cbv:bizstep:shipping"
    [error] = violations(document)
    assert error["field"] == "epcisBody.eventList[0].bizStep"


def test_missing_event_time_names_the_missing_field(document):
    del document["epcisBody"]["eventList"][0]["eventTime"]
    assert violations(document) == [{
        "index": 0,
        "field": "epcisBody.eventList[0].eventTime",
        "message": 'event 0: "eventTime" is a required property',
    }]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("eventTime", 1700000000, 'eventTime: 1700000000 is not of type "string"'),
        ("eventTime", "yesterday", 'eventTime: "yesterday" is not a "date-time"'),
        ("epcList", "urn:epc:id:sgtin:0614141.107346.2017",
         'epcList: "urn:epc:id:sgtin:0614141.107346.2017" is not of type "array"'),
        ("action", "MAYBE", 'action: "MAYBE" is not one of "OBSERVE", "ADD" or "DELETE"'),
        ("readPoint", {"name": "dock 1"}, 'readPoint: "id" is a required property'),
    ],
)
def test_wrong_types_and_values_are_named(document, field, value, expected):
    document["epcisBody"]["eventList"][0][field] = value
    [error] = violations(document)
    assert error["field"].startswith(f"epcisBody.eventList[0].{field}")
    assert error["message"] == f"event 0: {expected}"


def test_unknown_property_is_named(document):
    document["epcisBody"]["eventList"][0]["colour"] = "red"
    [error] = violations(document)
    assert error["field"] == "epcisBody.eventList[0].colour"
    assert "unexpected property" in error["message"]


def test_extension_property_named_by_a_uri_is_accepted(document):
    document["epcisBody"]["eventList"][0]["https://example.com/ns/colour"] = "red"
    validate_document(document, max_events=10)


@pytest.mark.parametrize("event_type", ["FooEvent", "https://example.com/ShipmentEvent", None, 7])
def test_unknown_event_type_gets_one_clear_error(document, event_type):
    document["epcisBody"]["eventList"][0]["type"] = event_type
    [error] = violations(document)
    assert error["field"] == "epcisBody.eventList[0].type"
    assert error["message"].startswith(f"event 0: unknown event type {json.dumps(event_type)}; expected one of")


def test_document_without_a_known_type_or_body_is_rejected():
    [error] = violations({"type": "Shipment", "eventTime": "2026-01-05T10:00:00Z"})
    assert error["field"] == "type"


def test_document_level_errors_have_no_index(document):
    del document["@context"]
    document["creationDate"] = "now"
    errors = violations(document)
    assert {(e["index"], e["field"]) for e in errors} == {(None, "@context"), (None, "creationDate")}


def test_an_invalid_event_among_many_is_named_by_its_index(many_events):
    validate_document(many_events, max_events=60)
    del many_events["epcisBody"]["eventList"][37]["eventTime"]
    assert violations(many_events) == [{
        "index": 37,
        "field": "epcisBody.eventList[37].eventTime",
        "message": 'event 37: "eventTime" is a required property',
    }]


def test_several_errors_are_collected_in_event_order(many_events):
    events = many_events["epcisBody"]["eventList"]
    events[41]["eventTimeZoneOffset"] = "+25:00"
    events[5]["type"] = "FooEvent"
    events[12] = "not an event"
    errors = violations(many_events)
    assert [(e["index"], e["field"]) for e in errors] == [
        (5, "epcisBody.eventList[5].type"),
        (12, "epcisBody.eventList[12]"),
        (41, "epcisBody.eventList[41].eventTimeZoneOffset"),
    ]


def test_errors_are_capped(many_events):
    for event in many_events["epcisBody"]["eventList"]:
        del event["eventTime"]
    errors = violations(many_events)
    assert [e["index"] for e in errors] == list(range(MAX_REPORTED_ERRORS))


def test_too_many_events_is_rejected_before_schema_validation(many_events):
    validate_document(many_events, max_events=60)
    many_events["epcisBody"]["eventList"] = [None] * 61  # schema-invalid: never looked at
    with pytest.raises(TooManyEvents) as caught:
        validate_document(many_events, max_events=60)
    assert caught.value.field == "epcisBody.eventList"
    assert "61 events" in caught.value.message


def test_bare_event_is_validated_as_an_event(document):
    event = {"@context": document["@context"], **document["epcisBody"]["eventList"][0]}
    validate_document(event, max_events=1)
    event["bizStep"] = "xyz"
    [error] = violations(event)
    assert error == {
        "index": 0,
        "field": "bizStep",
        "message": 'event 0: bizStep: "xyz" is not valid under any of the given schemas',
    }


def test_bare_event_of_unknown_type_names_its_type(document):
    event = {"@context": document["@context"], **document["epcisBody"]["eventList"][0], "type": "ShipmentEvent"}
    [error] = violations(event)
    assert (error["index"], error["field"]) == (0, "type")
    assert error["message"].startswith('event 0: unknown event type "ShipmentEvent"')


def test_bare_event_needs_its_json_ld_context(document):
    event = document["epcisBody"]["eventList"][0]
    [error] = violations(event)
    assert error["field"] == "@context"


def test_query_document_errors_name_the_nested_event_list():
    query_document = load(QUERY_EXAMPLE)
    events = query_document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    del events[1]["eventTime"]
    [error] = violations(query_document)
    assert error["index"] == 1
    assert error["field"] == "epcisBody.queryResults.resultsBody.eventList[1].eventTime"


def test_query_document_counts_towards_max_events():
    query_document = load(QUERY_EXAMPLE)
    count = len(query_document["epcisBody"]["queryResults"]["resultsBody"]["eventList"])
    validate_document(query_document, max_events=count)
    with pytest.raises(TooManyEvents):
        validate_document(query_document, max_events=count - 1)


def test_validation_does_not_modify_the_document(many_events):
    before = copy.deepcopy(many_events)
    validate_document(many_events, max_events=60)
    assert many_events == before
