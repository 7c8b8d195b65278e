"""Content negotiation of event reads through HTTP: ``Accept: application/xml`` (or ``text/xml``) answers
EPCIS 2.0 XML valid against the official XSDs on ``/v1/events[/{id}]`` and every ``/epcis`` query; JSON
stays the default; an ``Accept`` naming neither is 406 (an RFC 7807 problem under ``/epcis``)."""

from urllib.parse import quote

import pytest
from lxml import etree

from service.hashing import hash_document

from support import DATA
from test_xml_answers import DOCUMENT_SCHEMA, QUERY_SCHEMA, _oracle_hashes

EXAMPLES = DATA / "epcis" / "examples"
XML = {"Accept": "application/xml"}
EVENT_TAGS = {"ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent"}


@pytest.fixture
def stocked(api):
    """Farm's full-combination ObjectEvent and the sensor examples; processor's aggregation example."""
    for name, who in (("WithFullCombinationOfFields/object_event_all_possible_fields.jsonld", "farm"),
                      ("WithSensorData/SensorDataExample1.jsonld", "farm"),
                      ("Example_9.6.3-AggregationEvent.jsonld", "processor")):
        response = api.client.post("/v1/events", content=(EXAMPLES / name).read_bytes(),
                                   headers={**api.as_(who), "Content-Type": "application/json"})
        assert response.status_code in (200, 201), response.text
    return api


def _xml(api, path: str, who: str = "farm", *, schema=QUERY_SCHEMA, accept: str = "application/xml", **params):
    response = api.client.get(path, params=params, headers={**api.as_(who), "Accept": accept})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = etree.fromstring(response.content)
    assert schema.validate(root), schema.error_log
    return response, root


def _events(root) -> list[etree._Element]:
    return [element for element in root.iter() if element.tag in EVENT_TAGS]


def test_epcis_events_answer_a_valid_query_document_in_xml(stocked):
    response, root = _xml(stocked, "/epcis/events")
    assert root.tag == "{urn:epcglobal:epcis-query:xsd:2}EPCISQueryDocument"
    assert root.findtext(".//queryName") == "SimpleEventQuery"
    as_json = stocked.client.get("/epcis/events", headers=stocked.as_("farm")).json()
    json_events = as_json["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [event.findtext("eventID") for event in _events(root)] == [event["eventID"] for event in json_events]
    epcs = [epc.text for epc in root.iter("epc")]
    assert epcs and all(epc.startswith("https://id.gs1.org/") for epc in epcs)  # GS1-EPC-Format applies to XML too
    assert response.headers["GS1-EPC-Format"] == "Always_GS1_Digital_Link"


def test_xml_answers_hash_like_the_stored_events(stocked):
    """The reference implementation reading the XML answer gives the hash IDs the ledger stored."""
    _, root = _xml(stocked, "/v1/events", who="auditor", schema=DOCUMENT_SCHEMA)
    stored = stocked.client.get("/v1/events", headers=stocked.as_("auditor")).json()["events"]
    assert _oracle_hashes(etree.tostring(root)) == [event["event_hash_id"] for event in stored]


def test_text_xml_and_quality_values_choose_xml(stocked):
    for accept in ("text/xml", "application/json;q=0.5, application/xml", "application/xml, */*;q=0.1", "text/*"):
        _xml(stocked, "/epcis/events", accept=accept)


@pytest.mark.parametrize("accept", [None, "", "*/*", "application/json", "application/ld+json",
                                    "application/*", "application/ld+json, application/xml;q=0.9"])
def test_json_stays_the_default(stocked, accept):
    headers = {**stocked.as_("farm"), **({"Accept": accept} if accept is not None else {})}
    for path in ("/epcis/events", "/v1/events"):
        response = stocked.client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(("application/ld+json", "application/json"))
        response.json()


def test_one_event_in_xml_on_both_apis(stocked):
    listed = stocked.client.get("/v1/events", headers=stocked.as_("farm")).json()["events"][0]
    _, root = _xml(stocked, f"/v1/events/{listed['id']}", schema=DOCUMENT_SCHEMA)
    assert root.tag == "{urn:epcglobal:epcis:xsd:2}EPCISDocument"
    assert len(_events(root)) == 1
    assert [epc.text for epc in root.iter("epc")] == listed["event"].get("epcList", [])  # /v1: as captured
    event_id = listed["event"].get("eventID", listed["event_hash_id"])
    _, one = _xml(stocked, f"/epcis/events/{quote(event_id, safe='')}")
    assert len(_events(one)) == 1


def test_every_epcis_query_endpoint_negotiates(stocked):
    created = stocked.client.post("/epcis/queries", json={"name": "receiving", "query": {"EQ_bizStep": ["receiving"]}},
                                  headers=stocked.as_("farm"))
    assert created.status_code == 201, created.text
    for path in ("/epcis/eventTypes/ObjectEvent/events", "/epcis/bizSteps/receiving/events",
                 f"/epcis/epcs/{quote('urn:epc:id:sgtin:0614141.107346.2018', safe='')}/events",
                 "/epcis/queries/receiving/events"):
        _, root = _xml(stocked, path)
        assert _events(root), path
    _, named = _xml(stocked, "/epcis/queries/receiving/events")
    assert named.findtext(".//queryName") == "receiving"


def test_xml_pages_link_to_the_next_page(stocked):
    response, root = _xml(stocked, "/v1/events", who="auditor", schema=DOCUMENT_SCHEMA, perPage="1")
    assert len(_events(root)) == 1 and 'rel="next"' in response.headers["Link"]
    following = response.headers["Link"].split(">")[0].lstrip("<")
    second = stocked.client.get(following, headers={**stocked.as_("auditor"), **XML})
    assert second.status_code == 200 and etree.fromstring(second.content) is not None
    assert _events(etree.fromstring(second.content))[0].findtext("eventTime") != _events(root)[0].findtext("eventTime")
    epcis, _ = _xml(stocked, "/epcis/events", who="auditor", perPage="1")
    assert 'rel="next"' in epcis.headers["Link"]


@pytest.mark.parametrize("accept", ["text/html", "application/json;q=0, application/xml;q=0", "image/*"])
def test_unsupported_accept_is_406(stocked, accept):
    headers = {**stocked.as_("farm"), "Accept": accept}
    problem = stocked.client.get("/epcis/events", headers=headers)
    assert problem.status_code == 406
    assert problem.headers["content-type"].startswith("application/problem+json")
    assert problem.json()["type"] == "epcisException:NotAcceptableException" and problem.json()["field"] == "Accept"
    refused = stocked.client.get("/v1/events", headers=headers)
    assert refused.status_code == 406 and refused.json()["field"] == "Accept"
    one = stocked.client.get("/v1/events", headers=stocked.as_("farm")).json()["events"][0]["id"]
    assert stocked.client.get(f"/v1/events/{one}", headers=headers).status_code == 406


def test_the_json_answer_and_the_xml_answer_hold_the_same_events(stocked):
    as_json = stocked.client.get("/epcis/events", headers={**stocked.as_("auditor"), "GS1-EPC-Format": "Never_Translates"}).json()
    _, root = _xml(stocked, "/epcis/events", who="auditor")
    assert len(_events(root)) == len(hash_document(as_json)) == 3
