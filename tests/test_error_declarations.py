"""Error declarations through HTTP: an event re-submitted with ``errorDeclaration`` is a record of its own,
and the event it declares erroneous stays, reads as such, and leaves every analytic."""

import copy
import json
from urllib.parse import quote

from sqlalchemy import text
from support import DATA

from service.hashing import content_hash, event_hash_id, events_of
from service.ingest.candidates import derive
from service.verify.bundle import check_bundle

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
SHOP = "urn:epc:id:sgln:0614141.00004.0"
EXAMPLES = DATA / "epcis" / "examples" / "WithErrorDeclaration"


def document(*events: dict) -> dict:
    return {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-03-01T00:00:00Z",
            "epcisBody": {"eventList": list(events)}}


def selling(day: int, units: int, *, event_id: str | None = None) -> dict:
    event = {"type": "ObjectEvent", "eventTime": f"2026-02-{day:02d}T10:00:00Z", "eventTimeZoneOffset": "+00:00",
             "epcList": [f"urn:epc:id:sgtin:0614141.022222.{day}{n}" for n in range(units)], "action": "DELETE",
             "bizStep": "retail_selling", "disposition": "retail_sold", "readPoint": {"id": SHOP}, "bizLocation": {"id": SHOP}}
    return {**event, "eventID": event_id} if event_id else event


def declared(event: dict, *, corrective: list[str], at: str = "2026-02-20T00:00:00Z") -> dict:
    return {**copy.deepcopy(event), "errorDeclaration": {"declarationTime": at, "reason": "incorrect_data",
                                                         "correctiveEventIDs": corrective}}


def capture(api, body: dict, who: str = "retailer"):
    return api.client.post("/v1/events", json=body, headers=api.as_(who))


def event(api, record_id: int, who: str = "auditor") -> dict:
    return api.client.get(f"/v1/events/{record_id}", headers=api.as_(who)).json()


def correction(api) -> tuple[int, int, int]:
    """Original (3 units sold on the 10th), its declaration, the corrective event (2 units): record ids."""
    original = selling(10, 3)
    (first,) = capture(api, document(original)).json()["events"]
    (declaration,) = capture(api, document(declared(original, corrective=["urn:uuid:c0ffee00-0000-4000-8000-000000000001"])),
                             ).json()["events"]
    (corrective,) = capture(api, document(selling(10, 2, event_id="urn:uuid:c0ffee00-0000-4000-8000-000000000001"))).json()["events"]
    return first["id"], declaration["id"], corrective["id"]


def test_a_declaration_is_stored_as_a_new_record_with_the_originals_hash_id(api):
    original = selling(10, 3)
    first = capture(api, document(original)).json()["events"][0]
    response = capture(api, document(declared(original, corrective=[])))
    assert response.status_code == 201  # was 200 created: false, the declaration dropped
    (stored,) = response.json()["events"]
    assert stored["created"] and stored["id"] != first["id"]
    assert stored["event_hash_id"] == first["event_hash_id"]
    shown = event(api, stored["id"])
    assert shown["event"]["errorDeclaration"]["reason"] == "incorrect_data" and shown["declared_erroneous"] is None


def test_the_identical_declaration_again_is_idempotent_and_a_later_one_is_another_record(api):
    original = selling(11, 1)
    capture(api, document(original))
    first = capture(api, document(declared(original, corrective=[]))).json()["events"][0]
    again = capture(api, document(declared(original, corrective=[])))
    assert again.status_code == 200 and again.json()["events"][0] == {**first, "created": False}
    later = capture(api, document(declared(original, corrective=[], at="2026-02-21T00:00:00Z")))
    assert later.status_code == 201 and later.json()["events"][0]["id"] != first["id"]


def test_a_declaration_without_its_original_is_stored(api):
    response = capture(api, document(declared(selling(12, 1), corrective=[])))
    assert response.status_code == 201 and response.json()["events"][0]["created"]


def test_an_event_hash_id_finds_the_event_and_its_declarations_as_the_cbv_rule_says(api):
    """A declaration carries its original's hash ID: EQ_eventID and /epcis/events/{id} find both."""
    lone = declared(selling(13, 1), corrective=[])
    (alone,) = capture(api, document(lone)).json()["events"]
    found = api.client.get(f"/epcis/events/{quote(alone['event_hash_id'], safe='')}", headers=api.as_("retailer"))
    assert found.status_code == 200, found.text
    [shown] = found.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert shown["errorDeclaration"]["reason"] == "incorrect_data"
    first_id, declaration_id, _ = correction(api)
    hash_id = event(api, first_id)["event_hash_id"]
    listed = api.client.get("/v1/events", params={"EQ_eventID": hash_id}, headers=api.as_("retailer")).json()["events"]
    assert sorted(item["id"] for item in listed) == sorted([first_id, declaration_id])


def test_the_declaration_is_hashed_over_its_full_content():
    original = events_of(document(selling(10, 3)))[0]
    declaration = events_of(document(declared(selling(10, 3), corrective=[])))[0]
    other_reason = events_of(document({**declared(selling(10, 3), corrective=[]),
                                       "errorDeclaration": {"declarationTime": "2026-02-20T00:00:00Z", "reason": "did_not_occur"}}))[0]
    assert event_hash_id(original) == event_hash_id(declaration)
    hashes = {content_hash(kind="epcis_event", body=body) for body in (original, declaration, other_reason)}
    assert len(hashes) == 3
    assert content_hash(kind="epcis_event", body=original).hex() in event_hash_id(original)


def test_the_original_reads_declared_erroneous_in_events_verification_and_trails(api):
    original, declaration, corrective = correction(api)
    api.client.post("/v1/anchors", headers=api.as_("admin"))
    shown = event(api, original)
    assert shown["declared_erroneous"] == {
        "record_id": declaration, "business_id": event(api, declaration)["event_hash_id"] + "#errorDeclaration@2026-02-20T00:00:00Z",
        "declaration_time": "2026-02-20T00:00:00Z", "reason": "incorrect_data",
        "corrective_event_ids": ["urn:uuid:c0ffee00-0000-4000-8000-000000000001"]}
    assert event(api, corrective)["declared_erroneous"] is None
    listed = {e["id"]: e["declared_erroneous"] for e in api.client.get("/v1/events", headers=api.as_("retailer")).json()["events"]}
    assert listed[original]["record_id"] == declaration and listed[declaration] is None and listed[corrective] is None
    for record_id in (original, declaration, corrective):
        verification = api.client.get(f"/v1/events/{record_id}/verification", headers=api.as_("auditor")).json()
        assert verification["status"] == "verified"
        assert (verification["declared_erroneous"] is not None) == (record_id == original)
        bundle = api.client.get(f"/v1/events/{record_id}/proof", headers=api.as_("retailer")).json()
        assert check_bundle(bundle, w3=api.ledger.chain.w3).valid
    trail = api.client.get(f"/v1/provenance/{shown['event']['epcList'][0]}", headers=api.as_("auditor")).json()
    by_id = {e["id"]: e for e in trail["events"]}
    assert by_id[original]["declared_erroneous"]["reason"] == "incorrect_data"
    assert by_id[original]["verification"]["declared_erroneous"]["record_id"] == declaration
    assert any(f"event {original} " in p and f"by event {declaration} " in p and "incorrect_data" in p
               and "urn:uuid:c0ffee00-0000-4000-8000-000000000001" in p for p in trail["problems"])


def test_another_partys_declaration_does_not_declare_the_event_erroneous(api):
    original = selling(13, 1)
    (first,) = capture(api, document(original)).json()["events"]
    capture(api, document(declared(original, corrective=[])), who="farm")
    assert event(api, first["id"])["declared_erroneous"] is None


def test_the_forecast_leaves_declared_erroneous_events_and_declarations_out(api):
    capture(api, document(*[selling(day, day % 4 + 1) for day in range(1, 29) if day != 10]))
    correction(api)
    api.client.post("/v1/anchors", headers=api.as_("admin"))
    result = api.client.get("/v1/analytics/forecast", params={"sku": "00614141222223", "freq": "D", "horizon": 7},
                            headers=api.as_("shop")).json()
    assert result["records_used"] == 28
    assert result["records_excluded"] == {"total": 2, "by_status": {"declared_erroneous": 1, "error_declaration": 1}}
    assert [row["quantity"] for row in result["history"]][9] == 2  # the corrective event's units, not the original's


def test_deleting_the_declarations_term_to_undeclare_an_event_reads_tampered(api):
    original, declaration, _ = correction(api)
    api.client.post("/v1/anchors", headers=api.as_("admin"))
    with api.ledger.engine.begin() as connection:
        connection.execute(text("DELETE FROM record_term WHERE record_id = :id AND name = 'declares'"), {"id": declaration})
    assert event(api, original)["declared_erroneous"] is None
    verification = api.client.get(f"/v1/events/{declaration}/verification", headers=api.as_("auditor")).json()
    assert verification["status"] == "tampered" and "declares" in verification["reason"]


def test_the_official_examples_with_error_declarations_are_stored_beside_their_originals(api):
    for path in sorted(EXAMPLES.glob("*.jsonld")):
        body = json.loads(path.read_text())
        originals = [{k: v for k, v in e.items() if k != "errorDeclaration"} for e in body["epcisBody"]["eventList"]]
        before = capture(api, {**body, "epcisBody": {"eventList": originals}}, who="farm")
        assert before.status_code == 201, (path.name, before.json())
        after = capture(api, body, who="farm")
        assert after.status_code == 201, path.name
        for plain, full, raw in zip(before.json()["events"], after.json()["events"], body["epcisBody"]["eventList"], strict=True):
            if "errorDeclaration" in raw:
                assert full["created"] and full["id"] != plain["id"] and full["event_hash_id"] == plain["event_hash_id"]
                reads = event(api, plain["id"])["declared_erroneous"]
                assert reads["record_id"] == full["id"] and reads["reason"] == raw["errorDeclaration"]["reason"]
            else:
                assert full == {**plain, "created": False}


def test_a_declaration_is_found_by_what_it_declares_when_why_and_its_corrective_events():
    body = events_of(document({**selling(10, 3), "errorDeclaration": {
        "declarationTime": "2026-02-20T01:00:00.5+01:00", "reason": "urn:epcglobal:cbv:er:did_not_occur",
        "correctiveEventIDs": ["urn:uuid:1", "urn:uuid:2"]}}))[0]
    terms = derive("epcis_event", body).terms
    assert {(name, value) for name, value in terms if name not in ("epc", "action")} == {
        ("declares", event_hash_id(body)), ("declared_at", "2026-02-20T00:00:00.500000Z"),
        ("error_reason", "https://ref.gs1.org/cbv/ER-did_not_occur"),
        ("corrective_event", "urn:uuid:1"), ("corrective_event", "urn:uuid:2")}
    assert not any(name in ("declares", "declared_at") for name, _ in derive("epcis_event", events_of(document(selling(10, 3)))[0]).terms)


def test_declaration_fields_that_become_terms_are_bounded_and_must_be_times(api):
    long = declared(selling(14, 1), corrective=["urn:uuid:" + "x" * 300])
    response = capture(api, document(long))
    assert response.status_code == 422 and "correctiveEventIDs" in response.json()["field"]
    untimed = {**selling(14, 1), "errorDeclaration": {"declarationTime": "yesterday"}}
    response = capture(api, document(untimed))
    assert response.status_code == 422 and "declarationTime" in json.dumps(response.json())


def test_a_proof_cannot_be_moved_between_an_event_and_its_declaration(api):
    original, declaration, _ = correction(api)
    api.client.post("/v1/anchors", headers=api.as_("admin"))
    bundles = {i: api.client.get(f"/v1/events/{i}/proof", headers=api.as_("retailer")).json() for i in (original, declaration)}
    forged_declaration = copy.deepcopy(bundles[original])
    forged_declaration["record"]["errorDeclaration"] = {"declarationTime": "2026-02-22T00:00:00Z", "reason": "did_not_occur"}
    undeclared = copy.deepcopy(bundles[declaration])
    del undeclared["record"]["errorDeclaration"]
    other_reason = copy.deepcopy(bundles[declaration])
    other_reason["record"]["errorDeclaration"]["reason"] = "did_not_occur"
    assert all(check_bundle(bundles[i], w3=api.ledger.chain.w3).valid for i in bundles)
    for forged in (forged_declaration, undeclared, other_reason):
        assert not check_bundle(forged, w3=api.ledger.chain.w3).valid


def test_the_query_language_finds_declarations_by_existence_time_reason_and_corrective_event(api):
    """EXISTS_errorDeclaration, GE_/LT_errorDeclarationTime, EQ_errorReason, EQ_correctiveEventID: in /v1
    and in the EPCIS binding alike, matching only the declaration (not its original nor the correction)."""
    original, declaration, corrective = correction(api)
    other = selling(11, 1)
    capture(api, document(other))
    capture(api, document(declared(other, corrective=[], at="2026-02-25T12:00:00+02:00")))

    def found(**params) -> list[int]:
        response = api.client.get("/v1/events", params=params, headers=api.as_("auditor"))
        assert response.status_code == 200, response.json()
        return [item["id"] for item in response.json()["events"]]

    declared_all = found(EXISTS_errorDeclaration="")
    assert declaration in declared_all and len(declared_all) == 2 and original not in declared_all and corrective not in declared_all
    assert found(EQ_errorReason="incorrect_data") == declared_all
    assert found(EQ_errorReason="urn:epcglobal:cbv:er:did_not_occur") == []
    assert found(EQ_correctiveEventID="urn:uuid:c0ffee00-0000-4000-8000-000000000001") == [declaration]
    assert found(GE_errorDeclarationTime="2026-02-20T00:00:00Z", LT_errorDeclarationTime="2026-02-20T00:00:00.000001Z") == [declaration]
    assert found(GE_errorDeclarationTime="2026-02-25T10:00:00Z") == [d for d in declared_all if d != declaration]
    assert found(LT_errorDeclarationTime="2026-02-20T00:00:00Z") == []
    binding = api.client.get("/epcis/events", params={"EQ_correctiveEventID": "urn:uuid:c0ffee00-0000-4000-8000-000000000001"},
                             headers=api.as_("auditor"))
    assert binding.status_code == 200
    assert [e["errorDeclaration"]["reason"] for e in binding.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]] == [
        "incorrect_data"]
    refused = api.client.get("/v1/events", params={"GE_errorDeclarationTime": "yesterday"}, headers=api.as_("auditor"))
    assert refused.status_code == 422 and refused.json()["field"] == "GE_errorDeclarationTime"
