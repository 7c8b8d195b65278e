"""Demand forecasts through HTTP: only verified sales count, and results say what was left out."""

import math

import pytest
from sqlalchemy import text

SHOP = "urn:epc:id:sgln:0614141.00004.0"


def sale(n: int, *, month: str, quantity: int, sku: str = "SKU-A", location: str = SHOP) -> dict:
    return {
        "id": f"urn:x:sale-{sku}-{n}", "kind": "sale", "timestamp": f"{month}-15T12:00:00Z", "seller": "retailer",
        "buyer": "consumer", "currency": "EUR", "lines": [{"sku": sku, "quantity": quantity, "unit_price": "2.00"}],
        "total": f"{2 * quantity:.2f}", "location": location, "references": [],
    }


def monthly_demand() -> list[int]:
    """Three years of a seasonal demand with a trend (deterministic)."""
    return [round(100 + 2 * t + 25 * math.sin(2 * math.pi * t / 12) + (7 * t % 5)) for t in range(36)]


@pytest.fixture
def sales(api):
    months = [f"{2023 + t // 12}-{t % 12 + 1:02d}" for t in range(36)]
    body = [sale(t, month=month, quantity=q) for t, (month, q) in enumerate(zip(months, monthly_demand(), strict=True))]
    assert api.client.post("/v1/transactions", json=body, headers=api.as_("retailer")).status_code == 201
    assert api.client.post("/v1/anchors", headers=api.as_("admin")).json()["anchored"]
    return body


def get_forecast(api, who="shop", **params):
    return api.client.get("/v1/analytics/forecast", params={"sku": "SKU-A", "freq": "M", "horizon": 6, **params}, headers=api.as_(who))


def test_forecast_of_verified_sales(api, sales):
    response = get_forecast(api)
    assert response.status_code == 200, response.json()
    result = response.json()
    assert result["records_used"] == 36 and result["records_excluded"] == {"total": 0, "by_status": {}}
    assert [row["quantity"] for row in result["history"]] == monthly_demand()
    assert result["model"].startswith("ARIMA(") and result["method"] == "auto_arima"
    assert [point["period"] for point in result["forecast"]] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    for point in result["forecast"]:
        assert point["lower_95"] <= point["lower_80"] <= point["mean"] <= point["upper_80"] <= point["upper_95"]
    assert {"smape", "mase"} <= result["backtest"].keys()


def test_a_sale_edited_in_the_database_leaves_the_input(api, sales):
    with api.ledger.engine.begin() as connection:
        connection.execute(
            text("UPDATE record SET body = replace(body, :old, :new) WHERE business_id = :id"),
            {"old": f'"quantity":{sales[3]["lines"][0]["quantity"]}', "new": '"quantity":999', "id": sales[3]["id"]},
        )
    api.client.post("/v1/transactions", json=sale(99, month="2025-12", quantity=50), headers=api.as_("retailer"))  # pending
    result = get_forecast(api).json()
    assert result["records_used"] == 35
    assert result["records_excluded"] == {"total": 2, "by_status": {"pending": 1, "tampered": 1}}
    history = [row["quantity"] for row in result["history"]]
    assert history[3] == 0 and history[-1] == monthly_demand()[-1], "the edited sale is gone, the pending one not added"


def test_location_filter_and_unknown_location(api, sales):
    assert get_forecast(api, location=SHOP).json()["records_used"] == 36
    assert get_forecast(api, location="urn:epc:id:sgln:0614141.00009.0").status_code == 404


def test_retail_selling_events_feed_a_retailer_without_sales(api):
    gtin = "00614141222223"
    events = []
    for day in range(1, 29):
        epcs = [f"urn:epc:id:sgtin:0614141.022222.{day}{n}" for n in range(day % 4 + 1)]
        events.append({"type": "ObjectEvent", "eventTime": f"2026-02-{day:02d}T10:00:00Z", "eventTimeZoneOffset": "+00:00",
                       "epcList": epcs, "action": "DELETE", "bizStep": "retail_selling", "disposition": "retail_sold",
                       "readPoint": {"id": SHOP}, "bizLocation": {"id": SHOP}})
    document = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument",
                "schemaVersion": "2.0", "creationDate": "2026-03-01T00:00:00Z", "epcisBody": {"eventList": events}}
    assert api.client.post("/v1/events", json=document, headers=api.as_("retailer")).status_code == 201
    api.client.post("/v1/anchors", headers=api.as_("admin"))
    result = api.client.get("/v1/analytics/forecast", params={"sku": gtin, "freq": "D", "horizon": 7}, headers=api.as_("shop")).json()
    assert result["source"] == "retail_selling" and result["records_used"] == 28
    assert [row["quantity"] for row in result["history"]] == [day % 4 + 1 for day in range(1, 29)]
    assert len(result["forecast"]) == 7


def test_chart_is_a_png(api, sales):
    response = api.client.get("/v1/analytics/forecast/chart", params={"sku": "SKU-A", "freq": "M", "horizon": 6}, headers=api.as_("auditor"))
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n") and len(response.content) > 10_000


@pytest.mark.parametrize(
    "params, status, field",
    [({"sku": "nothing"}, 404, "sku"), ({"horizon": 0}, 422, "horizon"), ({"horizon": 500}, 422, "horizon"),
     ({"freq": "X"}, 422, "freq"), ({"sku": ""}, 422, "sku")],
)
def test_bad_parameters_are_4xx_naming_them(api, sales, params, status, field):
    response = get_forecast(api, **params)
    assert response.status_code == status and response.json()["field"] == field


@pytest.mark.parametrize("who, status", [("shop", 200), ("auditor", 200), ("admin", 200), ("retailer", 403), ("bank", 403)])
def test_roles(api, sales, who, status):
    assert get_forecast(api, who=who).status_code == status


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_declining_demand_is_never_forecast_below_zero(api):
    """Two years of sales falling to almost nothing: the fitted drift carries the mean and the
    intervals below zero, which a quantity cannot be; the answer floors them at zero."""
    months = [f"{2024 + t // 12}-{t % 12 + 1:02d}" for t in range(24)]
    body = [sale(t, month=month, quantity=max(1, round(40 - 1.7 * t + 5 * t % 3))) for t, month in enumerate(months)]
    assert api.client.post("/v1/transactions", json=body, headers=api.as_("retailer")).status_code == 201
    assert api.client.post("/v1/anchors", headers=api.as_("admin")).json()["anchored"]
    points = get_forecast(api).json()["forecast"]
    for point in points:
        assert 0 <= point["lower_95"] <= point["lower_80"] <= point["mean"] <= point["upper_80"] <= point["upper_95"], point
    assert points[-1]["upper_95"] == 0, "the unclipped forecast of the last month lies wholly below zero"
