"""Basket rules through HTTP: baskets from verified orders and sales only, figures computed by hand.

The six baskets (sales and orders of the supplier "retailer"; `None` is a line without a category):

    1 sale   bread/bakery, milk/dairy          4 sale   beer/drinks, diapers/baby
    2 order  bread/bakery, butter/None, milk/dairy   5 order  beer/drinks, diapers/baby, bread/bakery
    3 sale   bread/bakery, butter/dairy        6 sale   milk/None

SKU counts: bread 4, milk 3, butter 2, beer 2, diapers 2; pairs bread+milk 2, bread+butter 2,
beer+diapers 2, every other pair at most 1. At min_support 0.3 (n = 6, so 2 baskets) and
min_confidence 0.6 the rules are beer->diapers and diapers->beer (confidence 1, lift 2*6/(2*2) = 3),
butter->bread (1, 2*6/(2*4) = 1.5) and milk->bread (2/3, 2*6/(3*4) = 1). Measures are exact
rationals rounded once, so they are compared with == (tolerance 0) to the same divisions.
"""

import math

from sqlalchemy import text

from analytics.baskets import association_rules, frequent_itemsets
from service.access.viewer import Viewer
from service.insights.baskets import MiningCache, basket_rules

BASKETS = [
    ("sale", [("bread", "bakery"), ("milk", "dairy")]),
    ("order", [("bread", "bakery"), ("butter", None), ("milk", "dairy")]),
    ("sale", [("bread", "bakery"), ("butter", "dairy")]),
    ("sale", [("beer", "drinks"), ("diapers", "baby")]),
    ("order", [("beer", "drinks"), ("diapers", "baby"), ("bread", "bakery")]),
    ("sale", [("milk", None)]),
]
RULES = "/v1/analytics/baskets/rules"
ITEMSETS = "/v1/analytics/baskets/itemsets"
HAND = {"min_support": 0.3, "min_confidence": 0.6}


def transaction(number: int, kind: str, lines: list[tuple[str, str | None]]) -> dict:
    """An order (retailer buys) or a sale (retailer sells) of one unit per line at 2.00 EUR."""
    seller, buyer = ("retailer", "consumer") if kind == "sale" else ("distributor", "retailer")
    body_lines = [
        {"sku": sku, "quantity": 1, "unit_price": "2.00"} | ({"category": category} if category else {}) for sku, category in lines
    ]
    return {
        "id": f"urn:test:baskets:{number}", "kind": kind, "timestamp": f"2026-02-0{number}T10:00:00Z",
        "seller": seller, "buyer": buyer, "currency": "EUR", "lines": body_lines, "total": f"{2 * len(lines)}.00",
    }


def submit_and_anchor(api) -> list[dict]:
    """The six baskets plus an invoice (never a basket, though it has lines), all anchored."""
    data = [transaction(number, kind, lines) for number, (kind, lines) in enumerate(BASKETS, start=1)]
    invoice = transaction(7, "invoice", [("beer", "drinks"), ("milk", "dairy")]) | {"references": [data[1]["id"]]}  # order 2
    assert api.client.post("/v1/transactions", json=[*data, invoice], headers=api.as_("retailer")).status_code == 201
    assert api.client.post("/v1/anchors", headers=api.as_("admin")).status_code == 200
    return data


def rule(antecedent: str, consequent: str, *, count: int, a_count: int, c_count: int, n: int) -> dict:
    """A single-item rule with its measures, each the same single division the service promises."""
    conviction = None if count == a_count else (n - c_count) * a_count / (n * (a_count - count))
    return {
        "antecedent": [antecedent], "consequent": [consequent], "count": count, "antecedent_count": a_count,
        "consequent_count": c_count, "support": count / n, "confidence": count / a_count,
        "lift": count * n / (a_count * c_count), "leverage": (count * n - a_count * c_count) / (n * n), "conviction": conviction,
    }


def get(api, path: str, who: str = "shop", **params) -> dict:
    response = api.client.get(path, params=params, headers=api.as_(who))
    assert response.status_code == 200, response.text
    return response.json()


def as_json(rules) -> list[dict]:
    """``analytics.baskets`` rules as the API renders them (lists, null for infinite conviction)."""
    return [
        {name: getattr(r, name) for name in r.__slots__}
        | {"antecedent": list(r.antecedent), "consequent": list(r.consequent)}
        | {"conviction": None if math.isinf(r.conviction) else r.conviction}
        for r in rules
    ]


def test_hand_computed_rules_then_pending_and_tampered_records_drop_out(api):
    data = submit_and_anchor(api)
    pending = transaction(8, "sale", [("beer", "drinks"), ("diapers", "baby")])
    assert api.client.post("/v1/transactions", json=pending, headers=api.as_("retailer")).status_code == 201

    result = get(api, RULES, **HAND)
    assert result["rules"] == [
        rule("beer", "diapers", count=2, a_count=2, c_count=2, n=6),
        rule("diapers", "beer", count=2, a_count=2, c_count=2, n=6),
        rule("butter", "bread", count=2, a_count=2, c_count=4, n=6),
        rule("milk", "bread", count=2, a_count=3, c_count=4, n=6),
    ]
    assert result["rules"][0]["lift"] == 3.0 and result["rules"][3]["conviction"] == 1.0
    assert (result["count"], result["baskets_used"]) == (4, 6)
    assert result["baskets_excluded"] == {"total": 1, "by_status": {"pending": 1}}
    assert result["level"] == "sku" and result["lines_without_category"] is None
    assert [r["antecedent"] for r in get(api, RULES, **HAND, min_lift=1.01)["rules"]] == [["beer"], ["diapers"], ["butter"]]

    with api.ledger.engine.begin() as connection:
        connection.execute(text("UPDATE record SET body = replace(body, 'beer', 'wine') WHERE business_id = :id"), {"id": data[3]["id"]})
    after = get(api, RULES, **HAND)
    # n = 5: bread 4, milk 3, butter 2; beer and diapers now in one basket only
    assert after["rules"] == [
        rule("butter", "bread", count=2, a_count=2, c_count=4, n=5),
        rule("milk", "bread", count=2, a_count=3, c_count=4, n=5),
    ]
    assert after["baskets_used"] == 5
    assert after["baskets_excluded"] == {"total": 2, "by_status": {"pending": 1, "tampered": 1}}
    assert after["data_version"] != result["data_version"]


def test_itemsets_sku_filter_and_category_level(api):
    submit_and_anchor(api)
    itemsets = get(api, ITEMSETS, min_support=0.3)
    assert [(i["items"], i["count"]) for i in itemsets["itemsets"]] == [
        (["beer"], 2), (["bread"], 4), (["butter"], 2), (["diapers"], 2), (["milk"], 3),
        (["beer", "diapers"], 2), (["bread", "butter"], 2), (["bread", "milk"], 2),
    ]
    assert itemsets["count"] == 8 and itemsets["itemsets"][1]["support"] == 4 / 6
    singles = get(api, ITEMSETS, min_support=0.3, max_len=1)["itemsets"]
    assert [i["items"] for i in singles] == [["beer"], ["bread"], ["butter"], ["diapers"], ["milk"]]
    assert [i["items"] for i in get(api, ITEMSETS, min_support=0.3, sku="milk")["itemsets"]] == [["milk"], ["bread", "milk"]]

    bread = get(api, RULES, **HAND, sku="bread")
    assert [(r["antecedent"], r["consequent"]) for r in bread["rules"]] == [(["butter"], ["bread"]), (["milk"], ["bread"])]
    assert bread["count"] == 2 and bread["baskets_used"] == 6
    assert get(api, RULES, **HAND, sku="diapers")["count"] == 2
    assert get(api, RULES, **HAND, sku="caviar")["rules"] == []

    # categories: basket 6 has none (left out, n = 5); bakery 4, dairy 3, drinks 2, baby 2; bakery+dairy 3, drinks+baby 2
    by_category = get(api, RULES, **HAND, level="category")
    assert by_category["rules"] == [
        rule("baby", "drinks", count=2, a_count=2, c_count=2, n=5),
        rule("drinks", "baby", count=2, a_count=2, c_count=2, n=5),
        rule("dairy", "bakery", count=3, a_count=3, c_count=4, n=5),
        rule("bakery", "dairy", count=3, a_count=4, c_count=3, n=5),
    ]
    assert (by_category["baskets_used"], by_category["baskets_without_category"], by_category["lines_without_category"]) == (5, 1, 2)
    assert by_category["baskets_excluded"] == {"total": 0, "by_status": {}}
    assert get(api, RULES, **HAND, level="category", sku="dairy")["count"] == 2


def test_pages_match_analytics_called_directly_on_the_same_baskets(api):
    submit_and_anchor(api)
    params = {"min_support": 0.15, "min_confidence": 0.1, "consequent": "any"}
    baskets = [frozenset(sku for sku, _ in lines) for _, lines in BASKETS]
    expected_itemsets = frequent_itemsets(baskets, min_support=0.15)
    expected = as_json(association_rules(expected_itemsets, n_baskets=6, min_confidence=0.1, consequent="any"))
    assert len(expected) > 10 and any(len(r["consequent"]) == 2 for r in expected)

    pages = [get(api, RULES, **params, perPage=4)]
    while pages[-1]["nextPageToken"] and len(pages) <= len(expected):
        pages.append(get(api, RULES, **params, perPage=4, nextPageToken=pages[-1]["nextPageToken"]))
    assert {page["count"] for page in pages} == {len(expected)}
    assert [r for page in pages for r in page["rules"]] == expected
    assert all(len(page["rules"]) == 4 for page in pages[:-1]) and 0 < len(pages[-1]["rules"]) <= 4

    itemsets = get(api, ITEMSETS, min_support=0.15, perPage=1000)
    assert [(i["items"], i["count"], i["support"]) for i in itemsets["itemsets"]] == [
        (list(i.items), i.count, i.support) for i in expected_itemsets
    ]


def test_mining_is_cached_per_data_version_and_bounded(api):
    data = submit_and_anchor(api)
    cache = MiningCache(max_entries=3)

    def mine():
        with api.ledger.session() as session:
            return basket_rules(
                session, api.ledger.chain, viewer=Viewer(party="retailer"), level="sku", max_len=None, min_lift=0.0, consequent="single", item=None, cache=cache, **HAND
            )

    first = mine()
    assert (cache.hits, cache.misses) == (0, 2)  # itemsets, then rules
    assert mine().results == first.results and (cache.hits, cache.misses) == (2, 2)
    with api.ledger.engine.begin() as connection:
        connection.execute(text("UPDATE record SET body = replace(body, 'milk', 'oat') WHERE business_id = :id"), {"id": data[0]["id"]})
    changed = mine()
    assert (cache.hits, cache.misses) == (2, 4) and len(cache) == 3
    assert changed.results != first.results and changed.summary().baskets_excluded.by_status == {"tampered": 1}


def test_bad_parameters_are_refused_naming_them(api):
    cases = [
        (RULES, {"min_support": 0}, "min_support"),
        (RULES, {"min_support": 1.5}, "min_support"),
        (RULES, {"min_support": "nan"}, "min_support"),
        (RULES, {"min_confidence": 0}, "min_confidence"),
        (RULES, {"min_confidence": 1.01}, "min_confidence"),
        (RULES, {"min_lift": -1}, "min_lift"),
        (RULES, {"min_lift": "inf"}, "min_lift"),
        (RULES, {"max_len": 1}, "max_len"),
        (RULES, {"consequent": "both"}, "consequent"),
        (RULES, {"level": "brand"}, "level"),
        (RULES, {"perPage": 0}, "perPage"),
        (RULES, {"nextPageToken": "Zm9yZ2Vk"}, "nextPageToken"),
        (RULES, {"limit": 10}, "limit"),
        (ITEMSETS, {"offset": 10}, "offset"),
        (RULES, {"sku": ""}, "sku"),
        (ITEMSETS, {"min_support": 2}, "min_support"),
        (ITEMSETS, {"max_len": 0}, "max_len"),
    ]
    for path, params, field in cases:
        response = api.client.get(path, params=params, headers=api.as_("shop"))
        assert (response.status_code, response.json()["field"]) == (422, field), (path, params)
    for path in (RULES, ITEMSETS):  # extremes that are valid
        assert get(api, path, min_support=1, max_len=2)["count"] == 0


def test_only_retailers_auditors_and_admins_may_mine(api):
    for who in ("shop", "auditor", "admin"):
        assert get(api, RULES, who)["baskets_used"] == 0
    for who in ("farm", "bank"):
        for path in (RULES, ITEMSETS):
            assert api.client.get(path, headers=api.as_(who)).status_code == 403
    assert api.client.get(RULES).status_code == 401
