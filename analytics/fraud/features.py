"""Fraud features for invoices and payments, computed column-wise from plain data frames.

Input contract (the service builds these frames from its records):

``transactions`` -- one row per commercial transaction:
    ``id`` (str, business id), ``kind`` ("order" | "sale" | "invoice" | "payment"),
    ``timestamp`` (tz-aware UTC), ``seller`` (str), ``buyer`` (str), ``currency`` (ISO 4217),
    ``total`` (float), ``quantity`` (float; sum of line quantities, NaN for payments),
    ``references`` (list of ids of related records, e.g. an invoice lists its order),
    ``verified`` (bool: the record's hash is in an anchored Merkle root).

``shipments`` -- one row per EPCIS shipping/receiving event:
    ``event_id`` (str), ``biz_step`` ("shipping" | "receiving"), ``event_time`` (tz-aware UTC),
    ``order_ids`` (list of business transaction ids from the event's bizTransactionList),
    ``quantity`` (float, items shipped or received), ``verified`` (bool).

Only verified rows count as evidence: an attacker who edits database rows breaks their
verification, so the edited rows neither help nor hurt a score.  Every invoice and payment is
scored, verified or not; the history features look only at verified transactions.

Output of :func:`build_features`: one row per invoice/payment, indexed by ``id``, with the meta
columns ``timestamp``, ``seller``, ``buyer`` (not model inputs), the categorical features
:data:`CATEGORICAL_FEATURES` and the numeric features :data:`TRANSACTION_FEATURES`,
:data:`HISTORY_FEATURES` and :data:`SUPPLY_CHAIN_FEATURES`.

History features use strictly earlier records only (no leakage from the future).  Supply-chain
features use the evidence recorded up to ``at``: an invoice dated before its shipment is, by
definition, recognised from a later shipping event.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TRANSACTION_COLUMNS = ("id", "kind", "timestamp", "seller", "buyer", "currency", "total",
                       "quantity", "references", "verified")
SHIPMENT_COLUMNS = ("event_id", "biz_step", "event_time", "order_ids", "quantity", "verified")
SCORED_KINDS = ("invoice", "payment")

CATEGORICAL_FEATURES = ("kind", "currency")
TRANSACTION_FEATURES = ("log_amount", "round_amount", "off_hours", "weekend")
HISTORY_FEATURES = ("amount_zscore", "invoices_7d", "invoices_30d", "new_pair",
                    "relationship_age_days")
SUPPLY_CHAIN_FEATURES = ("no_verified_shipping", "no_verified_receiving", "excess_over_shipped",
                         "excess_over_received", "days_before_shipment", "earlier_duplicates")
NUMERIC_FEATURES = TRANSACTION_FEATURES + HISTORY_FEATURES + SUPPLY_CHAIN_FEATURES

DUPLICATE_WINDOW = pd.Timedelta(days=30)
"""Same seller, buyer and amount within this window counts as a second presentation."""
MAX_DAYS_BEFORE_SHIPMENT = 30.0
MAX_ABS_ZSCORE = 10.0
_DAY_S = 86_400
_TIME_BITS = 33  # epoch seconds fit in 33 bits until the year 2242


def build_features(*, transactions: pd.DataFrame, shipments: pd.DataFrame,
                   at: pd.Timestamp | None = None) -> pd.DataFrame:
    """One feature row per invoice and payment known at ``at`` (default: everything)."""
    _require_columns(transactions, TRANSACTION_COLUMNS, "transactions")
    _require_columns(shipments, SHIPMENT_COLUMNS, "shipments")
    if at is not None:
        transactions = transactions[transactions["timestamp"] <= at]
        shipments = shipments[shipments["event_time"] <= at]
    transactions, shipments = _with_party_codes(transactions), shipments.reset_index(drop=True)
    scored = transactions[transactions["kind"].isin(SCORED_KINDS).to_numpy()]
    history = transactions[transactions["verified"].to_numpy(dtype=bool)]
    links = _evidence_links(transactions=transactions, shipments=shipments)
    verified_links = links[shipments["verified"].to_numpy(dtype=bool)[links["event_row"].to_numpy()]]
    features = scored[["id", "timestamp", "seller", "buyer", "kind", "currency"]]
    features = features.assign(
        **_transaction_features(scored),
        **_history_features(scored=scored, history=history),
        **_supply_chain_features(scored=scored, history=history, links=verified_links,
                                 shipments=shipments, n_rows=len(transactions)))
    return features.set_index("id")


def supply_chain_evidence(*, transactions: pd.DataFrame, shipments: pd.DataFrame) -> pd.DataFrame:
    """Every shipping/receiving event that cites an invoice or payment, its order or its invoice.

    Long format, one row per (``transaction_id``, ``event_id``) with ``biz_step``,
    ``event_time``, ``quantity`` and ``verified``, so a response can list which evidence
    existed and whether each item was verified.
    """
    transactions, shipments = transactions.reset_index(drop=True), shipments.reset_index(drop=True)
    links = _evidence_links(transactions=transactions, shipments=shipments)
    evidence = shipments.iloc[links["event_row"].to_numpy()][
        ["event_id", "biz_step", "event_time", "quantity", "verified"]].reset_index(drop=True)
    evidence.insert(0, "transaction_id", transactions["id"].to_numpy()[links["row"].to_numpy()])
    return evidence.astype({"verified": bool})


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = sorted(set(columns) - set(frame.columns))
    if missing:
        raise ValueError(f"{name} lacks columns {missing}")


def _epoch_seconds(times: pd.Series) -> np.ndarray:
    """Whole seconds since 1970 (floor), also for an empty object column."""
    seconds = (pd.to_datetime(times, utc=True) - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    return seconds.to_numpy(dtype=np.int64)


def _transaction_features(scored: pd.DataFrame) -> dict[str, np.ndarray]:
    total = scored["total"].to_numpy(dtype=float)
    times = scored["timestamp"].dt.tz_convert("UTC")
    hour = times.dt.hour.to_numpy()
    return {
        "log_amount": np.log1p(np.maximum(total, 0.0)),
        "round_amount": ((total > 0) & np.isclose(np.mod(total, 100.0), 0.0)).astype(float),
        "off_hours": ((hour < 6) | (hour >= 22)).astype(float),
        "weekend": (times.dt.dayofweek.to_numpy() >= 5).astype(float),
    }


class _GroupedTimeline:
    """Rows sorted by (group, time) in one int64 key, for vectorised "earlier rows" queries.

    ``key = group << 33 | epoch_seconds``; ``searchsorted`` on the sorted keys then answers
    "how many rows of the same group lie in [t - window, t)" for all queries at once.
    """

    def __init__(self, *, groups: np.ndarray, seconds: np.ndarray, values: np.ndarray | None = None):
        keys = (groups.astype(np.int64) << _TIME_BITS) | seconds
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]
        if values is not None:
            sorted_values = values[order]
            self.cumsum = np.concatenate([[0.0], np.cumsum(sorted_values)])
            self.cumsum_sq = np.concatenate([[0.0], np.cumsum(sorted_values ** 2)])

    def _bounds(self, groups: np.ndarray, seconds: np.ndarray, window_s: int | None):
        group_start = groups.astype(np.int64) << _TIME_BITS
        query = group_start | seconds
        lower = group_start if window_s is None else np.maximum(query - window_s, group_start)
        return (np.searchsorted(self.keys, lower, side="left"),
                np.searchsorted(self.keys, query, side="left"))

    def count_earlier(self, *, groups: np.ndarray, seconds: np.ndarray,
                      window_s: int | None = None) -> np.ndarray:
        start, end = self._bounds(groups, seconds, window_s)
        return end - start

    def earlier_mean_std(self, *, groups: np.ndarray, seconds: np.ndarray):
        start, end = self._bounds(groups, seconds, None)
        count = end - start
        safe = np.maximum(count, 1)
        mean = (self.cumsum[end] - self.cumsum[start]) / safe
        variance = (self.cumsum_sq[end] - self.cumsum_sq[start]) / safe - mean ** 2
        return count, mean, np.sqrt(np.maximum(variance, 0.0))


def _with_party_codes(transactions: pd.DataFrame) -> pd.DataFrame:
    """0..n-1 index plus integer codes for seller and buyer-seller pair (joins on ints, not strings)."""
    seller, _ = pd.factorize(transactions["seller"])
    buyer, buyers = pd.factorize(transactions["buyer"])
    return transactions.reset_index(drop=True).assign(
        seller_code=seller.astype(np.int64),
        pair_code=seller.astype(np.int64) * max(len(buyers), 1) + buyer)


def _history_features(*, scored: pd.DataFrame, history: pd.DataFrame) -> dict[str, np.ndarray]:
    invoices = history[history["kind"] == "invoice"]
    hist_seconds, query_seconds = _epoch_seconds(invoices["timestamp"]), _epoch_seconds(scored["timestamp"])
    seller_hist, seller_query = invoices["seller_code"].to_numpy(), scored["seller_code"].to_numpy()
    log_amount = np.log1p(np.maximum(scored["total"].to_numpy(dtype=float), 0.0))
    timeline = _GroupedTimeline(groups=seller_hist, seconds=hist_seconds,
                                values=np.log1p(np.maximum(invoices["total"].to_numpy(dtype=float), 0.0)))
    count, mean, std = timeline.earlier_mean_std(groups=seller_query, seconds=query_seconds)
    enough = (count >= 3) & (std > 1e-9)
    zscore = np.where(enough, (log_amount - mean) / np.where(enough, std, 1.0), 0.0)
    velocity = {f"invoices_{days}d": timeline.count_earlier(
        groups=seller_query, seconds=query_seconds, window_s=days * _DAY_S).astype(float)
        for days in (7, 30)}
    # First verified *invoice* of the pair: an order costs a fraudster nothing, a billing history does.
    first_invoice = pd.Series(hist_seconds).groupby(invoices["pair_code"].to_numpy()).min()
    first_seen = scored["pair_code"].map(first_invoice).to_numpy(dtype=float, na_value=np.inf)
    new_pair = ~(first_seen < query_seconds)
    return {
        "amount_zscore": np.clip(zscore, -MAX_ABS_ZSCORE, MAX_ABS_ZSCORE),
        **velocity,
        "new_pair": new_pair.astype(float),
        "relationship_age_days": np.where(new_pair, 0.0, (query_seconds - first_seen) / _DAY_S),
    }


def _evidence_links(*, transactions: pd.DataFrame, shipments: pd.DataFrame) -> pd.DataFrame:
    """(row, event_row) pairs: shipment events citing a scored row, a record it references, or
    a record referenced by that (an invoice's order, a payment's invoice and its order).

    Both frames must have a 0..n-1 index.  Ids are mapped to integer codes once so the joins
    run on integers rather than strings.
    """
    references = transactions["references"].explode().dropna()
    cited = shipments["order_ids"].explode().dropna()
    n_rows, n_references = len(transactions), len(references)
    codes, uniques = pd.factorize(np.concatenate([
        transactions["id"].to_numpy(dtype=object), references.to_numpy(dtype=object),
        cited.to_numpy(dtype=object)]))
    id_code = codes[:n_rows]
    row_of_code = np.full(len(uniques), -1)
    row_of_code[id_code] = np.arange(n_rows)
    links = pd.DataFrame({"row": references.index.to_numpy(),
                          "code": codes[n_rows:n_rows + n_references]})
    scored_rows = np.flatnonzero(transactions["kind"].isin(SCORED_KINDS).to_numpy())
    is_scored = np.zeros(n_rows, dtype=bool)
    is_scored[scored_rows] = True
    direct = links[is_scored[links["row"].to_numpy()]]
    target = row_of_code[direct["code"].to_numpy()]
    second = (pd.DataFrame({"row": direct["row"].to_numpy(), "target": target})[target >= 0]
              .merge(links.rename(columns={"row": "target"}), on="target")[["row", "code"]])
    related = pd.concat([pd.DataFrame({"row": scored_rows, "code": id_code[scored_rows]}),
                         direct, second], ignore_index=True).drop_duplicates()
    events = pd.DataFrame({"event_row": cited.index.to_numpy(), "code": codes[n_rows + n_references:]})
    return related.merge(events, on="code")[["row", "event_row"]].drop_duplicates(ignore_index=True)


def _supply_chain_features(*, scored: pd.DataFrame, history: pd.DataFrame, links: pd.DataFrame,
                           shipments: pd.DataFrame, n_rows: int) -> dict[str, np.ndarray]:
    rows, events = links["row"].to_numpy(), links["event_row"].to_numpy()
    step = shipments["biz_step"].to_numpy()[events]
    quantity = np.nan_to_num(shipments["quantity"].to_numpy(dtype=float)[events])
    delivered, seen = {}, {}
    for name in ("shipping", "receiving"):
        mask = step == name
        delivered[name] = np.bincount(rows[mask], weights=quantity[mask], minlength=n_rows)
        seen[name] = np.bincount(rows[mask], minlength=n_rows) > 0
    first_shipping = np.full(n_rows, np.inf)
    shipping = step == "shipping"
    np.minimum.at(first_shipping, rows[shipping], _epoch_seconds(shipments["event_time"])[events][shipping])
    position = scored.index.to_numpy()
    invoiced = scored["quantity"].to_numpy(dtype=float)
    has_shipping = seen["shipping"][position]
    days_before = np.where(has_shipping, (first_shipping[position] - _epoch_seconds(scored["timestamp"]))
                           / _DAY_S, 0.0)
    return {
        "no_verified_shipping": (~has_shipping).astype(float),
        "no_verified_receiving": (~seen["receiving"][position]).astype(float),
        "excess_over_shipped": _log_excess(invoiced, np.where(
            has_shipping, delivered["shipping"][position], np.nan)),
        "excess_over_received": _log_excess(invoiced, np.where(
            seen["receiving"][position], delivered["receiving"][position], np.nan)),
        "days_before_shipment": np.clip(days_before, 0.0, MAX_DAYS_BEFORE_SHIPMENT),
        "earlier_duplicates": _earlier_duplicates(scored=scored, history=history),
    }


def _log_excess(invoiced: np.ndarray, delivered: np.ndarray) -> np.ndarray:
    """log(invoiced / delivered) where positive and both known, else 0."""
    known = (invoiced > 0) & (delivered > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(known, np.log(invoiced / np.where(known, delivered, 1.0)), 0.0)
    return np.maximum(ratio, 0.0)


def _earlier_duplicates(*, scored: pd.DataFrame, history: pd.DataFrame) -> np.ndarray:
    """Earlier verified invoices with the same seller, buyer and amount within the window."""
    invoices = history[history["kind"] == "invoice"]
    both = pd.concat([invoices, scored], ignore_index=True)
    cents = np.round(both["total"].to_numpy(dtype=float) * 100).astype(np.int64)
    groups = pd.DataFrame({"pair": both["pair_code"].to_numpy(), "cents": cents}).groupby(
        ["pair", "cents"], sort=False).ngroup().to_numpy()
    timeline = _GroupedTimeline(groups=groups[:len(invoices)], seconds=_epoch_seconds(invoices["timestamp"]))
    counts = timeline.count_earlier(groups=groups[len(invoices):], seconds=_epoch_seconds(scored["timestamp"]),
                                    window_s=int(DUPLICATE_WINDOW.total_seconds()))
    return np.where(scored["kind"].to_numpy() == "invoice", counts, 0).astype(float)
