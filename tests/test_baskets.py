"""analytics.baskets against mlxtend and efficient-apriori (oracles), on Groceries and random data.

Counts are compared exactly. Float measures are compared with a relative tolerance of
1e-12 (``FLOAT_TOL``): ours are single correctly rounded divisions of integers, the
oracles' are chains of float operations, so they may differ in the last bits only.
Oracle conventions bridged here: efficient-apriori caps itemsets at 8 items by default
(we lift the cap) and adds 1e-9 to conviction's denominator (so its conviction is not
compared); mlxtend gives supports, not counts (count = support * n, rounded) and needs
``num_itemsets``; both give rules with any-size consequents.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import efficient_apriori
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlxtend.frequent_patterns import apriori as mlxtend_apriori
from mlxtend.frequent_patterns import association_rules as mlxtend_rules
from mlxtend.frequent_patterns import fpgrowth as mlxtend_fpgrowth
from mlxtend.preprocessing import TransactionEncoder

from analytics.baskets import Itemset, Rule, association_rules, frequent_itemsets, min_count

from support import DATA
FLOAT_TOL = 1e-12
NO_LENGTH_CAP = 10**6
MEASURES = ("support", "confidence", "lift", "leverage", "conviction")


@pytest.fixture(scope="module")
def groceries() -> list[list[str]]:
    path = DATA / "baskets" / "groceries.csv"
    assert path.is_file(), f"reference data missing: {path}"
    with path.open() as lines:
        return [line.rstrip("\n").split(",") for line in lines]


def _close(ours: float, theirs: float) -> bool:
    return ours == theirs or math.isclose(ours, theirs, rel_tol=FLOAT_TOL, abs_tol=FLOAT_TOL * 1e-3)


def _onehot(baskets: list[list[str]]) -> pd.DataFrame:
    encoder = TransactionEncoder()
    return pd.DataFrame(encoder.fit(baskets).transform(baskets), columns=encoder.columns_)


def _by_items(itemsets: list[Itemset]) -> dict[frozenset, Itemset]:
    return {frozenset(itemset.items): itemset for itemset in itemsets}


def _by_sides(rules: list[Rule]) -> dict[tuple[frozenset, frozenset], Rule]:
    return {(frozenset(rule.antecedent), frozenset(rule.consequent)): rule for rule in rules}


def _assert_itemsets_match_mlxtend(ours: list[Itemset], theirs: pd.DataFrame, n: int) -> None:
    expected = dict(zip(theirs["itemsets"], theirs["support"]))
    got = _by_items(ours)
    assert got.keys() == expected.keys()
    for items, support in expected.items():
        assert got[items].count == round(support * n)
        assert _close(got[items].support, support)


def _mlxtend_rules(itemsets: pd.DataFrame, n: int, min_confidence: float) -> pd.DataFrame:
    return mlxtend_rules(
        itemsets, num_itemsets=n, metric="confidence", min_threshold=min_confidence,
        return_metrics=["antecedent support", "consequent support", *MEASURES],
    )


def _assert_rules_match_mlxtend(ours: list[Rule], theirs: pd.DataFrame, n: int) -> None:
    got = _by_sides(ours)
    assert len(got) == len(ours)
    expected = {(row["antecedents"], row["consequents"]): row for row in theirs.to_dict("records")}
    assert got.keys() == expected.keys()
    for sides, row in expected.items():
        rule = got[sides]
        assert rule.count == round(row["support"] * n)
        assert rule.antecedent_count == round(row["antecedent support"] * n)
        assert rule.consequent_count == round(row["consequent support"] * n)
        for measure in MEASURES:
            assert _close(getattr(rule, measure), row[measure]), (sides, measure)


def _assert_matches_efficient_apriori(ours_itemsets, ours_rules, theirs_itemsets, theirs_rules) -> None:
    expected = {frozenset(items): count for level in theirs_itemsets.values() for items, count in level.items()}
    assert {items: itemset.count for items, itemset in _by_items(ours_itemsets).items()} == expected
    got = _by_sides(ours_rules)
    assert got.keys() == {(frozenset(rule.lhs), frozenset(rule.rhs)) for rule in theirs_rules}
    for rule in theirs_rules:
        mine = got[frozenset(rule.lhs), frozenset(rule.rhs)]
        assert (mine.count, mine.antecedent_count, mine.consequent_count) == (
            rule.count_full,
            rule.count_lhs,
            rule.count_rhs,
        )
        assert _close(mine.confidence, rule.confidence) and _close(mine.lift, rule.lift)


# --- Groceries (9,835 baskets) -------------------------------------------------------------


def test_groceries_matches_efficient_apriori(groceries):
    ours = frequent_itemsets(groceries, min_support=0.001)
    rules = association_rules(ours, n_baskets=len(groceries), min_confidence=0.5, consequent="any")
    theirs = efficient_apriori.apriori(groceries, min_support=0.001, min_confidence=0.5, max_length=NO_LENGTH_CAP)
    _assert_matches_efficient_apriori(ours, rules, *theirs)
    assert len(ours) == 13492 and len(rules) == 5829


def test_groceries_matches_mlxtend_fpgrowth_and_rules(groceries):
    n = len(groceries)
    ours = frequent_itemsets(groceries, min_support=0.001)
    theirs = mlxtend_fpgrowth(_onehot(groceries), min_support=0.001, use_colnames=True)
    _assert_itemsets_match_mlxtend(ours, theirs, n)
    their_rules = _mlxtend_rules(theirs, n, 0.5)
    any_rules = association_rules(ours, n_baskets=n, min_confidence=0.5, consequent="any")
    _assert_rules_match_mlxtend(any_rules, their_rules, n)
    single = association_rules(ours, n_baskets=n, min_confidence=0.5)
    _assert_rules_match_mlxtend(single, their_rules[their_rules["consequents"].map(len) == 1], n)


def test_groceries_matches_mlxtend_apriori_with_max_len(groceries):
    ours = frequent_itemsets(groceries, min_support=0.005, max_len=2)
    theirs = mlxtend_apriori(_onehot(groceries), min_support=0.005, use_colnames=True, max_len=2)
    _assert_itemsets_match_mlxtend(ours, theirs, len(groceries))
    assert max(len(itemset.items) for itemset in ours) == 2


def test_groceries_reproduces_the_arules_reference(groceries):
    """R arules, ``apriori(Groceries, parameter = list(supp = 0.001, conf = 0.5))``: 5,668
    rules; the top one by lift is {Instant food products, soda} => {hamburger meat},
    support 0.001220132, confidence 0.6315789, lift 18.995654, count 12 (printed to 7 digits)."""
    itemsets = frequent_itemsets(groceries, min_support=0.001)
    rules = association_rules(itemsets, n_baskets=len(groceries), min_confidence=0.5)
    assert len(rules) == 5668
    top = rules[0]
    assert (top.antecedent, top.consequent, top.count) == (("Instant food products", "soda"), ("hamburger meat",), 12)
    assert top.support == pytest.approx(0.001220132, rel=5e-7)
    assert top.confidence == pytest.approx(0.6315789, rel=5e-7)
    assert top.lift == pytest.approx(18.995654, rel=5e-7)


def test_measures_are_the_exact_rationals_rounded_once(groceries):
    n = len(groceries)
    itemsets = frequent_itemsets(groceries, min_support=0.002)
    rules = association_rules(itemsets, n_baskets=n, consequent="any")
    assert rules
    for rule in rules:
        support = Fraction(rule.count, n)
        p_antecedent, p_consequent = Fraction(rule.antecedent_count, n), Fraction(rule.consequent_count, n)
        confidence = support / p_antecedent
        assert rule.support == float(support) and rule.confidence == float(confidence)
        assert rule.lift == float(confidence / p_consequent)
        assert rule.leverage == float(support - p_antecedent * p_consequent)
        expected_conviction = math.inf if confidence == 1 else float((1 - p_consequent) / (1 - confidence))
        assert rule.conviction == expected_conviction


def test_rules_are_sorted_and_filtered_by_lift(groceries):
    n = len(groceries)
    itemsets = frequent_itemsets(groceries, min_support=0.003)
    every = association_rules(itemsets, n_baskets=n, consequent="any")
    keys = [(-r.lift, -r.confidence, -r.count, r.antecedent, r.consequent) for r in every]
    assert keys == sorted(keys)
    lifted = association_rules(itemsets, n_baskets=n, min_lift=2.5, consequent="any")
    exact_lift = {id(r): Fraction(r.count * n, r.antecedent_count * r.consequent_count) for r in every}
    assert lifted == [rule for rule in every if exact_lift[id(rule)] >= Fraction("2.5")]
    assert 0 < len(lifted) < len(every)


# --- random baskets (hypothesis) -----------------------------------------------------------

random_baskets = st.lists(st.lists(st.sampled_from("abcdefg"), max_size=6), min_size=1, max_size=40).filter(
    lambda baskets: any(baskets)
)
decimal_fractions = st.integers(1, 20).map(lambda k: k / 20)  # ties at count / n are common


@settings(max_examples=60, deadline=None)
@given(
    baskets=random_baskets,
    min_support=decimal_fractions,
    min_confidence=decimal_fractions,
    max_len=st.none() | st.integers(1, 4),
)
def test_random_baskets_match_both_oracles(baskets, min_support, min_confidence, max_len):
    n = len(baskets)
    ours = frequent_itemsets(baskets, min_support=min_support, max_len=max_len)
    rules = association_rules(ours, n_baskets=n, min_confidence=min_confidence, consequent="any")
    theirs = efficient_apriori.apriori(
        baskets, min_support=min_support, min_confidence=min_confidence, max_length=max_len or NO_LENGTH_CAP
    )
    _assert_matches_efficient_apriori(ours, rules, *theirs)

    their_itemsets = mlxtend_apriori(_onehot(baskets), min_support=min_support, use_colnames=True, max_len=max_len)
    _assert_itemsets_match_mlxtend(ours, their_itemsets, n)
    if any(len(itemset.items) > 1 for itemset in ours):
        their_rules = _mlxtend_rules(their_itemsets, n, min_confidence)
        _assert_rules_match_mlxtend(rules, their_rules, n)
    else:
        assert rules == []


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 100_000), numerator=st.integers(1, 10_000))
def test_min_count_agrees_with_the_float_comparison_of_the_oracles(n, numerator):
    """The documented claim: for supports with up to 4 decimals, count >= min_count exactly
    when count / n >= min_support in floating point (what mlxtend and efficient-apriori test)."""
    support = numerator / 10_000
    threshold = min_count(support, n)
    assert threshold / n >= support
    assert not (threshold - 1) / n >= support


# --- thresholds and validation -------------------------------------------------------------


def test_min_count_is_exact_at_ties():
    assert 0.07 * 100 > 7  # the float noise that a naive ceil(min_support * n) would round up
    assert min_count(0.07, 100) == min_count("0.07", 100) == 7
    assert min_count(0.001, 9835) == 10
    assert min_count(1.0, 7) == 7 and min_count(1e-9, 7) == 1
    assert min_count(4, 7) == 4  # an int is already a count


def test_an_itemset_exactly_at_the_threshold_is_kept():
    baskets = [["tea", "milk"]] * 7 + [["bread"]] * 93
    itemsets = frequent_itemsets(baskets, min_support=0.07)
    assert [(i.items, i.count) for i in itemsets] == [
        (("bread",), 93),
        (("milk",), 7),
        (("tea",), 7),
        (("milk", "tea"), 7),
    ]
    rules = association_rules(itemsets, n_baskets=100, min_confidence=1.0)
    assert [(r.antecedent, r.consequent, r.conviction) for r in rules] == [
        (("milk",), ("tea",), math.inf),
        (("tea",), ("milk",), math.inf),
    ]


def test_duplicates_count_once_and_empty_baskets_count_in_n():
    expected = [(("a",), 2, 0.5), (("b",), 1, 0.25), (("a", "b"), 1, 0.25)]
    itemsets = frequent_itemsets([["a", "a", "b"], [], ["a"], []], min_support=1)
    assert [(i.items, i.count, i.support) for i in itemsets] == expected
    one_shot = frequent_itemsets([iter("aab"), iter(""), (x for x in "a"), {}.keys()], min_support=1)
    assert [(i.items, i.count, i.support) for i in one_shot] == expected
    assert frequent_itemsets([], min_support=0.5) == []


def test_any_consequent_prunes_nothing_it_should_keep():
    """With confidence 0 every non-empty proper split of every itemset is a rule."""
    itemsets = frequent_itemsets([["a", "b", "c", "d"], ["a", "b", "c"]], min_support=1)
    rules = association_rules(itemsets, n_baskets=2, consequent="any")
    assert len(rules) == sum(2 ** len(i.items) - 2 for i in itemsets)
    assert len(association_rules(itemsets, n_baskets=2)) == sum(len(i.items) for i in itemsets if len(i.items) > 1)


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda: min_count(0.0, 10), "min_support"),
        (lambda: min_count(1.5, 10), "min_support"),
        (lambda: min_count(0, 10), "min_support"),
        (lambda: min_count(float("nan"), 10), "min_support"),
        (lambda: min_count(True, 10), "min_support"),
        (lambda: min_count(0.5, -1), "n_baskets"),
        (lambda: frequent_itemsets([["a"]], min_support="abc"), "min_support"),
        (lambda: frequent_itemsets([["a"]], min_support=0.5, max_len=0), "max_len"),
        (lambda: association_rules([], n_baskets=0), "n_baskets"),
        (lambda: association_rules([], n_baskets=5, min_confidence=1.5), "min_confidence"),
        (lambda: association_rules([], n_baskets=5, min_confidence=-0.1), "min_confidence"),
        (lambda: association_rules([], n_baskets=5, min_lift=-1), "min_lift"),
        (lambda: association_rules([], n_baskets=5, consequent="both"), "consequent"),
        (lambda: association_rules([Itemset(("a", "b"), 2, 1.0)], n_baskets=2), "itemsets"),
    ],
)
def test_invalid_arguments_name_the_parameter(call, parameter):
    with pytest.raises(ValueError, match=parameter):
        call()
