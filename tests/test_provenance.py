"""Provenance trails over the demo supply chain and small hand-made histories."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from service.demo.supply_chain import supply_chain
from service.errors import NotFound
from service.access.viewer import Viewer
from service.api.schemas.provenance import TrailPublic
from service.read.provenance import trail
from support.records import store_events

START = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)  # the demo chain's default start
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
CRATE_LINK = "https://id.gs1.org/01/00614141111114/21/7000"  # crate 7000 of run 7, canonical
PALLET_LINK = "https://id.gs1.org/00/006141410000000074"  # the run-7 pallet, canonical


def store_demo(ledger, run: int = 7) -> dict:
    data = supply_chain(run=run)
    with ledger.session() as session:
        for party, document in data["documents"].items():
            store_events(session, document=document, party=party)
    return data


def trail_of(ledger, epc: str, *, party: str | None = None, **options):
    viewer = Viewer(party=party) if party else Viewer(party="auditor", everything=True)
    with ledger.session() as session:
        return trail(session, ledger.chain, epc=epc, viewer=viewer, **options)


def hours(event) -> float:
    return (event.record.occurred_at.replace(tzinfo=UTC) - START) / timedelta(hours=1)


def steps(result) -> list[tuple[float, str, str, int]]:
    """(hours after start, event type, bizStep short name, hops) per trail event."""
    return [
        (hours(e), e.record.record_type, json.loads(e.record.body)["bizStep"], e.hops)
        for e in result.events
    ]


@pytest.fixture
def demo(ledger) -> dict:
    data = store_demo(ledger)
    ledger.anchoring.anchor_now()
    return data


def test_the_bottle_reaches_the_farm_through_the_transformation_and_the_pallet(ledger, demo):
    result = trail_of(ledger, demo["bottle"])
    assert steps(result) == [
        (0, "ObjectEvent", "commissioning", 1),  # the crates, inputs of the pressing
        (1, "AggregationEvent", "packing", 1),  # crates onto the pallet
        (2, "ObjectEvent", "shipping", 2),  # the pallet while the crates were on it
        (8, "ObjectEvent", "receiving", 2),
        (10, "TransformationEvent", "commissioning", 0),  # the bottle itself from here on
        (20, "ObjectEvent", "shipping", 0),
        (26, "ObjectEvent", "receiving", 0),
        (50, "ObjectEvent", "retail_selling", 0),
    ]
    assert result.verdict == "verified" and result.problems == [] and not result.truncated
    assert {e.verification.status for e in result.events} == {"verified"}
    assert result.epc == "https://id.gs1.org/01/00614141222223/21/7000"
    assert result.events[0].via == f"input {CRATE_LINK} of transformation {result.events[4].record.id}"
    assert result.events[2].via == f"parent {PALLET_LINK}"
    as_json = TrailPublic.of(result).model_dump(mode="json")
    assert TrailPublic.of(trail_of(ledger, result.epc)).model_dump(mode="json") == as_json, "a Digital Link finds the same trail"
    json.dumps(as_json)


def test_an_unsold_bottle_lacks_only_the_sale(ledger, demo):
    other = demo["bottle"][:-1] + "1"
    assert [s[2] for s in steps(trail_of(ledger, other))] == [
        "commissioning", "packing", "shipping", "receiving", "commissioning", "shipping", "receiving"]


def test_a_pallet_trail_holds_its_childrens_history_before_packing_only(ledger, demo):
    result = trail_of(ledger, "urn:epc:id:sscc:0614141.0000000007")
    assert steps(result) == [
        (0, "ObjectEvent", "commissioning", 1),
        (1, "AggregationEvent", "packing", 0),
        (2, "ObjectEvent", "shipping", 0),
        (8, "ObjectEvent", "receiving", 0),
    ]
    assert result.verdict == "verified"


def test_tampering_one_event_with_sql_is_named_in_the_verdict(ledger, demo):
    with ledger.engine.begin() as connection:
        victim = connection.execute(
            text("SELECT id FROM record WHERE biz_step LIKE '%shipping' AND party = 'farm'")).scalar_one()
        connection.execute(text("UPDATE record SET body = replace(body, 'in_transit', 'in_progress') WHERE id = :id"), {"id": victim})
    result = trail_of(ledger, demo["bottle"])
    assert result.verdict == "tampered"
    assert [e.record.id for e in result.events if e.verification.status == "tampered"] == [victim]
    assert len(result.problems) == 1 and result.problems[0].startswith(f"event {victim} (ObjectEvent") and "tampered" in result.problems[0]


def test_depth_limits_the_hops_followed(ledger, demo):
    shallow = [trail_of(ledger, demo["bottle"], depth=depth) for depth in (0, 1, 2)]
    assert [len(t.events) for t in shallow] == [4, 6, 8]
    assert [max(e.hops for e in t.events) for t in shallow] == [0, 1, 2]
    assert [(t.truncated, t.verdict) for t in shallow] == [(True, "incomplete"), (True, "incomplete"), (False, "verified")]
    assert shallow[0].problems == ["depth 0 reached at https://id.gs1.org/01/00614141222223/21/7000: 3 link(s) not followed"]


def test_unknown_epc_is_not_found(ledger, demo):
    with pytest.raises(NotFound):
        trail_of(ledger, "urn:epc:id:sgtin:0614141.022222.999999")


def test_before_anchoring_the_verdict_is_pending(ledger):
    data = store_demo(ledger, run=8)
    result = trail_of(ledger, data["bottle"])
    assert result.verdict == "pending" and len(result.events) == 8
    assert all("pending" in problem for problem in result.problems) and len(result.problems) == 8


def test_a_supplier_sees_only_its_own_events(ledger, demo):
    result = trail_of(ledger, demo["bottle"], party="processor")
    assert {e.record.party for e in result.events} == {"processor"}
    # only the pressing: the pallet's arrival is the processor's too, but the packing that links crates
    # to the pallet is the farm's, so the walk cannot reach it
    assert [s[2] for s in steps(result)] == ["commissioning"]
    assert result.verdict == "incomplete"
    assert sum("missing origin" in problem for problem in result.problems) == 3  # the farm commissioned the crates


# ---- hand-made histories --------------------------------------------------------------------


def item(serial: int) -> str:
    return f"urn:epc:id:sgtin:0614141.033333.{serial}"


PALLET = "urn:epc:id:sscc:0614141.0000000099"


def event(kind: str, at: float, **fields) -> dict:
    moment = (START + timedelta(hours=at)).isoformat().replace("+00:00", "Z")
    return {"type": kind, "eventTime": moment, "eventTimeZoneOffset": "+00:00", **fields}


def store_history(ledger, events: list[dict]) -> None:
    document = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
                "creationDate": "2026-09-01T00:00:00Z", "epcisBody": {"eventList": events}}
    with ledger.session() as session:
        store_events(session, document=document, party="farm")


@pytest.mark.parametrize("unpacking", [
    {"childEPCs": [item(1)]},  # the item alone is taken off
    {},  # the whole pallet is emptied
])
def test_a_container_counts_only_while_the_item_is_inside(ledger, unpacking):
    store_history(ledger, [
        event("ObjectEvent", 0, epcList=[item(1), item(2)], action="ADD", bizStep="commissioning"),
        event("AggregationEvent", 1, parentID=PALLET, childEPCs=[item(1), item(2)], action="ADD", bizStep="packing"),
        event("ObjectEvent", 2, epcList=[PALLET], action="OBSERVE", bizStep="shipping"),
        event("AggregationEvent", 3, parentID=PALLET, action="DELETE", bizStep="unpacking", **unpacking),
        event("ObjectEvent", 4, epcList=[PALLET], action="OBSERVE", bizStep="departing"),
    ])
    result = trail_of(ledger, item(1))
    assert [s[2] for s in steps(result)] == ["commissioning", "packing", "shipping", "unpacking"]
    assert result.verdict == "pending" and not result.truncated


def test_an_input_without_origin_is_a_missing_link(ledger):
    store_history(ledger, [
        event("ObjectEvent", 0, epcList=[item(1)], action="ADD", bizStep="commissioning"),
        event("TransformationEvent", 5, inputEPCList=[item(1), item(2)], outputEPCList=[item(3)], bizStep="commissioning"),
    ])
    result = trail_of(ledger, item(3))
    assert result.verdict == "incomplete" and not result.truncated
    missing = [problem for problem in result.problems if problem.startswith("missing origin")]
    assert missing == ["missing origin: no commissioning, transformation or packing event creates "
                       "https://id.gs1.org/01/00614141333332/21/2 up to 2026-09-01T11:00:00+00:00"]


def test_a_cycle_of_transformations_is_reported_and_the_walk_ends(ledger):
    store_history(ledger, [
        event("TransformationEvent", 1, inputEPCList=[item(1)], outputEPCList=[item(2)], bizStep="commissioning"),
        event("TransformationEvent", 2, inputEPCList=[item(2)], outputEPCList=[item(1)], bizStep="commissioning"),
    ])
    result = trail_of(ledger, item(1), depth=50)
    assert len(result.events) == 2 and result.verdict == "incomplete"
    assert [p for p in result.problems if p.startswith("cycle")] == [
        "cycle: https://id.gs1.org/01/00614141333332/21/1 -> https://id.gs1.org/01/00614141333332/21/2 "
        "-> https://id.gs1.org/01/00614141333332/21/1"]
