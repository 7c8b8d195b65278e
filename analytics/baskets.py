"""Frequent itemsets and association rules over shopping baskets (Apriori semantics).

The results are exactly those of the Apriori definition: every itemset contained in at
least ``min_count`` baskets, and every rule ``A -> C`` drawn from such an itemset whose
confidence and lift reach their floors. They agree with mlxtend and efficient-apriori
(the test oracles), but the mining is done on vertical bitsets, which is much faster:

* each item's baskets are a Python ``int`` used as a bitset (bit ``t`` set when basket
  ``t`` holds the item), built with numpy in one vectorised pass;
* itemsets grow depth first by prefix joins (items in ascending frequency); the baskets
  holding ``P + {a, b}`` are ``bits(P + a) & bits(P + b)`` and its count is one
  ``int.bit_count()``. Only the bitsets of the current branch are alive at a time, so
  memory stays a few bitsets per level instead of one per frequent itemset.

Thresholds are exact integers: a fractional support is turned into a count once, with
rational arithmetic on its decimal string (see :func:`min_count`), so a basket count that
sits exactly on the threshold is always kept, whatever float noise ``0.07 * 100`` carries.
Every measure is computed from the integer counts with a single correctly rounded
division (Python ``int / int``), so equal rationals give equal floats.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from typing import Literal

import numpy as np

__all__ = ["Itemset", "Rule", "association_rules", "frequent_itemsets", "min_count"]

_REREADABLE = (list, tuple, set, frozenset)


@dataclass(frozen=True, slots=True)
class Itemset:
    """A frequent itemset.

    Fields:
        items: the item names, sorted ascending, no duplicates.
        count: number of baskets that contain every item (absolute support).
        support: ``count / n_baskets``.
    """

    items: tuple[str, ...]
    count: int
    support: float


@dataclass(frozen=True, slots=True)
class Rule:
    """An association rule ``antecedent -> consequent`` (disjoint, each sorted ascending).

    Fields (``n`` is the number of baskets, ``A`` the antecedent, ``C`` the consequent):
        count: baskets holding ``A`` and ``C`` together.
        antecedent_count: baskets holding ``A``.
        consequent_count: baskets holding ``C``.
        support: ``count / n``.
        confidence: ``count / antecedent_count``, the estimate of P(C | A).
        lift: ``confidence / (consequent_count / n)``; 1 means independence.
        leverage: ``support - P(A) * P(C)``; 0 means independence.
        conviction: ``(1 - P(C)) / (1 - confidence)``; ``math.inf`` when confidence == 1
            (the mlxtend convention).
    """

    antecedent: tuple[str, ...]
    consequent: tuple[str, ...]
    count: int
    antecedent_count: int
    consequent_count: int
    support: float
    confidence: float
    lift: float
    leverage: float
    conviction: float


def _exact_fraction(value: float | int | str, name: str) -> Fraction:
    """The rational a user meant: a float is read through its shortest decimal ``repr``.

    ``Fraction(0.1)`` would be 3602879701896397/36028797018963968; ``Fraction("0.1")`` is
    1/10, which is what makes ``count >= 0.1 * n`` exact at ties.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name} must be a number or a decimal string, got {value!r}")
    try:
        return Fraction(repr(value) if isinstance(value, float) else value)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{name} must be a finite number, got {value!r}") from None


def min_count(min_support: float | int | str, n_baskets: int) -> int:
    """Convert a support threshold into the smallest basket count that meets it.

    An ``int`` is already an absolute count (it must be >= 1). A ``float`` or ``str`` is a
    fraction in (0, 1], read exactly from its decimal string (``0.001`` means 1/1000, not
    the nearest double), and the result is ``ceil(min_support * n_baskets)``: an itemset is
    frequent iff ``count >= min_count``, i.e. iff ``count / n >= min_support`` exactly.
    mlxtend and efficient-apriori test ``count / n >= min_support`` in floating point; both
    rules agree whenever ``n * 10**d < 2**54`` for a support with ``d`` decimals (any real
    data set with supports like 0.001), because then ``count / n`` cannot be a different
    rational that rounds onto the same double as ``min_support``.
    """
    if isinstance(n_baskets, bool) or not isinstance(n_baskets, int) or n_baskets < 0:
        raise ValueError(f"n_baskets must be a non-negative int, got {n_baskets!r}")
    if isinstance(min_support, int) and not isinstance(min_support, bool):
        if min_support < 1:
            raise ValueError(f"min_support as a count must be >= 1, got {min_support}")
        return min_support
    fraction = _exact_fraction(min_support, "min_support")
    if not 0 < fraction <= 1:
        raise ValueError(f"min_support must be in (0, 1], got {min_support!r}")
    return math.ceil(fraction * n_baskets)


def _item_bitsets(baskets: Sequence[Collection[str]], threshold: int) -> list[tuple[str, int, int]]:
    """Vertical layout: ``(item, bitset of its baskets, count)`` for items with ``count >= threshold``.

    Items come back in ascending count (ties by name): joining rare items first keeps the
    bitsets of a branch sparse in count and the branch short, the usual Eclat ordering.
    """
    codes: dict[str, int] = {}
    code_of = codes.setdefault
    flat_codes = np.fromiter((code_of(item, len(codes)) for basket in baskets for item in basket), dtype=np.int32)
    if not flat_codes.size:
        return []
    sizes = np.fromiter((len(basket) for basket in baskets), dtype=np.int32, count=len(baskets))
    # Bit positions follow basket size, largest first. Counts do not depend on the order,
    # but an AND costs the length of its shorter operand, and the baskets that hold a large
    # itemset are large, so deep bitsets end early: this halves the mining time.
    positions = np.empty(len(baskets), dtype=np.int32)
    positions[np.argsort(-sizes, kind="stable")] = np.arange(len(baskets), dtype=np.int32)
    basket_ids = np.repeat(positions, sizes)
    packed = np.zeros((len(codes), (len(baskets) + 7) // 8), dtype=np.uint8)
    bit_values = np.left_shift(np.uint8(1), (basket_ids & 7).astype(np.uint8))
    basket_ids >>= 3
    np.bitwise_or.at(packed, (flat_codes, basket_ids), bit_values)
    counts = np.bitwise_count(packed).sum(axis=1, dtype=np.int64)
    names = list(codes)
    frequent = sorted(
        (int(counts[code]), names[code], code) for code in np.flatnonzero(counts >= threshold).tolist()
    )
    return [(name, int.from_bytes(packed[code].tobytes(), "little"), count) for count, name, code in frequent]


def _mine(
    prefix: tuple[str, ...],
    extensions: list[tuple[str, int, int]],
    threshold: int,
    max_len: int,
    found: list[tuple[tuple[str, ...], int]],
) -> None:
    """Depth-first prefix joins: each extension of ``prefix`` is frequent; record and grow it."""
    grow = len(prefix) + 1 < max_len
    for position, (item, bits, count) in enumerate(extensions):
        itemset = (*prefix, item)
        found.append((itemset, count))
        if not grow:
            continue
        children = [
            (other, joint, joint_count)
            for other, other_bits, _ in extensions[position + 1 :]
            if (joint_count := (joint := bits & other_bits).bit_count()) >= threshold
        ]
        if children:
            _mine(itemset, children, threshold, max_len, found)


def frequent_itemsets(
    baskets: Sequence[Iterable[str]],
    *,
    min_support: float | int | str,
    max_len: int | None = None,
) -> list[Itemset]:
    """All itemsets held by at least ``min_count(min_support, len(baskets))`` baskets.

    Duplicate items within a basket count once; empty baskets still count in ``n``.
    ``max_len`` caps the itemset size (None: no cap). The result is sorted by size, then
    by items, each itemset's items sorted ascending.
    """
    if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1):
        raise ValueError(f"max_len must be an int >= 1 or None, got {max_len!r}")
    n_baskets = len(baskets)
    threshold = min_count(min_support, n_baskets)
    if n_baskets == 0:
        return []
    # the encoder reads each basket twice (items, then size): materialise one-shot iterators
    baskets = [basket if isinstance(basket, _REREADABLE) else list(basket) for basket in baskets]
    found: list[tuple[tuple[str, ...], int]] = []
    _mine((), _item_bitsets(baskets, threshold), threshold, max_len or math.inf, found)
    itemsets = [(tuple(sorted(items)), count) for items, count in found]
    itemsets.sort(key=lambda pair: (len(pair[0]), pair[0]))
    return [Itemset(items, count, count / n_baskets) for items, count in itemsets]


def _rule(
    antecedent: tuple[str, ...], consequent: tuple[str, ...], count: int, a_count: int, c_count: int, n: int
) -> Rule:
    """Build a rule; every measure is one correctly rounded division of exact integers."""
    conviction = math.inf if count == a_count else (n - c_count) * a_count / (n * (a_count - count))
    return Rule(
        antecedent=antecedent,
        consequent=consequent,
        count=count,
        antecedent_count=a_count,
        consequent_count=c_count,
        support=count / n,
        confidence=count / a_count,
        lift=count * n / (a_count * c_count),
        leverage=(count * n - a_count * c_count) / (n * n),
        conviction=conviction,
    )


def _consequents(
    items: tuple[str, ...], count: int, counts: dict[tuple[str, ...], int], min_conf: Fraction, single: bool
) -> Iterable[tuple[tuple[str, ...], tuple[str, ...], int]]:
    """Yield ``(antecedent, consequent, antecedent_count)`` for rules from ``items`` meeting ``min_conf``.

    Consequents grow level by level from the ones that passed (Agrawal's ap-genrules):
    moving an item from the antecedent to the consequent can only enlarge the antecedent's
    count, so a consequent that fails confidence fails in every superset too.
    """
    # confidence >= p/q  <=>  count * q >= p * antecedent_count (exact, integers only)
    scaled_count, conf_numerator = count * min_conf.denominator, min_conf.numerator
    passed = []
    for position, item in enumerate(items):
        antecedent = items[:position] + items[position + 1 :]
        a_count = counts[antecedent]
        if scaled_count >= conf_numerator * a_count:
            passed.append((item,))
            yield antecedent, (item,), a_count
    while not single and len(passed) > 1 and len(passed[0]) + 1 < len(items):
        surviving = set(passed)
        level = [
            (*left, right[-1])
            for index, left in enumerate(passed)
            for right in passed[index + 1 :]
            if left[:-1] == right[:-1]
            and all(subset in surviving for subset in combinations((*left, right[-1]), len(left)))
        ]
        passed = []
        for consequent in level:
            antecedent = tuple(item for item in items if item not in consequent)
            a_count = counts[antecedent]
            if scaled_count >= conf_numerator * a_count:
                passed.append(consequent)
                yield antecedent, consequent, a_count


def association_rules(
    itemsets: Sequence[Itemset],
    *,
    n_baskets: int,
    min_confidence: float = 0.0,
    min_lift: float = 0.0,
    consequent: Literal["single", "any"] = "single",
) -> list[Rule]:
    """Rules ``A -> C`` with ``A | C`` a given itemset, ``A`` and ``C`` non-empty and disjoint.

    ``consequent="single"`` gives one-item consequents (the R arules convention);
    ``"any"`` gives every non-empty proper split (mlxtend, efficient-apriori). Rules are
    kept when ``confidence >= min_confidence`` and ``lift >= min_lift``, both compared
    exactly on the thresholds' decimal strings. ``itemsets`` must hold every subset of each
    itemset (as :func:`frequent_itemsets` returns). Sorted by lift, confidence and count
    (descending), then antecedent and consequent (ascending).
    """
    if isinstance(n_baskets, bool) or not isinstance(n_baskets, int) or n_baskets < 1:
        raise ValueError(f"n_baskets must be an int >= 1, got {n_baskets!r}")
    conf_floor = _exact_fraction(min_confidence, "min_confidence")
    if not 0 <= conf_floor <= 1:
        raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence!r}")
    lift_floor = _exact_fraction(min_lift, "min_lift")
    if lift_floor < 0:
        raise ValueError(f"min_lift must be >= 0, got {min_lift!r}")
    if consequent not in ("single", "any"):
        raise ValueError(f"consequent must be 'single' or 'any', got {consequent!r}")
    counts = {itemset.items: itemset.count for itemset in itemsets}
    single = consequent == "single"
    rules = []
    for items, count in counts.items():
        if len(items) < 2:
            continue
        try:
            for antecedent, right, a_count in _consequents(items, count, counts, conf_floor, single):
                c_count = counts[right]
                # lift >= floor  <=>  count * n >= floor * a_count * c_count
                if count * n_baskets * lift_floor.denominator >= lift_floor.numerator * a_count * c_count:
                    rules.append(_rule(antecedent, right, count, a_count, c_count, n_baskets))
        except KeyError as missing:
            raise ValueError(f"itemsets lacks the subset {missing.args[0]!r} of {items!r}") from None
    rules.sort(key=lambda r: (-r.lift, -r.confidence, -r.count, r.antecedent, r.consequent))
    return rules
