"""Reason codes: the features that pushed a score up most, in words a credit officer can check.

A feature's contribution is ``weight * (value - training mean)`` in the model's standardized
space (for logistic regression the weight is the coefficient; for the isolation forest, which has
no coefficients, every feature weighs one and only the size of the deviation counts).  Each
feature has two phrases, one for a value above the training mean and one for below, because a
negative coefficient makes a *low* value the suspicious one.  A category's absence ("currency
is not EUR") is never given as a reason: it tells a credit officer nothing.  Contributions below
a minimum (set by the model, in its own units) are noise and are not reported either.
"""

from __future__ import annotations

import numpy as np

PHRASES: dict[str, tuple[str, str]] = {
    "log_amount": ("amount is unusually high", "amount is unusually low"),
    "round_amount": ("amount is a round number", "amount is not a round number"),
    "off_hours": ("issued outside business hours (22:00-06:00 UTC)", "issued in business hours"),
    "weekend": ("issued on a weekend", "issued on a weekday"),
    "amount_zscore": ("amount far above the seller's earlier invoices",
                      "amount far below the seller's earlier invoices"),
    "invoices_7d": ("many invoices from this seller in the last 7 days",
                    "few invoices from this seller in the last 7 days"),
    "invoices_30d": ("many invoices from this seller in the last 30 days",
                     "few invoices from this seller in the last 30 days"),
    "new_pair": ("first invoice between this buyer and seller",
                 "buyer and seller have invoiced before"),
    "relationship_age_days": ("long-standing buyer-seller relationship",
                              "young buyer-seller relationship"),
    "no_verified_shipping": ("no verified shipment references this invoice's order",
                             "a verified shipment references this invoice's order"),
    "no_verified_receiving": ("no verified receipt references this invoice's order",
                              "a verified receipt references this invoice's order"),
    "excess_over_shipped": ("invoiced quantity exceeds the verified shipped quantity",
                            "invoiced quantity matches the verified shipped quantity"),
    "excess_over_received": ("invoiced quantity exceeds the verified received quantity",
                             "invoiced quantity matches the verified received quantity"),
    "days_before_shipment": ("invoice dated before its verified shipment",
                             "invoice dated after its verified shipment"),
    "earlier_duplicates": ("same seller, buyer and amount already invoiced within 30 days",
                           "no earlier invoice with the same seller, buyer and amount"),
}
MAX_REASONS = 3


def phrase_table(*, numeric: list[str], categories: dict[str, list[str]]) -> np.ndarray:
    """Array (n_model_columns, 2) of (above-mean, below-mean) phrases in the model's column order.

    The order is the ColumnTransformer's: numeric columns, then one column per category value.
    Columns without a curated phrase (e.g. a generic tabular data set) get a plain one; an
    empty phrase marks a direction that is never reported.
    """
    rows = [PHRASES.get(name, (f"{name} is high", f"{name} is low")) for name in numeric]
    rows += [(f"{column} is {value}", "")
             for column, values in categories.items() for value in values]
    return np.array(rows, dtype=object).reshape(-1, 2)


def top_reasons(*, contributions: np.ndarray, above_mean: np.ndarray, phrases: np.ndarray,
                min_contribution: float, limit: int = MAX_REASONS) -> list[tuple[str, ...]]:
    """Per row, the phrases of the up to ``limit`` largest contributions above the minimum."""
    if contributions.shape[0] == 0:
        return []
    limit = min(limit, contributions.shape[1])
    top = np.argsort(-contributions, axis=1, kind="stable")[:, :limit]
    rows = np.arange(contributions.shape[0])[:, None]
    words = phrases[top, np.where(above_mean[rows, top], 0, 1)]
    keep = (contributions[rows, top] > min_contribution) & (words != "")
    return [tuple(row[mask]) for row, mask in zip(words, keep)]
