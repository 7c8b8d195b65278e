"""One pagination style on every listing: ``perPage`` and a signed, opaque ``nextPageToken``.

Every list endpoint is paged through at page sizes hypothesis picks, and must give every item
exactly once, in the order of a single page; tokens that are edited, made up, signed with another
secret, or presented with other filters or by another caller are refused with 422 naming
``nextPageToken``, while another worker sharing the secret accepts them.
"""

import base64
import hashlib
import json
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.api.app import create_app
from service.errors import InvalidParameter
from service.read.pagination import PageTokens
from service.models import Role

EVENTS, SALES, EXTRA_KEYS = 30, 20, 4
SKUS = ("bread", "milk", "butter", "beer", "diapers")


def event_document(count: int) -> dict:
    """``count`` events, three per instant, so that pages end inside a run of equal eventTimes."""
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-05-01T00:00:00Z",
        "epcisBody": {"eventList": [
            {"type": "ObjectEvent", "eventTime": f"2026-05-01T10:00:{n // 3:02d}Z", "eventTimeZoneOffset": "+00:00",
             "epcList": [f"urn:epc:id:sgtin:0614141.107346.{n}"], "action": "OBSERVE", "bizStep": "shipping"}
            for n in range(count)
        ]},
    }


def sale(n: int) -> dict:
    """A sale of two or three of five SKUs (pairs at two timestamps each), so baskets give many itemsets."""
    skus = [SKUS[n % 5], SKUS[(n + 1) % 5]] + ([SKUS[(n + 3) % 5]] if n % 2 else [])
    return {
        "id": f"urn:test:paging:sale-{n}", "kind": "sale", "timestamp": f"2026-05-0{1 + n // 7}T12:00:00Z",
        "seller": "retailer", "buyer": "consumer", "currency": "EUR",
        "lines": [{"sku": sku, "quantity": 1, "unit_price": "2.00"} for sku in skus], "total": f"{2 * len(skus)}.00",
    }


@pytest.fixture
def world(api):
    """Events, sales in several anchored batches, and extra keys: something to page through everywhere."""
    assert api.client.post("/v1/events", json=event_document(EVENTS), headers=api.as_("farm")).status_code == 201
    assert api.client.post("/v1/anchors", headers=api.as_("admin")).status_code == 200
    sales = [sale(n) for n in range(SALES)]
    for start in range(0, SALES, 4):
        assert api.client.post("/v1/transactions", json=sales[start:start + 4], headers=api.as_("retailer")).status_code == 201
        assert api.client.post("/v1/anchors", headers=api.as_("admin")).status_code == 200
    for n in range(EXTRA_KEYS):
        api.key(f"extra-{n}", role=Role.AUDITOR)
    return api


LISTINGS = {
    # name: (path, caller, other parameters, items field, identity of an item)
    "events": ("/v1/events", "auditor", {"EQ_bizStep": "shipping"}, "events", lambda item: item["id"]),
    "events, newest first": ("/v1/events", "farm", {"orderDirection": "DESC"}, "events", lambda item: item["id"]),
    "transactions": ("/v1/transactions", "auditor", {"kind": "sale"}, "transactions", lambda item: item["record_id"]),
    "anchors": ("/v1/anchors", "admin", {}, "anchors", lambda item: item["id"]),
    "keys": ("/v1/keys", "admin", {}, "keys", lambda item: item["id"]),
    "basket rules": ("/v1/analytics/baskets/rules", "shop", {"min_support": 0.1, "min_confidence": 0.3},
                     "rules", lambda item: (tuple(item["antecedent"]), tuple(item["consequent"]))),
    "basket itemsets": ("/v1/analytics/baskets/itemsets", "shop", {"min_support": 0.1}, "itemsets",
                        lambda item: tuple(item["items"])),
}
EXPECTED_COUNTS = {"events": EVENTS, "events, newest first": EVENTS, "transactions": SALES, "anchors": 1 + SALES // 4,
                   "keys": 8 + EXTRA_KEYS}


def get(api, path: str, who: str, params: dict) -> dict:
    response = api.client.get(path, params=params, headers=api.as_(who))
    assert response.status_code == 200, response.text
    return response.json()


def page_through(api, name: str, per_page: int) -> list[list]:
    """Every page of a listing at ``per_page``, following the tokens (bounded)."""
    path, who, params, field, identity = LISTINGS[name]
    pages, token = [], None
    for _ in range(200):
        body = get(api, path, who, params | {"perPage": per_page} | ({"nextPageToken": token} if token else {}))
        pages.append([identity(item) for item in body[field]])
        token = body["nextPageToken"]
        if token is None:
            return pages
    raise AssertionError(f"{name}: paging did not end")


def test_every_listing_pages_through_every_item_once(world):
    for name, (path, who, params, field, identity) in LISTINGS.items():
        whole = [identity(item) for item in get(world, path, who, params | {"perPage": 1000})[field]]
        assert len(whole) == EXPECTED_COUNTS.get(name, len(whole)) and 5 < len(whole) < 60, (name, len(whole))
        assert len(set(whole)) == len(whole), name

        @settings(max_examples=5, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
        @given(per_page=st.integers(min_value=1, max_value=len(whole) + 2))
        def pages_are_the_whole(per_page: int) -> None:
            pages = page_through(world, name, per_page)  # noqa: B023 (run at once, in this iteration)
            assert [item for page in pages for item in page] == whole, (name, per_page)  # noqa: B023
            assert all(len(page) == per_page for page in pages[:-1]) and 0 < len(pages[-1]) <= per_page, (name, per_page)

        pages_are_the_whole()


def first_token(api, name: str, *, who: str | None = None, params: dict | None = None, client: TestClient | None = None) -> str:
    path, owner, default_params, _, _ = LISTINGS[name]
    client = client or api.client
    response = client.get(path, params=(default_params if params is None else params) | {"perPage": 2},
                          headers=api.as_(who or owner))
    assert response.status_code == 200, response.text
    return response.json()["nextPageToken"]


def flip(token: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[index] ^= 1
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


def refused(api, name: str, token: str, *, who: str | None = None, client: TestClient | None = None) -> bool:
    path, owner, params, _, _ = LISTINGS[name]
    response = (client or api.client).get(path, params=params | {"perPage": 2, "nextPageToken": token}, headers=api.as_(who or owner))
    if response.status_code == 200:
        return False
    assert response.status_code == 422 and response.json()["field"] == "nextPageToken", response.text
    return True


def test_edited_made_up_and_foreign_tokens_are_refused(world):
    for name in LISTINGS:
        token = first_token(world, name)
        tokens_of_other_listings = {other: first_token(world, other) for other in LISTINGS if LISTINGS[other][0] != LISTINGS[name][0]}
        refused_tokens(world, name, token, tokens_of_other_listings)


def refused_tokens(world, name: str, token: str, others: dict[str, str]) -> None:
    payload = json.dumps([{"at": "2026-05-01T10:00:00+00:00"}, 2**70]).encode()
    bad = {
        "edited position": flip(token, len(base64.urlsafe_b64decode(token + "==")) - 2),
        "edited signature": flip(token, 0),
        "truncated": token[:-4],
        "not base64": "%%%",
        "made up": base64.urlsafe_b64encode(hashlib.sha256(payload).digest()[:12] + payload).decode(),
        **{f"token of {other}": value for other, value in others.items()},
    }
    for what, value in bad.items():
        assert refused(world, name, value), (name, what)
    assert not refused(world, name, token), name


OTHER_CALLERS = {  # listing: a caller that may list it too, but sees other items or is another company
    "events": ("processor", Role.SUPPLIER),
    "transactions": ("retailer", Role.SUPPLIER),
    "anchors": ("another admin", Role.ADMIN),
    "keys": ("another admin", Role.ADMIN),
    "basket rules": ("another shop", Role.RETAILER),
}
OTHER_FILTERS = {"events": {"EQ_bizStep": "receiving,shipping"}, "transactions": {"kind": "sale", "sku": "bread"},
                 "basket rules": LISTINGS["basket rules"][2] | {"min_lift": 0.5}}


def test_tokens_are_bound_to_the_filters_and_the_caller(world):
    for name, (who, role) in OTHER_CALLERS.items():
        path, owner, _, _, _ = LISTINGS[name]
        if who not in world.headers:
            world.key(who, role=role)
        token = first_token(world, name)
        assert refused(world, name, token, who=who), (name, "another caller's token")
        if name in OTHER_FILTERS:
            response = world.client.get(path, params=OTHER_FILTERS[name] | {"nextPageToken": token}, headers=world.as_(owner))
            assert response.status_code == 422 and response.json()["field"] == "nextPageToken", (name, "other filters")


def test_workers_sharing_the_secret_accept_each_others_tokens_and_no_one_elses(world):
    world.ledger.settings.secret_key = "shared by every worker"
    token = first_token(world, "events")
    with TestClient(create_app(runtime=world.ledger)) as other_worker:
        assert not refused(world, "events", token, client=other_worker)
        world.ledger.settings.secret_key = "another installation"
        assert refused(world, "events", token, client=other_worker)


def test_basket_tokens_stop_working_when_the_verified_data_change(world):
    token = first_token(world, "basket rules")
    assert not refused(world, "basket rules", token)
    world.client.post("/v1/transactions", json=sale(SALES), headers=world.as_("retailer"))
    world.client.post("/v1/anchors", headers=world.as_("admin"))
    assert refused(world, "basket rules", token), "the offset would point into other results"


def test_a_token_expires_after_its_lifetime_whoever_presents_it():
    """Signed with its expiry: refused from that moment on, and an edited expiry breaks the signature."""
    now = [1_000_000.0]
    tokens = PageTokens(b"the secret", lifetime=60, clock=lambda: now[0])
    token = tokens.issue([42], scope=b"events")
    assert PageTokens.expiry(token) == datetime.fromtimestamp(1_000_060, tz=UTC)
    now[0] += 59.5
    assert tokens.open(token, scope=b"events") == [42]
    now[0] += 0.5
    with pytest.raises(InvalidParameter, match="expired"):
        tokens.open(token, scope=b"events")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    later = raw[:16] + raw[16:].replace(b"1000060", b"9000060")
    with pytest.raises(InvalidParameter, match="invalid"):
        tokens.open(base64.urlsafe_b64encode(later).decode().rstrip("="), scope=b"events")
