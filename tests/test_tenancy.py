"""Who sees what, through HTTP: records per party, references and confirmations across parties,
analytics scoped to the asking party's data, and grants. On SQLite and PostgreSQL."""

import copy
import threading

import pytest

from service.demo.supply_chain import supply_chain
from service.models import Role

SHOP = "urn:epc:id:sgln:0614141.00004.0"


def post(api, path: str, body, who: str):
    return api.client.post(path, json=body, headers=api.as_(who))


def get(api, path: str, who: str, **params):
    return api.client.get(path, params=params, headers=api.as_(who))


def invoice(**changes) -> dict:
    return {"id": "urn:x:INV-1", "kind": "invoice", "timestamp": "2026-05-01T10:00:00Z", "seller": "processor",
            "buyer": "retailer", "currency": "EUR", "lines": [{"sku": "SKU-A", "quantity": 2, "unit_price": "3.00"}],
            "total": "6.00", "references": []} | changes


def sale(n: int, *, quantity: int, seller: str = "retailer") -> dict:
    return {"id": f"urn:x:sale-{n}", "kind": "sale", "timestamp": f"{2023 + n // 12}-{n % 12 + 1:02d}-15T12:00:00Z",
            "seller": seller, "buyer": "consumer", "currency": "EUR", "location": SHOP,
            "lines": [{"sku": "SKU-A", "quantity": quantity, "unit_price": "1.00"}], "total": f"{quantity}.00"}


def test_two_suppliers_sending_the_same_event_each_keep_their_own(api):
    document = supply_chain(run=71)["documents"]["farm"]
    first = post(api, "/v1/events", document, "farm")
    second = post(api, "/v1/events", document, "processor")
    assert first.status_code == second.status_code == 201, "the second supplier's submission is its own, not lost"
    ours, theirs = first.json()["events"], second.json()["events"]
    assert [e["event_hash_id"] for e in ours] == [e["event_hash_id"] for e in theirs]
    assert not {e["id"] for e in ours} & {e["id"] for e in theirs} and all(e["created"] for e in theirs)
    assert get(api, f"/v1/events/{theirs[0]['id']}", "processor").json()["party"] == "processor"
    assert get(api, f"/v1/events/{ours[0]['id']}", "processor").status_code == 404
    again = post(api, "/v1/events", document, "processor")
    assert again.status_code == 200 and [e["id"] for e in again.json()["events"]] == [e["id"] for e in theirs]
    assert post(api, "/v1/anchors", None, "admin").json()["anchored"]
    for event in ours + theirs:  # identical contents, two leaves (salts differ): both verify
        assert get(api, f"/v1/events/{event['id']}/verification", "auditor").json()["status"] == "verified"


def test_transaction_ids_belong_to_their_party(api):
    mine = invoice(id="urn:x:shared-id")
    claimed = invoice(id="urn:x:shared-id", seller="distributor", total="8.00",
                      lines=[{"sku": "SKU-B", "quantity": 1, "unit_price": "8.00"}])
    assert post(api, "/v1/transactions", claimed, "distributor").status_code == 201  # another party takes the id first
    answer = post(api, "/v1/transactions", mine, "processor")
    assert answer.status_code == 201 and answer.json()["transactions"][0]["created"], "no 409: the id is the processor's"
    assert post(api, "/v1/transactions", mine, "processor").status_code == 200
    assert post(api, "/v1/transactions", mine | {"total": "7.00", "lines": [{"sku": "SKU-A", "quantity": 1, "unit_price": "7.00"}]},
                "processor").status_code == 409
    own = get(api, "/v1/transactions/urn:x:shared-id", "distributor").json()
    assert own["party"] == "distributor" and own["transaction"]["total"] == "8.00"
    assert get(api, "/v1/transactions/urn:x:shared-id", "farm").status_code == 404  # names neither: sees neither
    both = get(api, "/v1/transactions/urn:x:shared-id", "auditor")
    assert both.status_code == 409 and both.json()["field"] == "submitter"
    assert get(api, "/v1/transactions/urn:x:shared-id", "auditor", submitter="processor").json()["party"] == "processor"


def test_references_reveal_nothing_about_records_one_may_not_see(api):
    assert post(api, "/v1/transactions", invoice(), "processor").status_code == 201
    hidden = invoice(id="urn:x:hidden", seller="distributor", buyer="farm")
    assert post(api, "/v1/transactions", hidden, "distributor").status_code == 201
    payment = {"id": "urn:x:PAY", "kind": "payment", "timestamp": "2026-05-02T10:00:00Z", "seller": "processor",
               "buyer": "retailer", "currency": "EUR", "total": "6.00"}
    answers = {
        "exists, not visible": post(api, "/v1/transactions", payment | {"references": [{"id": "urn:x:hidden", "party": "distributor"}]}, "retailer"),
        "does not exist": post(api, "/v1/transactions", payment | {"references": [{"id": "urn:x:nothing", "party": "distributor"}]}, "retailer"),
    }
    for what, response in answers.items():
        assert response.status_code == 422 and response.json()["field"] == "references[0]", what
    assert answers["exists, not visible"].json()["detail"].replace("hidden", "X") == \
        answers["does not exist"].json()["detail"].replace("nothing", "X"), "the same answer either way"
    own_string = post(api, "/v1/transactions", payment | {"references": ["urn:x:INV-1"]}, "retailer")
    assert own_string.status_code == 422, "a bare id names the submitter's own records only"
    named = post(api, "/v1/transactions", payment | {"references": [{"id": "urn:x:INV-1", "party": "processor"}]}, "retailer")
    assert named.status_code == 201, named.text  # the invoice names the retailer: it may cite it


@pytest.mark.parametrize(("change", "field"), [({"currency": "USD"}, "currency"), ({"buyer": "distributor"}, "buyer")])
def test_a_payment_must_agree_with_the_invoice_it_settles(api, change, field):
    assert post(api, "/v1/transactions", invoice(), "processor").status_code == 201
    payment = {"id": "urn:x:PAY", "kind": "payment", "timestamp": "2026-05-02T10:00:00Z", "seller": "processor",
               "buyer": "retailer", "currency": "EUR", "total": "6.00", "references": ["urn:x:INV-1"]} | change
    response = post(api, "/v1/transactions", payment, "processor")
    assert response.status_code == 422 and response.json()["field"] == "references[0]"
    assert f"whose {field} is" in response.json()["detail"]


def test_seller_and_buyer_must_differ(api):
    response = post(api, "/v1/transactions", invoice(buyer="processor"), "processor")
    assert response.status_code == 422 and response.json()["field"] == "buyer"


def test_the_counterparty_confirms_by_recording_the_same_transaction(api):
    body = invoice()
    assert post(api, "/v1/transactions", body, "processor").status_code == 201
    seen = get(api, f"/v1/transactions/{body['id']}", "retailer")  # the buyer reads what names it
    assert seen.status_code == 200 and seen.json()["party"] == "processor" and seen.json()["confirmation"] == "unconfirmed"
    assert post(api, "/v1/transactions", seen.json()["transaction"], "retailer").status_code == 201
    assert get(api, f"/v1/transactions/{body['id']}", "processor").json()["confirmation"] == "confirmed"
    listed = get(api, "/v1/transactions", "retailer").json()["transactions"]
    assert {(t["party"], t["confirmation"]) for t in listed} == {("processor", "confirmed"), ("retailer", "confirmed")}
    other = invoice(id="urn:x:INV-2")
    assert post(api, "/v1/transactions", other, "processor").status_code == 201
    assert post(api, "/v1/transactions", other | {"total": "6.01", "lines": [{"sku": "SKU-A", "quantity": 1, "unit_price": "6.01"}]},
                "retailer").status_code == 201
    assert get(api, "/v1/transactions/urn:x:INV-2", "processor").json()["confirmation"] == "disputed"


def test_one_party_sending_two_contents_for_one_id_at_once_gets_one_201_and_one_409(api):
    """Both submissions reach the group-commit writer together; the loser must never hear 200."""
    outcomes = []
    for round_ in range(8):
        bodies = [invoice(id=f"urn:x:race-{round_}", total=f"{6 + n}.00",
                          lines=[{"sku": "SKU-A", "quantity": 1, "unit_price": f"{6 + n}.00"}]) for n in range(3)]
        barrier, codes = threading.Barrier(len(bodies)), []

        def send(body) -> None:
            barrier.wait(10)
            codes.append(post(api, "/v1/transactions", body, "processor").status_code)

        threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        outcomes.append(sorted(codes))
    assert all(codes == [201, 409, 409] for codes in outcomes), outcomes


@pytest.fixture
def two_retailers_sales(api):
    """The retailer's 36 monthly sales of SKU-A and another retailer's bigger sales of it; anchored."""
    api.key("rival", role=Role.SUPPLIER)
    mine = [sale(n, quantity=10 + n % 3) for n in range(36)]
    theirs = [sale(n, quantity=1000, seller="rival") | {"id": f"urn:x:rival-{n}"} for n in range(36)]
    assert post(api, "/v1/transactions", mine, "retailer").status_code == 201
    assert post(api, "/v1/transactions", theirs, "rival").status_code == 201
    assert post(api, "/v1/anchors", None, "admin").json()["anchored"]
    return mine


def test_a_retailers_forecast_covers_its_own_sales_and_says_so(api, two_retailers_sales):
    params = {"sku": "SKU-A", "freq": "M", "horizon": 3}
    own = get(api, "/v1/analytics/forecast", "shop", **params).json()
    assert own["records_used"] == 36 and max(row["quantity"] for row in own["history"]) < 100
    assert own["data_scope"] == {"all_parties": False, "parties": ["retailer"]}
    everyone = get(api, "/v1/analytics/forecast", "auditor", **params).json()
    assert everyone["records_used"] == 72 and everyone["data_scope"] == {"all_parties": True, "parties": None}


def test_basket_rules_cover_the_asking_partys_baskets(api, two_retailers_sales):
    params = {"min_support": 0.5}
    own = get(api, "/v1/analytics/baskets/itemsets", "shop", **params).json()
    assert own["baskets_used"] == 36 and own["data_scope"]["parties"] == ["retailer"]
    assert get(api, "/v1/analytics/baskets/itemsets", "auditor", **params).json()["baskets_used"] == 72


def test_a_grant_shares_records_until_it_is_revoked(api, two_retailers_sales):
    params = {"sku": "SKU-A", "freq": "M", "horizon": 3}
    granted = post(api, "/v1/grants", {"grantee": "retailer"}, "rival")
    assert granted.status_code == 201 and granted.json()["grantee"] == "retailer" and granted.json()["revoked_at"] is None
    assert post(api, "/v1/grants", {"grantee": "retailer"}, "rival").status_code == 200  # the live grant, not a second one
    shared = get(api, "/v1/analytics/forecast", "shop", **params).json()
    assert shared["records_used"] == 72 and shared["data_scope"]["parties"] == ["retailer", "rival"]
    rival_sale = get(api, "/v1/transactions/urn:x:rival-0", "retailer")
    assert rival_sale.status_code == 200 and rival_sale.json()["party"] == "rival"
    assert get(api, "/v1/grants", "retailer").json()["grants"] == []  # the grantee lists only its own grants
    assert [g["id"] for g in get(api, "/v1/grants", "rival").json()["grants"]] == [granted.json()["id"]]
    revoked = api.client.delete(f"/v1/grants/{granted.json()['id']}", headers=api.as_("rival"))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert get(api, "/v1/analytics/forecast", "shop", **params).json()["records_used"] == 36
    assert get(api, "/v1/transactions/urn:x:rival-0", "retailer").status_code == 404
    assert api.client.delete(f"/v1/grants/{granted.json()['id']}", headers=api.as_("retailer")).status_code == 404
    assert post(api, "/v1/grants", {"grantee": "rival"}, "rival").json()["field"] == "grantee"
    assert post(api, "/v1/anchors", None, "admin").json()["anchored"], "grants and revocations are anchored records"


def test_a_label_names_the_party_of_the_transaction_it_labels(api):
    for owner in ("processor", "distributor"):
        assert post(api, "/v1/grants", {"grantee": "bank"}, owner).status_code == 201
    assert post(api, "/v1/transactions", invoice(), "processor").status_code == 201
    twin = invoice(seller="distributor", total="8.00", lines=[{"sku": "SKU-B", "quantity": 1, "unit_price": "8.00"}])
    assert post(api, "/v1/transactions", twin, "distributor").status_code == 201
    ambiguous = post(api, "/v1/transactions/urn:x:INV-1/labels", {"fraud": True}, "bank")
    assert ambiguous.status_code == 409 and ambiguous.json()["field"] == "submitter"
    label = api.client.post("/v1/transactions/urn:x:INV-1/labels", params={"submitter": "distributor"}, json={"fraud": True},
                            headers=api.as_("bank"))
    assert label.status_code == 201 and label.json()["submitter"] == "distributor"


def test_bulk_labels_are_all_or_nothing_and_listed_back(api):
    assert post(api, "/v1/grants", {"grantee": "bank"}, "processor").status_code == 201
    bodies = [invoice(id=f"urn:x:INV-{n}") for n in range(3)]
    assert post(api, "/v1/transactions", bodies, "processor").status_code == 201
    items = [{"transaction": body["id"], "fraud": n == 0} for n, body in enumerate(bodies)]
    broken = post(api, "/v1/analytics/fraud/labels", {"labels": [*items, {"transaction": "urn:x:nothing", "fraud": True}]}, "bank")
    assert broken.status_code == 404 and broken.json()["field"] == "[3].transaction"
    assert get(api, "/v1/analytics/fraud/labels", "bank").json()["labels"] == [], "nothing of a refused list is stored"
    stored = post(api, "/v1/analytics/fraud/labels", {"labels": items}, "bank")
    assert stored.status_code == 201 and [label["fraud"] for label in stored.json()["labels"]] == [True, False, False]
    again = post(api, "/v1/analytics/fraud/labels", {"labels": items}, "bank")
    assert again.status_code == 200 and not any(label["created"] for label in again.json()["labels"])
    listed = get(api, "/v1/analytics/fraud/labels", "bank", perPage=2)
    assert len(listed.json()["labels"]) == 2 and listed.json()["nextPageToken"]
    one = get(api, "/v1/analytics/fraud/labels", "bank", transaction="urn:x:INV-0").json()["labels"]
    assert [(label["transaction"], label["fraud"], label["submitter"]) for label in one] == [("urn:x:INV-0", True, "processor")]
    assert get(api, "/v1/analytics/fraud/labels", "auditor").json()["labels"], "auditors see every lender's labels"
    twice = post(api, "/v1/analytics/fraud/labels", {"labels": [items[0], copy.deepcopy(items[0])]}, "bank")
    assert twice.status_code == 422 and twice.json()["field"] == "[1].transaction"
