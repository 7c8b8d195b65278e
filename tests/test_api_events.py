"""EPCIS capture through HTTP: all-or-nothing documents, idempotency, limits, verification, proofs."""

import json

import pytest
from support import DATA
from sqlalchemy import text

from api_helpers import large_document
from service.verify.bundle import check_bundle
from service.ingest.capture import INLINE_BYTES
from service.demo.supply_chain import supply_chain


def count_events(api) -> int:
    return len(api.client.get("/v1/events", params={"perPage": 1000}, headers=api.as_("auditor")).json()["events"])


def test_capture_lists_each_event_in_document_order(api):
    document = supply_chain(run=21)["documents"]["farm"]
    response = api.client.post("/v1/events", json=document, headers=api.as_("farm"))
    assert response.status_code == 201
    events = response.json()["events"]
    assert [e["status"] for e in events] == ["pending"] * 3 and all(e["created"] for e in events)
    types = [api.client.get(f"/v1/events/{e['id']}", headers=api.as_("farm")).json()["type"] for e in events]
    assert types == ["ObjectEvent", "AggregationEvent", "ObjectEvent"]


def test_resubmission_is_idempotent_and_says_so(api):
    document = supply_chain(run=22)["documents"]["farm"]
    first = api.client.post("/v1/events", json=document, headers=api.as_("farm")).json()["events"]
    again = api.client.post("/v1/events", json=document, headers=api.as_("farm"))
    assert again.status_code == 200
    assert [e["id"] for e in again.json()["events"]] == [e["id"] for e in first]
    assert not any(e["created"] for e in again.json()["events"])
    assert count_events(api) == 3


def test_json_ld_media_type_and_single_events_are_accepted(api):
    event = supply_chain(run=23)["documents"]["retailer"]["epcisBody"]["eventList"][0]
    body = json.dumps({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], **event})
    response = api.client.post("/v1/events", content=body, headers={**api.as_("retailer"), "Content-Type": "application/ld+json"})
    assert response.status_code == 201 and len(response.json()["events"]) == 1


def test_one_invalid_event_rejects_the_whole_document_naming_index_and_field(api):
    document = supply_chain(run=24)["documents"]["farm"]
    document["epcisBody"]["eventList"][2]["action"] = "MAYBE"
    response = api.client.post("/v1/events", json=document, headers=api.as_("farm"))
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "epcisBody.eventList[2].action"
    assert body["errors"][0]["index"] == 2
    assert count_events(api) == 0


@pytest.mark.parametrize(
    "content, fragment",
    [("{not json", "not valid JSON"), ("[1, 2]", "expected a JSON object"), ('"text"', "expected a JSON object"), ('{"type": "FooEvent"}', "FooEvent")],
)
def test_malformed_input_is_a_clear_422(api, content, fragment):
    response = api.client.post("/v1/events", content=content, headers={**api.as_("farm"), "Content-Type": "application/json"})
    assert response.status_code == 422
    assert fragment in json.dumps(response.json())
    assert count_events(api) == 0


def test_oversized_bodies_and_documents_are_413(api):
    api.ledger.settings.max_events = 2
    document = supply_chain(run=25)["documents"]["farm"]
    response = api.client.post("/v1/events", json=document, headers=api.as_("farm"))
    assert response.status_code == 413 and "at most 2" in response.json()["detail"]
    huge = b'{"padding": "' + b"x" * (api.ledger.settings.max_body_bytes + 1) + b'"}'
    response = api.client.post("/v1/events", content=huge, headers={**api.as_("farm"), "Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"] == "BodyTooLarge"
    assert count_events(api) == 0


def test_anchored_events_verify_and_their_proofs_check_on_chain(api):
    events = api.client.post("/v1/events", json=supply_chain(run=26)["documents"]["processor"], headers=api.as_("processor")).json()["events"]
    event_id = events[0]["id"]
    pending = api.client.get(f"/v1/events/{event_id}/verification", headers=api.as_("auditor")).json()
    assert pending["status"] == "pending"
    assert api.client.get(f"/v1/events/{event_id}/proof", headers=api.as_("auditor")).status_code == 409
    report = api.client.post("/v1/anchors", headers=api.as_("admin")).json()
    assert report["anchored"] and not report["errors"]
    verified = api.client.get(f"/v1/events/{event_id}/verification", headers=api.as_("processor")).json()
    assert verified["status"] == "verified" and verified["tx_hash"]
    bundle = api.client.get(f"/v1/events/{event_id}/proof", headers=api.as_("processor")).json()
    assert bundle["event_hash_id"] == events[0]["event_hash_id"]
    assert check_bundle(bundle, w3=api.ledger.chain.w3).valid
    anchors = api.client.get("/v1/anchors", headers=api.as_("auditor")).json()["anchors"]
    assert anchors[0]["status"] == "anchored" and anchors[0]["leaf_count"] == 2


def test_every_official_example_the_schema_accepts_is_captured_and_verifiable(api):
    examples = sorted((DATA / "epcis" / "examples").rglob("*.jsonld"))
    captured = []
    for path in examples:
        response = api.client.post("/v1/events", content=path.read_bytes(), headers={**api.as_("farm"), "Content-Type": "application/ld+json"})
        assert response.status_code in (200, 201), (path.name, response.json())
        captured += [e["id"] for e in response.json()["events"]]
    api.client.post("/v1/anchors", headers=api.as_("admin"))
    statuses = {api.client.get(f"/v1/events/{i}/verification", headers=api.as_("auditor")).json()["status"] for i in set(captured)}
    assert statuses == {"verified"}
    assert len(set(captured)) > 40


def test_unknown_record_ids_are_404_and_bad_ids_422(api):
    assert api.client.get("/v1/events/999999", headers=api.as_("auditor")).status_code == 404
    assert api.client.get("/v1/events/abc", headers=api.as_("auditor")).status_code == 422
    assert api.client.get("/v1/events/0/verification", headers=api.as_("auditor")).status_code == 422


def test_a_stored_event_that_no_longer_parses_is_shown_as_stored_and_tampered(api):
    events = api.client.post("/v1/events", json=supply_chain(run=27)["documents"]["farm"], headers=api.as_("farm")).json()["events"]
    api.client.post("/v1/anchors", headers=api.as_("admin"))
    with api.ledger.engine.begin() as connection:
        connection.execute(text("UPDATE record SET body = '{not json' WHERE id = :id"), {"id": events[0]["id"]})
    shown = api.client.get(f"/v1/events/{events[0]['id']}", headers=api.as_("auditor"))
    assert shown.status_code == 200 and shown.json()["event"] == "{not json"
    assert api.client.get("/v1/events", headers=api.as_("auditor")).status_code == 200
    verification = api.client.get(f"/v1/events/{events[0]['id']}/verification", headers=api.as_("auditor")).json()
    assert verification["status"] == "tampered"


def test_large_documents_are_prepared_in_a_worker_process_with_the_same_outcome(api):
    document = large_document(41)
    assert len(json.dumps(document)) > INLINE_BYTES
    api.ledger.settings.capture_processes = 1  # the test settings prepare everything in process
    in_worker = api.client.post("/v1/events", json=document, headers=api.as_("farm"))
    assert in_worker.status_code == 201
    api.ledger.settings.capture_processes = 0
    in_process = api.client.post("/v1/events", json=document, headers=api.as_("farm"))
    assert in_process.status_code == 200, "the same events, already stored"
    assert [e["event_hash_id"] for e in in_worker.json()["events"]] == [e["event_hash_id"] for e in in_process.json()["events"]]
    assert [e["id"] for e in in_worker.json()["events"]] == [e["id"] for e in in_process.json()["events"]]
    assert len({e["id"] for e in in_worker.json()["events"]}) == 300


def test_an_invalid_large_document_is_rejected_from_the_worker_naming_index_and_field(api):
    api.ledger.settings.capture_processes = 1
    document = large_document(42)
    document["epcisBody"]["eventList"][250]["action"] = "MAYBE"
    response = api.client.post("/v1/events", json=document, headers=api.as_("farm"))
    assert response.status_code == 422
    assert response.json()["field"] == "epcisBody.eventList[250].action"
    assert response.json()["errors"][0]["index"] == 250
    assert count_events(api) == 0
    too_many = api.client.post("/v1/events", content=json.dumps(large_document(43, events=10_001)),
                               headers={**api.as_("farm"), "Content-Type": "application/json"})
    assert too_many.status_code == 413
    assert count_events(api) == 0


def test_a_large_answer_built_off_the_event_loop_has_the_shape_of_a_small_one(api):
    from service.api.results import INLINE_ITEMS

    small = api.client.post("/v1/events", json=large_document(44, events=2), headers=api.as_("farm"))
    large = api.client.post("/v1/events", json=large_document(45, events=INLINE_ITEMS + 1), headers=api.as_("farm"))
    again = api.client.post("/v1/events", json=large_document(45, events=INLINE_ITEMS + 1), headers=api.as_("farm"))
    assert (small.status_code, large.status_code, again.status_code) == (201, 201, 200)
    assert small.headers["content-type"] == large.headers["content-type"] == "application/json"
    assert large.json().keys() == small.json().keys() and large.json()["events"][0].keys() == small.json()["events"][0].keys()
    assert len(large.json()["events"]) == INLINE_ITEMS + 1 and all(e["created"] for e in large.json()["events"])
    assert [e["id"] for e in again.json()["events"]] == [e["id"] for e in large.json()["events"]]
    assert not any(e["created"] for e in again.json()["events"])
