"""GET /epcis/epcs (the EPCs the key may see, as GS1's UriCollection, paged) and /epcis/epcs/{epc};
and GS1-EPC-Format: Always_EPC_URN on query documents."""

from functools import cache
from urllib.parse import quote

import jsonschema
import yaml
from support import DATA
from test_epcis_query import capture, get_document

from service.hashing.identifiers import canonical_identifier

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]


@cache
def uri_collection_schema() -> dict:
    """GS1's UriCollection schema (the 200 answer of GET /epcs), from the binding's OpenAPI document."""
    schemas = yaml.safe_load((DATA / "epcis" / "rest" / "openapi.yaml").read_text())["components"]["schemas"]
    return {**schemas["UriCollection"], "components": {"schemas": {"LDContext": schemas["LDContext"]}}}


def all_epcs(api, who: str, per_page: int) -> list[str]:
    members, params = [], {"perPage": str(per_page)}
    while True:
        response = api.client.get("/epcis/epcs", params=params, headers=api.as_(who))
        assert response.status_code == 200, response.text
        body = response.json()
        assert not list(jsonschema.Draft7Validator(uri_collection_schema()).iter_errors(body))
        assert len(body["member"]) <= per_page and response.headers["GS1-EPC-Format"] == "Always_GS1_Digital_Link"
        members += body["member"]
        if "nextPageToken" not in body:
            return members
        params = {"perPage": str(per_page), "nextPageToken": body["nextPageToken"]}


def named_epcs(events: list[dict]) -> set[str]:
    """Every EPC the events name (lists, parent, inputs, outputs), canonical."""
    named = {epc for event in events for name in ("epcList", "childEPCs", "inputEPCList", "outputEPCList") for epc in event.get(name, [])}
    named |= {event["parentID"] for event in events if "parentID" in event}
    return {canonical_identifier(epc) or epc for epc in named}


def test_epcs_list_what_the_key_may_see_once_each_in_pages(api):
    capture(api, "Example_9.6.1-ObjectEvent.jsonld")
    capture(api, "Example_9.6.3-AggregationEvent.jsonld", who="processor")
    capture(api, "Example_9.6.4-TransformationEvent.jsonld", who="processor")
    for who in ("farm", "processor", "auditor"):
        _, events = get_document(api, "/epcis/events", who=who, perPage="1000")
        expected = sorted(named_epcs(events))
        assert expected and all_epcs(api, who, per_page=1000) == expected
        assert all_epcs(api, who, per_page=3) == expected  # the same list, paged
    farm, processor = (set(all_epcs(api, who, 1000)) for who in ("farm", "processor"))
    assert processor - farm and farm | processor == set(all_epcs(api, "auditor", 1000))  # the processor's own are not the farm's


def test_an_epc_is_a_resource_only_where_the_key_sees_it(api):
    capture(api, "Example_9.6.1-ObjectEvent.jsonld")
    urn = "urn:epc:id:sgtin:0614141.107346.2017"
    for spelling in (urn, canonical_identifier(urn)):
        response = api.client.get("/epcis/epcs/" + quote(spelling, safe=""), headers=api.as_("farm"))
        assert response.status_code == 200 and response.json()["member"] == ["events"]
        _, events = get_document(api, "/epcis/epcs/" + quote(spelling, safe="") + "/events")
        assert events and all(canonical_identifier(urn) in e["epcList"] for e in events)
    for who, epc in (("processor", urn), ("farm", "urn:epc:id:sgtin:0614141.107346.1")):
        missing = api.client.get("/epcis/epcs/" + quote(epc, safe=""), headers=api.as_(who))
        assert missing.status_code == 404 and missing.json()["type"] == "epcisException:NoSuchNameException"


def test_always_epc_urn_keeps_urns_and_translates_links_whose_company_prefix_the_event_names(api):
    location = "urn:epc:id:sgln:4012345.00001.0"  # names company prefix 4012345 (7 digits)
    event = {"type": "ObjectEvent", "eventTime": "2026-05-01T10:00:00Z", "eventTimeZoneOffset": "+00:00", "action": "OBSERVE",
             "epcList": ["https://id.gs1.org/01/04012345111118/21/A%2Fb", "https://example.com/00/340123450000000017",
                         "urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/09521234543213/21/1"],
             "bizLocation": {"id": location}}
    document = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-05-01T00:00:00Z",
                "epcisBody": {"eventList": [event]}}
    assert api.client.post("/v1/events", json=document, headers=api.as_("farm")).status_code == 201
    response = api.client.get("/epcis/events", headers={**api.as_("farm"), "GS1-EPC-Format": "Always_EPC_URN"})
    assert response.status_code == 200 and response.headers["GS1-EPC-Format"] == "Always_EPC_URN"
    [found] = response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert found["epcList"] == [
        "urn:epc:id:sgtin:4012345.011111.A%2Fb", "urn:epc:id:sscc:4012345.3000000001",
        "urn:epc:id:sgtin:0614141.107346.2017",
        "https://id.gs1.org/01/09521234543213/21/1",  # no URN of the event names company 9521234...: left a Digital Link
    ]
    assert found["bizLocation"]["id"] == location
