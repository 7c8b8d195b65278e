"""Basket analysis through the ledger: baskets from verified orders and sales, mined once per data version.

One basket is one verified order or sale of the asking party's data (its own records and those shared
with it; every party's for auditors and admins): the distinct SKUs of its lines, or (``level="category"``)
the distinct ``category`` values of its lines. Records that do not verify are left out and counted by
status (:meth:`VerifiedSelection.summary`). At category level a line without a category is counted,
and a basket none of whose lines has one is left out of the mining (it would count as an empty basket
and inflate every lift) and counted too; see docs/baskets.md, "Through the service".

Every request re-verifies the records (so a record edited in the database drops out at once), but
mining is cached: the key is the selection's fingerprint (ids and content hashes of exactly the records
that verified) plus the parameters, so a cached result can never describe other data.
"""

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from sqlmodel import Session, select

from analytics.baskets import Itemset, Rule, association_rules, frequent_itemsets
from service.access.viewer import Viewer
from service.anchor.chain import Chain
from service.models import Record, RecordKind
from service.verify.integrity import Derivations
from service.verify.selection import VerifiedSelection, select_verified
from service.verify.verification import VerificationCache

Level = Literal["sku", "category"]
Consequent = Literal["single", "any"]
BASKET_KINDS = ("order", "sale")

T = TypeVar("T")


@dataclass(frozen=True)
class Baskets:
    """The baskets of one level, and what the category level could not place (always 0 at SKU level)."""

    level: Level
    baskets: list[frozenset[str]]
    lines_without_category: int = 0
    baskets_without_category: int = 0

    def counts(self) -> "BasketCounts":
        return BasketCounts(self.level, len(self.baskets), self.lines_without_category, self.baskets_without_category)


@dataclass(frozen=True)
class BasketCounts:
    """What a result reports about its baskets: cached instead of the baskets, which may be large."""

    level: Level
    used: int
    lines_without_category: int
    baskets_without_category: int


def baskets_of(records: Iterable[Record], *, level: Level) -> Baskets:
    """One basket per record (its lines' distinct SKUs or categories), in record order."""
    baskets, lines_without, baskets_without = [], 0, 0
    for record in records:
        lines = json.loads(record.body).get("lines") or []
        if level == "sku":
            baskets.append(frozenset(line["sku"] for line in lines))
            continue
        categories = frozenset(line["category"] for line in lines if isinstance(line.get("category"), str))
        lines_without += sum(1 for line in lines if not isinstance(line.get("category"), str))
        if categories:
            baskets.append(categories)
        else:
            baskets_without += 1
    return Baskets(level, baskets, lines_without, baskets_without)


def select_basket_records(session: Session, chain: Chain, *, viewer: Viewer,
                          derivations: Derivations | None = None) -> VerifiedSelection:
    """The orders and sales of ``viewer``'s data (``Viewer.owned``) that verify (by record id), and
    the others counted by status; ``derivations``: the process's memo (none: derive afresh)."""
    statement = (
        select(Record)
        .where(Record.kind == RecordKind.TRANSACTION, Record.record_type.in_(BASKET_KINDS), viewer.owned())
        .order_by(Record.id)
    )
    return select_verified(session, chain, statement=statement, cache=VerificationCache(derivations=derivations or Derivations()))


class MiningCache:
    """A bounded, thread-safe LRU of mining results (requests run on a thread pool); one per process
    container (``Runtime.mining``), so that two ledgers in one process never share results.

    ``hits`` and ``misses`` count lookups, like ``functools.lru_cache``'s ``cache_info``.
    """

    def __init__(self, *, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value of ``key``, or ``compute()`` stored under it (evicting the oldest entry).

        Computing runs outside the lock: two threads missing the same key both compute the same
        deterministic result, which is cheaper than serialising every request behind one mining.
        """
        with self._lock:
            if key in self._entries:
                self.hits += 1
                self._entries.move_to_end(key)
                return self._entries[key]  # type: ignore[return-value]
            self.misses += 1
        value = compute()
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value


@dataclass(frozen=True)
class Mined(Generic[T]):
    """Itemsets or rules of the verified baskets, with the selection and basket counts they came from."""

    selection: VerifiedSelection
    counts: BasketCounts
    results: list[T]
    scope: dict

    def summary(self) -> dict:
        """What every basket result reports besides the results themselves (see docs/baskets.md)."""
        by_category = self.counts.level == "category"
        return {
            "data_scope": self.scope,
            "level": self.counts.level,
            "data_version": self.selection.fingerprint,
            "baskets_used": self.counts.used,
            "baskets_excluded": self.selection.summary()["records_excluded"],
            "lines_without_category": self.counts.lines_without_category if by_category else None,
            "baskets_without_category": self.counts.baskets_without_category if by_category else None,
        }


def basket_itemsets(
    session: Session,
    chain: Chain,
    *,
    viewer: Viewer,
    level: Level,
    min_support: float,
    max_len: int | None,
    item: str | None,
    cache: MiningCache,
    derivations: Derivations | None = None,
) -> Mined[Itemset]:
    """Frequent itemsets of the verified orders and sales (``min_support`` a fraction in (0, 1]).

    ``item`` (a SKU, or a category at category level) keeps the itemsets that hold it.
    """
    selection = select_basket_records(session, chain, viewer=viewer, derivations=derivations)
    counts, itemsets = _itemsets(selection, level=level, min_support=min_support, max_len=max_len, cache=cache)
    if item is not None:
        itemsets = [itemset for itemset in itemsets if item in itemset.items]
    return Mined(selection, counts, itemsets, viewer.scope)


def basket_rules(
    session: Session,
    chain: Chain,
    *,
    viewer: Viewer,
    level: Level,
    min_support: float,
    max_len: int | None,
    min_confidence: float,
    min_lift: float,
    consequent: Consequent,
    item: str | None,
    cache: MiningCache,
    derivations: Derivations | None = None,
) -> Mined[Rule]:
    """Association rules of the verified orders and sales, sorted by lift (see ``analytics.baskets``).

    ``item`` (a SKU, or a category at category level) keeps the rules naming it on either side.
    """
    selection = select_basket_records(session, chain, viewer=viewer, derivations=derivations)
    counts, itemsets = _itemsets(selection, level=level, min_support=min_support, max_len=max_len, cache=cache)
    key = ("rules", selection.fingerprint, level, min_support, max_len, min_confidence, min_lift, consequent)

    def mine() -> list[Rule]:
        if not counts.used:
            return []
        return association_rules(
            itemsets, n_baskets=counts.used, min_confidence=min_confidence, min_lift=min_lift, consequent=consequent
        )

    rules = cache.get_or_compute(key, mine)
    if item is not None:
        rules = [rule for rule in rules if item in rule.antecedent or item in rule.consequent]
    return Mined(selection, counts, rules, viewer.scope)


def _itemsets(
    selection: VerifiedSelection, *, level: Level, min_support: float, max_len: int | None, cache: MiningCache
) -> tuple[BasketCounts, list[Itemset]]:
    """The counts of the selection's baskets and their frequent itemsets, from the cache when it has them."""
    key = ("itemsets", selection.fingerprint, level, min_support, max_len)

    def mine() -> tuple[BasketCounts, list[Itemset]]:
        baskets = baskets_of(selection.records, level=level)
        return baskets.counts(), frequent_itemsets(baskets.baskets, min_support=min_support, max_len=max_len)

    return cache.get_or_compute(key, mine)
