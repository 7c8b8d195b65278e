"""The standard EPCIS 2.0 query binding under /epcis, through HTTP, with the GS1 examples captured
through /v1 by a supplier; every EPCISQueryDocument is validated against the official JSON Schema."""

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib.resources import files
from urllib.parse import quote, unquote

import jsonschema_rs
import pytest
from support import DATA

EXAMPLES = DATA / "epcis" / "examples"


@cache
def query_document_validator() -> jsonschema_rs.Draft7Validator:
    """The official EPCIS 2.0 schema bundled for capture, rooted at its EPCISQueryDocument definition."""
    schema_dir = files("service.ingest.validation") / "schema"
    resources = [json.loads(entry.read_text(encoding="utf-8")) for folder in (schema_dir, schema_dir / "schemas")
                 for entry in folder.iterdir() if entry.name.endswith(".json")]
    registry = jsonschema_rs.Registry([(resource["$id"], resource) for resource in resources])
    documents = json.loads((schema_dir / "EPCIS-Document-JSON-Schema.json").read_text(encoding="utf-8"))
    schema = {"$ref": documents["$id"] + "#/definitions/epcisQueryDocument"}
    return jsonschema_rs.Draft7Validator(schema, registry=registry, validate_formats=True, offline=True)


def get_document(api, path: str, who: str = "farm", **params):
    response = api.client.get(path, params=params, headers=api.as_(who))
    assert response.status_code == 200, response.text
    document = response.json()
    errors = [error.message for error in query_document_validator().iter_errors(document)]
    assert not errors, errors[:3]
    return response, document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def capture(api, name: str, who: str = "farm") -> list[dict]:
    response = api.client.post("/v1/events", content=(EXAMPLES / name).read_bytes(),
                               headers={**api.as_(who), "Content-Type": "application/json"})
    assert response.status_code in (200, 201), response.text
    return response.json()["events"]


@pytest.fixture
def stocked(api):
    """The ObjectEvent examples captured by farm, the aggregation example by processor."""
    capture(api, "Example_9.6.1-ObjectEvent.jsonld")
    capture(api, "Example_9.6.3-AggregationEvent.jsonld", who="processor")
    return api


def test_events_are_a_valid_query_document_scoped_to_the_key(stocked):
    _, farm = get_document(stocked, "/epcis/events")
    _, processor = get_document(stocked, "/epcis/events", who="processor")
    _, auditor = get_document(stocked, "/epcis/events", who="auditor")
    assert farm and processor
    assert {e["type"] for e in processor} == {"AggregationEvent"}
    assert "AggregationEvent" not in {e["type"] for e in farm}
    assert len(auditor) == len(farm) + len(processor)


def test_query_parameters_filter_like_v1(stocked):
    for params in ({"eventType": "ObjectEvent"}, {"EQ_bizStep": "shipping"}, {"GE_eventTime": "2005-04-04T00:00:00Z"},
                   {"LT_recordTime": "2100-01-01T00:00:00Z"}, {"GE_recordTime": "2100-01-01T00:00:00Z"}):
        _, events = get_document(stocked, "/epcis/events", who="auditor", **params)
        v1 = stocked.client.get("/v1/events", params=params, headers=stocked.as_("auditor")).json()["events"]
        assert [e["eventID"] for e in events] == [e["event_hash_id"] if "eventID" not in e["event"] else e["event"]["eventID"] for e in v1]
    _, none = get_document(stocked, "/epcis/events", who="auditor", GE_recordTime="2100-01-01T00:00:00Z")
    assert none == []


def test_epcs_are_digital_links_by_default_and_as_captured_on_request(stocked):
    _, linked = get_document(stocked, "/epcis/events", eventType="ObjectEvent")
    epcs = [epc for event in linked for epc in event.get("epcList", [])]
    assert epcs and all(epc.startswith("https://id.gs1.org/") for epc in epcs)
    response = stocked.client.get("/epcis/events", params={"eventType": "ObjectEvent"},
                                  headers={**stocked.as_("farm"), "GS1-EPC-Format": "Never_Translates"})
    assert response.headers["GS1-EPC-Format"] == "Never_Translates"
    raw = [epc for event in response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"] for epc in event.get("epcList", [])]
    assert all(epc.startswith("urn:epc:id:") for epc in raw)
    urns = stocked.client.get("/epcis/events", params={"eventType": "ObjectEvent"}, headers={**stocked.as_("farm"), "GS1-EPC-Format": "Always_EPC_URN"})
    assert urns.json()["epcisBody"] == response.json()["epcisBody"]  # captured as URNs: as captured
    refused = stocked.client.get("/epcis/events", headers={**stocked.as_("farm"), "GS1-EPC-Format": "Always_Something"})
    assert refused.status_code == 406 and refused.json()["type"] == "epcisException:NotAcceptableException"


def test_match_epc_accepts_urns_and_digital_links(stocked):
    _, by_urn = get_document(stocked, "/epcis/events", MATCH_epc="urn:epc:id:sgtin:0614141.107346.2017")
    _, by_link = get_document(stocked, "/epcis/events", MATCH_epc="https://id.gs1.org/01/10614141073464/21/2017")
    assert by_urn and [e["eventID"] for e in by_urn] == [e["eventID"] for e in by_link]
    _, parents = get_document(stocked, "/epcis/events", who="processor", MATCH_parentID="urn:epc:id:sscc:0614141.1234567890")
    assert [e["type"] for e in parents] == ["AggregationEvent"]
    _, no_parent = get_document(stocked, "/epcis/events", who="processor", MATCH_parentID="urn:epc:id:sscc:0614141.0000000001")
    assert no_parent == []


def test_pages_link_to_the_next_until_the_last(stocked):
    _, everything = get_document(stocked, "/epcis/events", who="auditor")
    seen, path, params = [], "/epcis/events", {"perPage": "1"}
    while True:
        response, events = get_document(stocked, path, who="auditor", **params)
        seen += [e["eventID"] for e in events]
        if "Link" not in response.headers:
            break
        link = response.headers["Link"]
        assert link.endswith('>; rel="next"') and "nextPageToken=" in link
        expires = datetime.fromisoformat(response.headers["GS1-Next-Page-Token-Expires"].replace("Z", "+00:00"))
        assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1, seconds=1)
        path, _, query = link[1:link.index(">")].partition("?")
        params = dict(part.split("=", 1) for part in query.split("&"))
        params = {k: unquote(v) for k, v in params.items()}
    assert seen == [e["eventID"] for e in everything] and len(seen) > 1


def test_one_event_by_its_url_encoded_hash_id(stocked):
    _, events = get_document(stocked, "/epcis/events")
    event_id = events[0]["eventID"]
    _, found = get_document(stocked, "/epcis/events/" + quote(event_id, safe=""))
    assert [e["eventID"] for e in found] == [event_id]
    missing = stocked.client.get("/epcis/events/" + quote("ni:///sha-256;00?ver=CBV2.0", safe=""), headers=stocked.as_("farm"))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["type"] == "epcisException:NoSuchNameException"
    hidden = stocked.client.get("/epcis/events/" + quote(event_id, safe=""), headers=stocked.as_("processor"))
    assert hidden.status_code == 404


@pytest.mark.parametrize("params, field", [({"bogus": "1"}, "bogus"), ({"GE_eventTime": "yesterday"}, "GE_eventTime"),
                                           ({"eventType": "NoEvent"}, "eventType"), ({"perPage": "0"}, "perPage")])
def test_unknown_or_malformed_parameters_are_query_parameter_exceptions(api, params, field):
    response = api.client.get("/epcis/events", params=params, headers=api.as_("farm"))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "epcisException:QueryParameterException" and problem["field"] == field and problem["status"] == 400


def test_security_problems_for_missing_keys_and_wrong_roles(api):
    anonymous = api.client.get("/epcis/events")
    assert anonymous.status_code == 401 and anonymous.json()["type"] == "epcisException:SecurityException"
    lender = api.client.get("/epcis/events", headers=api.as_("bank"))
    assert lender.status_code == 403 and lender.json()["type"] == "epcisException:SecurityException"
    v1 = api.client.get("/v1/events", params={"bogus": "1"}, headers=api.as_("farm"))
    assert v1.status_code == 422 and v1.json()["error"] == "InvalidParameter"  # /v1 keeps its own shape


@pytest.mark.parametrize("path, allowed", [("/epcis/", "GET, OPTIONS"), ("/epcis/events", "GET, OPTIONS, POST"),
                                           ("/epcis/events/x", "GET, OPTIONS"), ("/epcis/bizSteps", "GET, OPTIONS"),
                                           ("/epcis/readPoints/x/events", "GET, OPTIONS"), ("/epcis/epcs/x/events", "GET, OPTIONS")])
def test_options_answers_allow_and_the_gs1_headers(api, path, allowed):
    response = api.client.options(path)
    assert response.status_code == 204
    assert response.headers["Allow"] == allowed
    for header in ("GS1-EPCIS-Version", "GS1-EPCIS-Min", "GS1-EPCIS-Max", "GS1-CBV-Version", "GS1-Extensions",
                   "GS1-EPC-Format", "GS1-Vendor-Version"):
        assert header in response.headers


def test_index_lists_the_top_level_resources(api):
    response = api.client.get("/epcis/", headers=api.as_("farm"))
    assert response.status_code == 200 and response.json() == {
        "@context": "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", "type": "Collection", "member": [
        "events", "capture", "eventTypes", "bizSteps", "bizLocations", "readPoints", "dispositions", "epcs", "queries"]}


def test_events_are_found_by_captured_event_id_or_by_hash_id(stocked):
    stored = stocked.client.get("/v1/events", params={"eventType": "ObjectEvent"}, headers=stocked.as_("farm")).json()["events"]
    with_id = next(e for e in stored if "eventID" in e["event"])
    assert with_id["event"]["eventID"] != with_id["event_hash_id"]
    for event_id in (with_id["event"]["eventID"], with_id["event_hash_id"]):
        _, found = get_document(stocked, "/epcis/events", EQ_eventID=event_id)
        assert [e["eventID"] for e in found] == [with_id["event"]["eventID"]]
        _, one = get_document(stocked, "/epcis/events/" + quote(event_id, safe=""))
        assert [e["eventID"] for e in one] == [with_id["event"]["eventID"]]
    event = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "ObjectEvent", "eventTime": "2026-09-01T07:55:00Z", "eventTimeZoneOffset": "+00:00",
             "epcList": ["urn:epc:id:sgtin:0614141.107346.99"], "action": "OBSERVE"}
    response = stocked.client.post("/v1/events", json=event, headers=stocked.as_("farm"))
    assert response.status_code == 201, response.text
    hash_id = response.json()["events"][0]["event_hash_id"]
    _, found = get_document(stocked, "/epcis/events", EQ_eventID=hash_id)
    assert [e["eventID"] for e in found] == [hash_id]


def test_event_count_limit_gives_one_page_and_max_event_count_refuses_more(stocked):
    _, everything = get_document(stocked, "/epcis/events", who="auditor")
    response, limited = get_document(stocked, "/epcis/events", who="auditor", eventCountLimit="1", perPage="5")
    assert [e["eventID"] for e in limited] == [everything[0]["eventID"]] and "Link" not in response.headers
    _, within = get_document(stocked, "/epcis/events", who="auditor", maxEventCount=str(len(everything)))
    assert len(within) == len(everything)
    over = stocked.client.get("/epcis/events", params={"maxEventCount": str(len(everything) - 1)}, headers=stocked.as_("auditor"))
    assert over.status_code == 413 and over.json()["type"] == "epcisException:QueryTooLargeException"
    assert over.json()["field"] == "maxEventCount"
    both = stocked.client.get("/epcis/events", params={"maxEventCount": "5", "eventCountLimit": "5"}, headers=stocked.as_("auditor"))
    assert both.status_code == 400 and both.json()["type"] == "epcisException:QueryParameterException"


def test_browse_collections_list_what_the_key_may_read_and_lead_to_their_events(stocked):
    farm = stocked.client.get("/epcis/bizSteps", headers=stocked.as_("farm")).json()
    processor = stocked.client.get("/epcis/bizSteps", headers=stocked.as_("processor")).json()
    assert farm["type"] == "Collection" and farm["member"] and "nextPageToken" not in farm
    auditor = stocked.client.get("/epcis/bizSteps", headers=stocked.as_("auditor")).json()["member"]
    assert set(farm["member"]) | set(processor["member"]) == set(auditor)
    first = stocked.client.get("/epcis/bizSteps", params={"perPage": "1"}, headers=stocked.as_("auditor")).json()
    rest = stocked.client.get("/epcis/bizSteps", params={"perPage": "1000", "nextPageToken": first["nextPageToken"]},
                              headers=stocked.as_("auditor")).json()
    everything = stocked.client.get("/epcis/bizSteps", headers=stocked.as_("auditor")).json()["member"]
    assert first["member"] + rest["member"] == everything == sorted(everything)
    for step in farm["member"]:
        _, events = get_document(stocked, "/epcis/bizSteps/" + quote(step, safe="") + "/events")
        _, queried = get_document(stocked, "/epcis/events", EQ_bizStep=step)
        assert events and [e["eventID"] for e in events] == [e["eventID"] for e in queried]
    step = quote(farm["member"][0], safe="")
    assert stocked.client.get(f"/epcis/bizSteps/{step}", headers=stocked.as_("farm")).json()["member"] == ["events"]
    twice = stocked.client.get(f"/epcis/bizSteps/{step}/events", params={"EQ_bizStep": "shipping"}, headers=stocked.as_("farm"))
    assert twice.status_code == 400 and twice.json()["field"] == "EQ_bizStep"


@pytest.mark.parametrize("resource, parameter", [("eventTypes", "eventType"), ("bizLocations", "EQ_bizLocation"),
                                                  ("readPoints", "EQ_readPoint"), ("dispositions", "EQ_disposition")])
def test_each_browse_resource_gives_the_events_its_filter_gives(stocked, resource, parameter):
    values = stocked.client.get(f"/epcis/{resource}", headers=stocked.as_("auditor")).json()["member"]
    assert values
    for value in values:
        _, events = get_document(stocked, f"/epcis/{resource}/{quote(value, safe='')}/events", who="auditor")
        _, queried = get_document(stocked, "/epcis/events", who="auditor", **{parameter: value})
        assert events and [e["eventID"] for e in events] == [e["eventID"] for e in queried]
    assert stocked.client.get("/epcis/eventTypes/NoEvent", headers=stocked.as_("farm")).status_code == 404


def test_epc_events_match_the_urn_or_the_digital_link(stocked):
    urn = "urn:epc:id:sgtin:0614141.107346.2017"
    _, by_urn = get_document(stocked, "/epcis/epcs/" + quote(urn, safe="") + "/events")
    _, by_link = get_document(stocked, "/epcis/epcs/" + quote("https://id.gs1.org/01/10614141073464/21/2017", safe="") + "/events")
    _, queried = get_document(stocked, "/epcis/events", MATCH_anyEPC=urn)
    assert by_urn and [e["eventID"] for e in by_urn] == [e["eventID"] for e in by_link] == [e["eventID"] for e in queried]


def test_action_source_and_destination_filters(api):
    capture(api, "Example-Type-sourceOrDestination,measurement,bizTransaction.jsonld")
    document = json.loads((EXAMPLES / "Example-Type-sourceOrDestination,measurement,bizTransaction.jsonld").read_text())
    events = document["epcisBody"]["eventList"]
    with_source = next(e for e in events if e.get("sourceList"))
    source = with_source["sourceList"][0]
    kind = source["type"].rsplit("-", 1)[-1].rsplit(":", 1)[-1]
    _, found = get_document(api, "/epcis/events", **{f"EQ_source_{kind}": source["source"]})
    expected = [e["eventID"] for e in events if any(s == source for s in e.get("sourceList", []))]
    assert expected and sorted(e["eventID"] for e in found) == sorted(expected)
    _, nothing = get_document(api, "/epcis/events", **{f"EQ_destination_{kind}": "urn:epc:id:sgln:0000000.00000.0"})
    assert nothing == []
    action = events[0]["action"]
    _, acted = get_document(api, "/epcis/events", EQ_action=action)
    assert sorted(e["eventID"] for e in acted) == sorted(e["eventID"] for e in events if e.get("action") == action)
    bad = api.client.get("/epcis/events", params={"EQ_action": "JUMP"}, headers=api.as_("farm"))
    assert bad.status_code == 400 and bad.json()["field"] == "EQ_action"


def test_order_by_record_time_and_direction(stocked):
    early = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "ObjectEvent",
             "eventTime": "2000-01-01T00:00:00Z", "eventTimeZoneOffset": "+00:00",
             "epcList": ["urn:epc:id:sgtin:0614141.107346.7"], "action": "OBSERVE"}
    assert stocked.client.post("/v1/events", json=early, headers=stocked.as_("farm")).status_code == 201  # stored last, happened first
    _, by_record = get_document(stocked, "/epcis/events", orderBy="recordTime")
    _, newest_first = get_document(stocked, "/epcis/events", orderBy="recordTime", orderDirection="DESC")
    _, by_event = get_document(stocked, "/epcis/events", orderBy="eventTime")
    assert by_record[-1]["eventTime"] == by_event[0]["eventTime"] == "2000-01-01T00:00:00Z"
    assert [e["eventID"] for e in newest_first] == [e["eventID"] for e in by_record][::-1]


def test_within_a_location_is_the_location_itself_when_no_hierarchy_is_known(stocked):
    """WD_readPoint / WD_bizLocation: the standard's rule when no master data names descendants
    (hierarchies: tests/test_location_hierarchy.py)."""
    _, everything = get_document(stocked, "/epcis/events", who="auditor")  # locations as Digital Links, which queries take too
    located = [e for e in everything if isinstance(e.get("bizLocation"), dict)]
    assert located
    location = located[0]["bizLocation"]["id"]
    for name in ("EQ_bizLocation", "WD_bizLocation"):
        _, found = get_document(stocked, "/epcis/events", who="auditor", **{name: location})
        assert len(found) == sum(1 for e in located if e["bizLocation"]["id"] == location), name
    point = next(e["readPoint"]["id"] for e in everything if isinstance(e.get("readPoint"), dict))
    assert get_document(stocked, "/epcis/events", who="auditor", WD_readPoint=point)[1] == \
        get_document(stocked, "/epcis/events", who="auditor", EQ_readPoint=point)[1]
    both = get_document(stocked, "/epcis/events", who="auditor", EQ_readPoint=point, WD_readPoint=point)[1]
    assert both == get_document(stocked, "/epcis/events", who="auditor", EQ_readPoint=point)[1]  # both hold
