"""Seeded generator of supply-chain finance records with planted invoice fraud.

No labelled invoice-fraud data set is public, so the fraud model is checked on data whose truth
is known by construction.  A *trade* is an order, a shipping and a receiving EPCIS event, an
invoice and (for honest trades) a payment 20-60 days later.  Sellers trade mostly with a few
regular buyers, at seller-specific prices, in business hours.

Planted fraud (``fraud_rate`` of the invoices, four patterns in equal shares):

- ``phantom``: an order and an invoice, but nothing was ever shipped; half to a new buyer.
- ``double_financing``: an honest invoice presented again (new id, same seller, buyer, amount
  and order) 0.5-10 days later.
- ``over_invoicing``: real shipment, invoiced quantity and amount inflated 1.3-2.5x.
- ``invoice_before_shipment``: invoiced on the order day, shipped 10-30 days later.

Fraudsters use round amounts in 30 % and off-hours in 30 % of cases.  Honest noise that makes
each signal imperfect: 6 % partial shipments, 2 % receiving shortfalls, 4 % missing receiving
events, 1 % shipments not (yet) verifiable, 8 % invoices dated up to 1.5 days before shipping,
3 % repeat trades with an identical amount, 5 % trades with a new buyer, 5 % round amounts,
3 % off-hours and weekend activity, 0.5 % shipments citing the invoice instead of the order.

Tampering (``tamper_rate`` of the phantom, over-invoicing and early-invoice frauds): the attacker
edits database rows to cover the fraud -- inserts shipping and receiving rows for a phantom
invoice, raises shipped quantities to the invoiced ones, moves the shipping date before the
invoice.  Edited rows no longer match their anchored hashes, so they come with
``verified=False``; a naive model that trusts every row is fooled, a model that counts only
verified evidence is not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PATTERNS = ("phantom", "double_financing", "over_invoicing", "invoice_before_shipment")
CURRENCIES = np.array(["EUR", "USD", "GBP", "CHF"])
_DAY = 86_400.0


@dataclass(frozen=True)
class SyntheticData:
    """Frames in the :mod:`analytics.fraud.features` contract, plus the truth per invoice."""

    transactions: pd.DataFrame
    shipments: pd.DataFrame
    labels: pd.Series  # invoice id -> 1 fraud / 0 honest
    patterns: pd.Series  # invoice id -> "honest" or one of PATTERNS


def generate(*, n_trades: int, fraud_rate: float = 0.03, tamper_rate: float = 0.0,
             seed: int = 0, start: str = "2024-01-01") -> SyntheticData:
    """About ``3 * n_trades`` transactions and ``2 * n_trades`` shipment events over one year."""
    rng = np.random.default_rng(seed)
    origin = pd.Timestamp(start, tz="UTC")
    trades = _honest_trades(rng, n_trades, origin_weekday=origin.dayofweek)
    pattern = _assign_patterns(rng, n_trades, fraud_rate)
    n_copies = int(np.sum(pattern == "double_financing"))
    pattern[pattern == "double_financing"] = "honest"  # that share becomes extra copies
    duplicates = _double_financing(rng, trades, pattern, n_copies=n_copies,
                                   origin_weekday=origin.dayofweek)
    _plant_fraud(rng, trades, pattern)
    _tamper(rng, trades, pattern, tamper_rate)
    return SyntheticData(
        transactions=_transactions_frame(trades, duplicates, origin),
        shipments=_shipments_frame(trades, origin),
        labels=pd.Series(np.r_[(pattern != "honest").astype(int), np.ones(len(duplicates["source"]), int)],
                         index=_invoice_ids(trades, duplicates), name="fraud"),
        patterns=pd.Series(np.r_[pattern, np.full(len(duplicates["source"]), "double_financing")],
                           index=_invoice_ids(trades, duplicates), name="pattern"),
    )


def _business_time(rng: np.random.Generator, seconds: np.ndarray, *, off_hours_share: float,
                   origin_weekday: int) -> np.ndarray:
    """Move times since the origin into weekday business hours, leaving a share at night or weekends."""
    n = len(seconds)
    day = np.floor(seconds / _DAY)
    weekday = (day + origin_weekday) % 7
    day = np.where((weekday >= 5) & (rng.random(n) > off_hours_share), day + (7 - weekday), day)
    hour = np.clip(rng.normal(13, 2.5, n), 7, 20)
    hour = np.where(rng.random(n) < off_hours_share, rng.uniform(22, 30, n) % 24, hour)
    return day * _DAY + hour * 3600


def _honest_trades(rng: np.random.Generator, n: int, *, origin_weekday: int) -> dict[str, np.ndarray]:
    n_sellers, n_buyers = max(10, n // 150), max(20, n // 100)
    seller = np.minimum(rng.zipf(1.6, n) - 1, n_sellers - 1)
    seller = rng.permutation(n_sellers)[seller]
    regular_buyer = (seller * 7 + rng.geometric(0.4, n)) % n_buyers
    buyer = np.where(rng.random(n) < 0.05, rng.integers(0, n_buyers, n), regular_buyer)
    price = np.exp(rng.normal(3.0, 1.0, n_sellers))[seller]
    quantity = np.maximum(1, np.round(np.exp(rng.normal(3.5, 0.6, n))))
    total = np.round(quantity * price * rng.normal(1.0, 0.05, n), 2)
    total = np.where(rng.random(n) < 0.05, np.maximum(100, np.round(total, -2)), total)
    office = {"off_hours_share": 0.03, "origin_weekday": origin_weekday}
    order_t = _business_time(rng, rng.uniform(0, 365, n) * _DAY, **office)
    ship_t = order_t + rng.uniform(1, 5, n) * _DAY
    invoice_t = np.where(rng.random(n) < 0.08, ship_t - rng.uniform(0, 1.5, n) * _DAY,
                         _business_time(rng, ship_t + rng.uniform(0, 2, n) * _DAY, **office))
    shipped = np.where(rng.random(n) < 0.06, np.floor(quantity * rng.uniform(0.85, 1, n)), quantity)
    trades = {
        "seller": seller, "buyer": buyer, "currency": CURRENCIES[rng.choice(4, n_sellers, p=[.5, .3, .1, .1])][seller],
        "quantity": quantity, "total": total, "order_t": order_t, "ship_t": ship_t,
        "receive_t": ship_t + rng.uniform(0.5, 3, n) * _DAY, "invoice_t": invoice_t,
        "invoice_quantity": quantity.copy(), "invoice_total": total.copy(),
        "shipped": shipped,
        "received": np.where(rng.random(n) < 0.02, np.floor(shipped * rng.uniform(0.9, 1, n)), shipped),
        "has_shipping": np.ones(n, bool), "has_receiving": rng.random(n) >= 0.04,
        "shipment_verified": rng.random(n) >= 0.01, "cites_invoice": rng.random(n) < 0.005,
        "has_payment": np.ones(n, bool),
        "payment_t": _business_time(rng, invoice_t + rng.uniform(20, 60, n) * _DAY, **office),
    }
    _repeat_identical_amounts(rng, trades, share=0.03)
    return trades


def _repeat_identical_amounts(rng: np.random.Generator, trades: dict, *, share: float) -> None:
    """Standing orders: a later trade of the same pair bills exactly the same amount."""
    n = len(trades["total"])
    repeats = rng.choice(n, int(share * n), replace=False)
    sources = rng.integers(0, n, len(repeats))
    for column in ("seller", "buyer", "currency", "quantity", "total", "invoice_quantity",
                   "invoice_total", "shipped", "received"):
        trades[column][repeats] = trades[column][sources]
    lag = rng.uniform(7, 20, len(repeats)) * _DAY
    for column in ("order_t", "ship_t", "receive_t", "invoice_t", "payment_t"):
        trades[column][repeats] = trades[column][sources] + lag


def _assign_patterns(rng: np.random.Generator, n: int, fraud_rate: float) -> np.ndarray:
    pattern = np.full(n, "honest", dtype=object)
    n_fraud = int(round(fraud_rate * n))
    pattern[rng.choice(n, n_fraud, replace=False)] = rng.choice(PATTERNS, n_fraud)
    return pattern


def _plant_fraud(rng: np.random.Generator, trades: dict, pattern: np.ndarray) -> None:
    fraud = pattern != "honest"
    k = int(fraud.sum())
    trades["has_payment"][fraud] = False
    phantom = pattern == "phantom"
    trades["has_shipping"][phantom] = trades["has_receiving"][phantom] = False
    new_buyer = phantom & (rng.random(len(pattern)) < 0.5)
    trades["buyer"][new_buyer] = trades["buyer"].max() + 1 + np.arange(int(new_buyer.sum()))

    over = pattern == "over_invoicing"
    factor = rng.uniform(1.3, 2.5, int(over.sum()))
    trades["invoice_quantity"][over] = np.round(trades["invoice_quantity"][over] * factor)
    trades["invoice_total"][over] = np.round(trades["invoice_total"][over] * factor, 2)

    early = pattern == "invoice_before_shipment"
    n_early = int(early.sum())
    trades["invoice_t"][early] = trades["order_t"][early] + rng.uniform(0, 1, n_early) * _DAY
    trades["ship_t"][early] = trades["order_t"][early] + rng.uniform(10, 30, n_early) * _DAY
    trades["receive_t"][early] = trades["ship_t"][early] + rng.uniform(0.5, 3, n_early) * _DAY

    trades["invoice_total"][fraud] = np.where(rng.random(k) < 0.3, np.maximum(100, np.round(
        trades["invoice_total"][fraud], -2)), trades["invoice_total"][fraud])
    night = fraud.copy()
    night[fraud] = rng.random(k) < 0.3
    trades["invoice_t"][night] = np.floor(trades["invoice_t"][night] / _DAY) * _DAY + rng.uniform(
        0, 5, int(night.sum())) * 3600


def _double_financing(rng: np.random.Generator, trades: dict, pattern: np.ndarray, *,
                      n_copies: int, origin_weekday: int) -> dict[str, np.ndarray]:
    """Second presentations of honest invoices (the source trades stay honest)."""
    honest = np.flatnonzero(pattern == "honest")
    source = rng.choice(honest, n_copies, replace=False)
    presented = trades["invoice_t"][source] + rng.uniform(0.5, 10, n_copies) * _DAY
    return {"source": source, "invoice_t": _business_time(
        rng, presented, off_hours_share=0.3, origin_weekday=origin_weekday)}


def _tamper(rng: np.random.Generator, trades: dict, pattern: np.ndarray, rate: float) -> None:
    """Cover selected frauds with edited rows, which therefore fail verification."""
    coverable = np.isin(pattern, ["phantom", "over_invoicing", "invoice_before_shipment"])
    tampered = coverable & (rng.random(len(pattern)) < rate)
    phantom, over = tampered & (pattern == "phantom"), tampered & (pattern == "over_invoicing")
    early = tampered & (pattern == "invoice_before_shipment")
    trades["has_shipping"][phantom] = trades["has_receiving"][phantom] = True
    for column in ("shipped", "received"):
        trades[column][phantom | over] = trades["invoice_quantity"][phantom | over]
    trades["ship_t"][early] = trades["invoice_t"][early] - rng.uniform(0.1, 1, int(early.sum())) * _DAY
    trades["receive_t"][early] = trades["ship_t"][early] + _DAY
    trades["shipment_verified"][tampered] = False


def _prefixed(prefix: str, numbers: np.ndarray) -> np.ndarray:
    return (prefix + pd.Series(numbers).astype(str)).to_numpy(dtype=object)


def _invoice_ids(trades: dict, duplicates: dict) -> np.ndarray:
    return np.r_[_prefixed("INV-", np.arange(len(trades["total"]))),
                 _prefixed("INV-D", np.arange(len(duplicates["source"])))]


def _as_lists(ids: np.ndarray) -> list[list[str]]:
    return [[value] for value in ids]


def _transactions_frame(trades: dict, duplicates: dict, origin: pd.Timestamp) -> pd.DataFrame:
    n = len(trades["total"])
    order_ids, invoice_ids = _prefixed("ORD-", np.arange(n)), _prefixed("INV-", np.arange(n))
    source = duplicates["source"]
    paid = np.flatnonzero(trades["has_payment"])
    parts = [
        ("order", order_ids, trades["order_t"], np.arange(n), trades["total"], trades["quantity"],
         [[] for _ in range(n)]),
        ("invoice", invoice_ids, trades["invoice_t"], np.arange(n), trades["invoice_total"],
         trades["invoice_quantity"], _as_lists(order_ids)),
        ("invoice", _prefixed("INV-D", np.arange(len(source))), duplicates["invoice_t"], source,
         trades["invoice_total"][source], trades["invoice_quantity"][source], _as_lists(order_ids[source])),
        ("payment", _prefixed("PAY-", paid), trades["payment_t"][paid], paid,
         trades["invoice_total"][paid], np.full(len(paid), np.nan), _as_lists(invoice_ids[paid])),
    ]
    frames = [pd.DataFrame({
        "id": ids, "kind": kind, "timestamp": origin + pd.to_timedelta(seconds, unit="s"),
        "seller": _prefixed("seller-", trades["seller"][rows]),
        "buyer": _prefixed("buyer-", trades["buyer"][rows]),
        "currency": trades["currency"][rows], "total": total, "quantity": quantity,
        "references": references, "verified": True,
    }) for kind, ids, seconds, rows, total, quantity, references in parts]
    return pd.concat(frames, ignore_index=True).sort_values("timestamp", kind="stable",
                                                            ignore_index=True)


def _shipments_frame(trades: dict, origin: pd.Timestamp) -> pd.DataFrame:
    n = len(trades["total"])
    cited = np.where(trades["cites_invoice"], _prefixed("INV-", np.arange(n)), _prefixed("ORD-", np.arange(n)))
    frames = []
    for step, present, time_column, quantity_column in (
            ("shipping", trades["has_shipping"], "ship_t", "shipped"),
            ("receiving", trades["has_receiving"], "receive_t", "received")):
        rows = np.flatnonzero(present)
        frames.append(pd.DataFrame({
            "event_id": _prefixed(f"{step[:4]}-", rows), "biz_step": step,
            "event_time": origin + pd.to_timedelta(trades[time_column][rows], unit="s"),
            "order_ids": _as_lists(cited[rows]), "quantity": trades[quantity_column][rows],
            "verified": trades["shipment_verified"][rows],
        }))
    return pd.concat(frames, ignore_index=True).sort_values("event_time", kind="stable",
                                                            ignore_index=True)
