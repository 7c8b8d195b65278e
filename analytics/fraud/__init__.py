"""Fraud scores for lenders: invoice features from verified records, a calibrated model, reasons.

Public API::

    build_features(*, transactions, shipments, at=None) -> DataFrame   # analytics.fraud.features
    supply_chain_evidence(*, transactions, shipments) -> DataFrame
    train(*, features, labels, random_state=0) -> FraudModel           # analytics.fraud.model
    FraudModel.score(features) -> list[Score]; .to_bytes(); FraudModel.from_bytes(data); .metadata
    make_pipeline(*, numeric, categorical, C=1.0) -> sklearn Pipeline  # generic tabular entry point

The synthetic data generator the tests and benchmarks train and check on lives in
``tests/support/synthetic_fraud.py``: it is no part of scoring.
"""

from analytics.fraud.features import build_features, supply_chain_evidence
from analytics.fraud.model import FraudModel, Score, make_pipeline, train

__all__ = ["FraudModel", "Score", "build_features", "make_pipeline", "supply_chain_evidence", "train"]
