"""WD_bizLocation and WD_readPoint over the location hierarchy of captured master data
(``epcisHeader.epcisMasterData``): descendants at any depth, only through hierarchies declared by
parties whose events the caller may read, cycles ending, EQ_ unchanged, all or nothing at capture."""

import pytest
from sqlmodel import func, select
from test_epcis_capture import captured_job
from test_epcis_query import get_document

from service.access.viewer import Viewer
from service.errors import Conflict
from service.hashing.identifiers import canonical_identifier
from service.ingest import records
from service.models import LocationEdge
from service.read import parameters, queries

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
BUSINESS_LOCATION, READ_POINT = "urn:epcglobal:epcis:vtype:BusinessLocation", "urn:epcglobal:epcis:vtype:ReadPoint"


def sgln(location: int) -> str:
    return f"urn:epc:id:sgln:0037000.00729.{location}"


SITE, DOCK, WAREHOUSE, AISLE, SHELF, ELSEWHERE = (sgln(n) for n in (0, 8201, 8202, 8203, 8204, 9999))


def event(place: str, *, serial: int, read_point: str | None = None) -> dict:
    return {"type": "ObjectEvent", "eventTime": f"2026-05-01T10:00:{serial:02d}Z", "eventTimeZoneOffset": "+00:00",
            "epcList": [f"urn:epc:id:sgtin:0037000.011111.{serial}"], "action": "OBSERVE",
            "bizLocation": {"id": place}, "readPoint": {"id": read_point or place}}


def document(events: list[dict], *vocabularies: tuple[str, dict[str, list[str]]]) -> dict:
    """An EPCISDocument whose header's master data gives each vocabulary's elements with their children."""
    master_data = {"vocabularyList": [
        {"type": kind, "vocabularyElementList": [
            {"id": parent, "attributes": [{"id": "urn:epcglobal:cbv:mda:sst", "attribute": "201"}], "children": children}
            for parent, children in elements.items()]}
        for kind, elements in vocabularies]}
    return {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-05-01T00:00:00Z",
            "epcisHeader": {"epcisMasterData": master_data}, "epcisBody": {"eventList": events}}


def capture_v1(api, body: dict, who: str = "farm"):
    return api.client.post("/v1/events", json=body, headers=api.as_(who))


def places(api, who: str = "farm", **params) -> list[str]:
    """The bizLocation of each event found, as the URN the test captured it with."""
    _, events = get_document(api, "/epcis/events", who=who, **params)
    urns = {canonical_identifier(place): place for place in (SITE, DOCK, WAREHOUSE, AISLE, SHELF, ELSEWHERE)}
    return sorted(urns[e["bizLocation"]["id"]] for e in events)


SITE_TREE = (BUSINESS_LOCATION, {SITE: [DOCK, WAREHOUSE], WAREHOUSE: [AISLE], AISLE: [SHELF]})


def test_a_document_captured_with_master_data_through_epcis_capture_answers_descendants_at_any_depth(api):
    events = [event(place, serial=n) for n, place in enumerate((SITE, DOCK, WAREHOUSE, AISLE, SHELF, ELSEWHERE))]
    job = captured_job(api, document(events, SITE_TREE, (READ_POINT, {DOCK: [AISLE]})))
    assert job["success"], job
    assert places(api, WD_bizLocation=SITE) == sorted([SITE, DOCK, WAREHOUSE, AISLE, SHELF])
    assert places(api, WD_bizLocation=canonical_identifier(SITE)) == places(api, WD_bizLocation=SITE)  # a Digital Link too
    assert places(api, WD_bizLocation=WAREHOUSE) == sorted([WAREHOUSE, AISLE, SHELF])  # two levels down
    assert places(api, WD_bizLocation=f"{DOCK},{AISLE}") == sorted([DOCK, AISLE, SHELF])
    assert places(api, WD_bizLocation=SHELF) == [SHELF]  # a leaf: the location itself
    # readPoint walks the ReadPoint vocabulary only: DOCK -> AISLE there, not the BusinessLocation tree
    assert places(api, WD_readPoint=DOCK) == sorted([DOCK, AISLE])
    assert places(api, WD_readPoint=SITE) == [SITE]
    # EQ_ is the location alone, as before; with WD_ both must hold
    assert places(api, EQ_bizLocation=SITE) == [SITE]
    assert places(api, EQ_bizLocation=AISLE, WD_bizLocation=SITE) == [AISLE]
    assert places(api, EQ_bizLocation=ELSEWHERE, WD_bizLocation=SITE) == []
    # both walks in one query (each its own recursive CTE) must both hold
    assert places(api, WD_bizLocation=SITE, WD_readPoint=DOCK) == sorted([DOCK, AISLE])


def test_the_v1_capture_stores_master_data_with_its_events_or_neither(api, monkeypatch):
    def conflicting(session, **kwargs):  # the events fail once the edges are written: neither may stay
        raise Conflict("event 'x' already exists with different content", field="id")

    with monkeypatch.context() as patched:
        patched.setattr(records, "store_candidates", conflicting)
        assert capture_v1(api, document([event(DOCK, serial=1), event(AISLE, serial=2)], SITE_TREE)).status_code == 409
    with api.ledger.session() as session:
        assert session.exec(select(func.count()).select_from(LocationEdge)).one() == 0
    assert capture_v1(api, document([event(DOCK, serial=1), event(AISLE, serial=2)], SITE_TREE)).status_code == 201
    assert places(api, WD_bizLocation=SITE) == [DOCK, AISLE]
    assert places(api, "auditor", WD_bizLocation=WAREHOUSE) == [AISLE]


def test_another_partys_hierarchy_does_not_shape_a_query(api):
    assert capture_v1(api, document([event(ELSEWHERE, serial=1), event(DOCK, serial=2)], SITE_TREE)).status_code == 201
    # the processor declares the farm's ELSEWHERE to be inside SITE, and SHELF inside ELSEWHERE
    hijack = document([event(SHELF, serial=3)], (BUSINESS_LOCATION, {SITE: [ELSEWHERE], ELSEWHERE: [SHELF]}))
    assert capture_v1(api, hijack, who="processor").status_code == 201
    assert places(api, WD_bizLocation=SITE) == [DOCK]  # the farm: its own hierarchy only
    assert places(api, "processor", WD_bizLocation=SITE) == [SHELF]  # the processor sees only its events
    assert places(api, "auditor", WD_bizLocation=SITE) == sorted([DOCK, ELSEWHERE, SHELF])  # the auditor reads both parties
    grant = api.client.post("/v1/grants", json={"grantee": "farm"}, headers=api.as_("processor"))
    assert grant.status_code == 201, grant.text
    assert places(api, WD_bizLocation=SITE) == sorted([DOCK, ELSEWHERE, SHELF])  # shared with the farm: its master data too


def test_a_cycle_in_master_data_ends(api):
    cyclic = (BUSINESS_LOCATION, {SITE: [DOCK], DOCK: [WAREHOUSE], WAREHOUSE: [SITE, AISLE]})
    events = [event(place, serial=n) for n, place in enumerate((SITE, DOCK, WAREHOUSE, AISLE, ELSEWHERE))]
    assert capture_v1(api, document(events, cyclic)).status_code == 201
    assert places(api, WD_bizLocation=SITE) == places(api, WD_bizLocation=WAREHOUSE) == sorted([SITE, DOCK, WAREHOUSE, AISLE])


def test_the_walk_is_bounded_in_depth_and_in_locations(api, monkeypatch):
    chain = [sgln(100 + level) for level in range(queries.MAX_LOCATION_DEPTH + 2)]
    deep = (BUSINESS_LOCATION, {parent: [child] for parent, child in zip(chain, chain[1:])})
    events = [event(place, serial=level) for level, place in enumerate(chain)]
    assert capture_v1(api, document(events, deep)).status_code == 201
    _, found = get_document(api, "/epcis/events", perPage="1000", WD_bizLocation=chain[0])
    assert [e["bizLocation"]["id"] for e in found] == [canonical_identifier(place) for place in chain[:-1]]  # not the 33rd level
    monkeypatch.setattr(queries, "MAX_DESCENDANTS", 5)
    refused = api.client.get("/epcis/events", params={"WD_bizLocation": chain[0]}, headers=api.as_("farm"))
    assert refused.status_code == 413 and refused.json()["field"] == "WD_bizLocation"
    assert api.client.get("/epcis/events", params={"WD_bizLocation": chain[-6]}, headers=api.as_("farm")).status_code == 200
    with api.ledger.session() as session:  # what a webhook delivery runs: no 413 there, at most that many locations below
        statement = queries.matching_events(parameters.parse_event_query({"WD_bizLocation": chain[0]}), viewer=Viewer(party="farm"))
        assert len(session.exec(statement).all()) == 1 + 5


@pytest.mark.parametrize("too_long", ["children", "id"])
def test_an_overlong_id_in_master_data_is_refused_naming_it(api, too_long):
    long = "urn:example:loc:" + "x" * 300
    elements = {SITE: [long]} if too_long == "children" else {long: [SITE]}
    refused = capture_v1(api, document([event(SITE, serial=1)], (BUSINESS_LOCATION, elements)))
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"].startswith("epcisHeader.epcisMasterData.vocabularyList[0].vocabularyElementList[0].")
