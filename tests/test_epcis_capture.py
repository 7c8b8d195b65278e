"""Capture through the standard EPCIS 2.0 binding, through HTTP on SQLite and PostgreSQL: one event
at once (``POST /epcis/events``) and durable capture jobs (``POST /epcis/capture``), with the GS1
examples."""

import json
from urllib.parse import quote, unquote

from support import DATA

EXAMPLES = DATA / "epcis" / "examples"
JSON = {"Content-Type": "application/json"}


def example_events(name: str) -> list[dict]:
    """The events of a GS1 example, each with the document's @context (as a bare event needs)."""
    document = json.loads((EXAMPLES / name).read_text())
    return [{"@context": document["@context"], **event} for event in document["epcisBody"]["eventList"]]


def post_event(api, event: dict, who: str = "farm"):
    return api.client.post("/epcis/events", content=json.dumps(event), headers={**api.as_(who), **JSON})


def test_one_event_is_captured_at_its_location_and_a_second_capture_conflicts(api):
    with_id, without_id = example_events("Example_9.6.1-ObjectEvent.jsonld")[:2]
    with_id["eventID"] = "urn:uuid:5b1c6a4e-37b7-4d3c-9d62-6d1c1d0b3c01"
    without_id.pop("eventID", None)
    for event in (with_id, without_id):
        response = post_event(api, event)
        assert response.status_code == 201, response.text
        location = response.headers["Location"]
        assert location.startswith("/epcis/events/")
        found = api.client.get(location, headers=api.as_("farm"))
        assert found.status_code == 200, found.text
        [stored] = found.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        assert stored["eventID"] == unquote(location.removeprefix("/epcis/events/"))
    again = post_event(api, with_id)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["type"] == "epcisException:ResourceAlreadyExistsException"
    assert api.client.post("/v1/events", content=json.dumps(with_id), headers={**api.as_("farm"), **JSON}).status_code == 200
    assert post_event(api, with_id, who="processor").status_code == 201  # another party's capture is its own
    location = "/epcis/events/" + quote(with_id["eventID"], safe="")
    assert len(api.client.get(location, headers=api.as_("auditor")).json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 2


def test_events_without_an_id_are_found_by_their_hash_id(api):
    event = example_events("Example_9.6.3-AggregationEvent.jsonld")[0]
    event.pop("eventID", None)
    location = post_event(api, event).headers["Location"]
    assert unquote(location).startswith("/epcis/events/ni:///sha-256;")
    v1 = api.client.get("/v1/events", headers=api.as_("farm")).json()["events"]
    assert [e["event_hash_id"] for e in v1] == [unquote(location.removeprefix("/epcis/events/"))]


def test_a_document_or_an_invalid_event_is_refused_as_a_problem(api):
    document = (EXAMPLES / "Example_9.6.1-ObjectEvent.jsonld").read_bytes()
    refused = api.client.post("/epcis/events", content=document, headers={**api.as_("farm"), **JSON})
    assert refused.status_code == 400 and refused.json()["type"] == "epcisException:ValidationException"
    event = example_events("Example_9.6.1-ObjectEvent.jsonld")[0]
    event["action"] = "SHOUT"
    refused = post_event(api, event)
    assert refused.status_code == 400 and "action" in refused.json()["detail"]
    assert post_event(api, example_events("Example_9.6.1-ObjectEvent.jsonld")[0], who="auditor").status_code == 403
