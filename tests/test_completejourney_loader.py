"""The Complete Journey loader replays real baskets as sales the API accepts, and they forecast."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "load_completejourney.py"


@pytest.fixture(scope="module")
def loader():
    spec = importlib.util.spec_from_file_location("load_completejourney", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def real_sales(loader):
    transactions, products = loader.load(baskets=300, stores=1)
    return transactions, loader.sales_of(transactions, products, seller="retailer")


def test_baskets_become_sales_with_exact_totals(real_sales):
    transactions, sales = real_sales
    assert len(sales) == transactions["basket_id"].nunique() == 300
    assert sum(len(sale["lines"]) for sale in sales) == int((transactions["quantity"] > 0).sum())
    assert any("category" in line for sale in sales for line in sale["lines"])


def test_replayed_through_the_api_and_idempotent(api, loader, real_sales):
    _, sales = real_sales
    key = api.as_("retailer")["Authorization"].removeprefix("Bearer ")
    assert loader.replay(api.client, sales, key=key, batch=100) == (300, 0)
    assert loader.replay(api.client, sales, key=key, batch=100) == (0, 300)
    api.client.post("/v1/anchors", headers=api.as_("admin"))
    best_seller = max((line["sku"] for sale in sales for line in sale["lines"]), key=lambda sku: sum(
        line["quantity"] for sale in sales for line in sale["lines"] if line["sku"] == sku))
    result = api.client.get("/v1/analytics/forecast", params={"sku": best_seller, "freq": "D", "horizon": 7}, headers=api.as_("shop")).json()
    assert result["records_used"] >= 5 and len(result["forecast"]) == 7
