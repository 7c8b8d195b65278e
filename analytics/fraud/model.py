"""Fraud model: calibrated logistic regression, or an isolation forest when labels are scarce.

Why logistic regression: lenders must be told *why* an invoice scores high, and a linear model's
``coefficient * standardized value`` is an exact, additive explanation of its log-odds.

Training (:func:`train`) on labelled feature rows, sorted by ``timestamp``:

1. The latest :data:`HOLDOUT_SHARE` of rows is the evaluation holdout, never seen in fitting.
2. With at least :data:`MIN_LABELS_PER_CLASS` labels of each class: ``C`` is chosen from
   :data:`C_GRID` by average precision under time-series cross-validation on the earliest 80 %
   of the remaining rows (at most :data:`C_SEARCH_MAX_ROWS`, the most recent, to bound the cost);
   the pipeline with that ``C`` is fitted on those rows and Platt-calibrated
   (``CalibratedClassifierCV`` on the frozen pipeline) on the latest 20 %, so probabilities are
   calibrated on data later than the fit, as in production.  Class weighting is "balanced"
   because fraud is rare; calibration undoes the prior shift that weighting causes.
3. Otherwise: an ``IsolationForest`` over the same preprocessed features (method
   ``"isolation_forest"``); its "probability" is the anomaly score ``2**(-depth/c(n))`` in (0, 1]
   (above ~0.5 means anomalous), *not* a calibrated probability, and its bands are quantiles of
   the training scores.

The stored metrics (ROC-AUC, PR-AUC, Brier score on the holdout) describe the stored model
itself: it is not refitted on the holdout afterwards.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import IsolationForest
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from analytics.fraud.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES
from analytics.fraud.reasons import phrase_table, top_reasons

MIN_LABELS_PER_CLASS = 50
HOLDOUT_SHARE = 0.2
CALIBRATION_SHARE = 0.2
C_GRID = (0.01, 0.1, 1.0, 10.0)
C_SEARCH_SPLITS = 3
C_SEARCH_MAX_ROWS = 50_000
PROBABILITY_BANDS = (0.1, 0.5)
"""Logistic model: low < 0.1 <= medium < 0.5 <= high (0.1 is several times a typical fraud rate;
0.5 means fraud is more likely than not)."""
ANOMALY_BAND_QUANTILES = (0.95, 0.99)
"""Isolation forest: medium from the training scores' 95th percentile, high from the 99th."""
MIN_REASON_LOG_ODDS = 0.1
"""Logistic model: a reason must add at least this much to the log-odds."""
MIN_REASON_DEVIATION = 1.0
"""Isolation forest: a reason must lie at least this many standard deviations from the mean."""
NO_SINGLE_REASON = "no single feature stands out: the combination of this invoice's features scores high"
"""The reason of a high score to which no feature adds (possible when the baseline itself is high)."""


@dataclass(frozen=True, slots=True)
class Score:
    """One scored row: probability (or anomaly score), its band and the reasons that raised it."""

    probability: float
    band: str
    reasons: tuple[str, ...]


def make_pipeline(*, numeric: Sequence[str], categorical: Sequence[str], C: float = 1.0) -> Pipeline:
    """The tabular classifier used for fraud, reusable on any labelled table (e.g. credit data)."""
    prepare = ColumnTransformer(
        [("numeric", StandardScaler(), list(numeric)),
         ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), list(categorical))],
        verbose_feature_names_out=False)
    classify = LogisticRegression(C=C, class_weight="balanced", max_iter=1000)
    return Pipeline([("prepare", prepare), ("classify", classify)])


def select_c(*, numeric: Sequence[str], categorical: Sequence[str], rows: pd.DataFrame,
             labels: np.ndarray) -> float:
    """``C`` from :data:`C_GRID` with the best average precision in time-series CV (rows in time order)."""
    search = GridSearchCV(make_pipeline(numeric=numeric, categorical=categorical),
                          {"classify__C": list(C_GRID)}, scoring="average_precision",
                          cv=TimeSeriesSplit(n_splits=C_SEARCH_SPLITS), refit=False)
    search.fit(rows, labels)
    return float(search.best_params_["classify__C"])


def training_fingerprint(*, ids: pd.Index, labels: np.ndarray, schema: list[tuple[str, str]]) -> str:
    """sha256 over the feature schema and the sorted (id, label) pairs of the training rows."""
    pairs = pd.Series(np.asarray(labels).astype(int).astype(str), index=ids.astype(str)).sort_index()
    digest = hashlib.sha256(json.dumps(schema, separators=(",", ":")).encode())
    digest.update(("\n" + (pairs.index + "\t" + pairs.to_numpy()).str.cat(sep="\n")).encode())
    return digest.hexdigest()


class FraudModel:
    """A trained model version: scores rows, explains them, and round-trips through bytes."""

    def __init__(self, *, method: str, pipeline: Pipeline, calibrated: CalibratedClassifierCV | None,
                 numeric: list[str], categorical: list[str], baseline: np.ndarray,
                 band_thresholds: tuple[float, float], metrics: dict, fingerprint: str):
        self.method = method
        self.metrics = metrics
        self.fingerprint = fingerprint
        self.version = f"{method}-{fingerprint[:16]}"
        self.numeric, self.categorical = numeric, categorical
        self.band_thresholds = band_thresholds
        self._pipeline, self._calibrated, self._baseline = pipeline, calibrated, baseline
        encoder = pipeline.named_steps["prepare"].named_transformers_["categorical"]
        categories = {column: [str(value) for value in values]
                      for column, values in zip(categorical, getattr(encoder, "categories_", []))}
        self._phrases = phrase_table(numeric=numeric, categories=categories)

    @property
    def metadata(self) -> dict:
        """JSON-serialisable description stored next to the model bytes."""
        return {"version": self.version, "method": self.method, "metrics": self.metrics,
                "fingerprint": self.fingerprint, "numeric_features": self.numeric,
                "categorical_features": self.categorical,
                "band_thresholds": list(self.band_thresholds), "sklearn": sklearn.__version__}

    def probabilities(self, features: pd.DataFrame) -> np.ndarray:
        """Fraud probability (logistic) or anomaly score (isolation forest) per row."""
        rows = features[self.numeric + self.categorical]
        if self._calibrated is not None:
            return self._calibrated.predict_proba(rows)[:, 1]
        return -self._pipeline.score_samples(rows)

    def score(self, features: pd.DataFrame) -> list[Score]:
        """Score, band and reasons for every row of a :func:`build_features` frame, in order."""
        rows = features[self.numeric + self.categorical]
        probability = self.probabilities(rows)
        deviation = self._pipeline.named_steps["prepare"].transform(rows) - self._baseline
        if self.method == "logistic_regression":
            contributions = deviation * self._pipeline.named_steps["classify"].coef_[0]
            minimum = MIN_REASON_LOG_ODDS
        else:
            contributions, minimum = np.abs(deviation), MIN_REASON_DEVIATION
        reasons = top_reasons(contributions=contributions, above_mean=deviation > 0,
                              phrases=self._phrases, min_contribution=minimum)
        low, high = self.band_thresholds
        bands = np.select([probability >= high, probability >= low], ["high", "medium"], "low")
        unexplained = [i for i, (band, found) in enumerate(zip(bands, reasons)) if band == "high" and not found]
        if unexplained:  # a high score is never given without a reason: the largest push, however small
            fallback = top_reasons(contributions=contributions[unexplained], above_mean=deviation[unexplained] > 0,
                                   phrases=self._phrases, min_contribution=0.0, limit=1)
            for i, found in zip(unexplained, fallback):
                reasons[i] = found or (NO_SINGLE_REASON,)
        return [Score(float(p), str(b), r) for p, b, r in zip(probability, bands, reasons)]

    def to_bytes(self) -> bytes:
        """Pickle bytes; load only bytes this service stored (pickle executes code)."""
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_bytes(cls, data: bytes) -> FraudModel:
        model = pickle.loads(data)
        if not isinstance(model, cls):
            raise TypeError(f"expected a {cls.__name__}, got {type(model).__name__}")
        return model


def train(*, features: pd.DataFrame, labels: pd.Series, random_state: int = 0) -> FraudModel:
    """Fit on the feature rows that have a label (``labels`` indexed by transaction id, 1 = fraud)."""
    numeric = [c for c in NUMERIC_FEATURES if c in features.columns]
    categorical = [c for c in CATEGORICAL_FEATURES if c in features.columns]
    aligned = labels.reindex(features.index)
    rows = features[aligned.notna()].sort_index(kind="stable").sort_values("timestamp", kind="stable")
    y = aligned.loc[rows.index].to_numpy().astype(int)
    schema = [(c, str(rows[c].dtype)) for c in numeric + categorical]
    fingerprint = training_fingerprint(ids=rows.index, labels=y, schema=schema)
    split = int(round(len(rows) * (1 - HOLDOUT_SHARE)))
    fit_rows, holdout_rows, fit_y, holdout_y = rows.iloc[:split], rows.iloc[split:], y[:split], y[split:]
    counts = np.bincount(y, minlength=2)
    if counts.min() < MIN_LABELS_PER_CLASS:
        model = _train_isolation_forest(rows=fit_rows, numeric=numeric, categorical=categorical,
                                        fingerprint=fingerprint, random_state=random_state)
    else:
        model = _train_logistic(rows=fit_rows, y=fit_y, numeric=numeric, categorical=categorical,
                                fingerprint=fingerprint)
    model.metrics.update(_evaluate(model, holdout_rows, holdout_y),
                         n_train=len(fit_rows), n_holdout=len(holdout_rows),
                         holdout_from=holdout_rows["timestamp"].min().isoformat() if len(holdout_rows) else None,
                         labels_per_class=[int(counts[0]), int(counts[1])])
    return model


def _train_logistic(*, rows: pd.DataFrame, y: np.ndarray, numeric: list[str],
                    categorical: list[str], fingerprint: str) -> FraudModel:
    calibration_start = int(round(len(rows) * (1 - CALIBRATION_SHARE)))
    fit_rows, fit_y = rows.iloc[:calibration_start], y[:calibration_start]
    search_from = max(0, len(fit_rows) - C_SEARCH_MAX_ROWS)
    columns = numeric + categorical
    C = select_c(numeric=numeric, categorical=categorical, rows=fit_rows[columns].iloc[search_from:],
                 labels=fit_y[search_from:])
    pipeline = make_pipeline(numeric=numeric, categorical=categorical, C=C).fit(fit_rows[columns], fit_y)
    calibrated = CalibratedClassifierCV(FrozenEstimator(pipeline), method="sigmoid").fit(
        rows[columns].iloc[calibration_start:], y[calibration_start:])
    baseline = pipeline.named_steps["prepare"].transform(fit_rows[columns]).mean(axis=0)
    return FraudModel(method="logistic_regression", pipeline=pipeline, calibrated=calibrated,
                      numeric=numeric, categorical=categorical, baseline=baseline,
                      band_thresholds=PROBABILITY_BANDS, metrics={"C": C}, fingerprint=fingerprint)


def _train_isolation_forest(*, rows: pd.DataFrame, numeric: list[str], categorical: list[str],
                            fingerprint: str, random_state: int) -> FraudModel:
    columns = numeric + categorical
    pipeline = Pipeline([("prepare", make_pipeline(numeric=numeric, categorical=categorical)
                          .named_steps["prepare"]),
                         ("detect", IsolationForest(random_state=random_state))]).fit(rows[columns])
    anomaly = -pipeline.score_samples(rows[columns])
    low, high = (float(q) for q in np.quantile(anomaly, ANOMALY_BAND_QUANTILES))
    baseline = pipeline.named_steps["prepare"].transform(rows[columns]).mean(axis=0)
    return FraudModel(method="isolation_forest", pipeline=pipeline, calibrated=None,
                      numeric=numeric, categorical=categorical, baseline=baseline,
                      band_thresholds=(low, high), metrics={}, fingerprint=fingerprint)


def _evaluate(model: FraudModel, rows: pd.DataFrame, y: np.ndarray) -> dict:
    """Holdout ROC-AUC, PR-AUC and (for probabilities only) Brier score; None where undefined."""
    if len(np.unique(y)) < 2:
        return {"roc_auc": None, "pr_auc": None, "brier": None}
    predicted = model.probabilities(rows)
    return {"roc_auc": float(roc_auc_score(y, predicted)),
            "pr_auc": float(average_precision_score(y, predicted)),
            "brier": float(brier_score_loss(y, predicted)) if model.method == "logistic_regression" else None}
