"""Accuracy measures and the rolling-origin backtest reported with every forecast.

sMAPE (in percent, as in the M3 competition) and MASE scaled by the in-sample MAE of the
seasonal naive method with lag m = period (Hyndman & Koehler 2006; lag 1 when the training
part is not longer than one season).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

DEFAULT_ORIGINS = 3
MIN_TRAINING_LENGTH = 4


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean of 200 |y - f| / (|y| + |f|); a term where both are zero counts as a perfect 0."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    denominator = np.abs(actual) + np.abs(forecast)
    terms = np.divide(200 * np.abs(actual - forecast), denominator,
                      out=np.zeros_like(denominator), where=denominator > 0)
    return float(np.mean(terms))


def mase(actual: np.ndarray, forecast: np.ndarray, *, training: np.ndarray, period: int) -> float:
    """MAE of the forecast over the in-sample MAE of the seasonal naive method (NaN if that is 0)."""
    training = np.asarray(training, float)
    lag = period if len(training) > period else 1
    scale = float(np.mean(np.abs(training[lag:] - training[:-lag]))) if len(training) > lag else 0.0
    error = float(np.mean(np.abs(np.asarray(actual, float) - np.asarray(forecast, float))))
    return error / scale if scale > 0 else math.nan


def rolling_origin(y: np.ndarray, *, forecaster: Callable[[np.ndarray, int], np.ndarray], period: int,
                   horizon: int, origins: int = DEFAULT_ORIGINS) -> dict:
    """Refit at ``origins`` successive origins, one observation apart, and score ``horizon`` steps.

    The backtest horizon is capped at a quarter of the series so that training keeps most of the
    data; the earliest origin must leave at least ``MIN_TRAINING_LENGTH`` values. Returns the mean
    sMAPE and MASE over origins (None when no origin fits), the number of origins and the horizon.
    """
    n = len(y)
    h = max(1, min(horizon, n // 4))
    usable = max(0, min(origins, n - h - MIN_TRAINING_LENGTH + 1))
    smapes, mases = [], []
    for k in range(usable):
        cut = n - h - (usable - 1 - k)
        training, actual = y[:cut], y[cut:cut + h]
        predicted = forecaster(training, h)
        smapes.append(smape(actual, predicted))
        mases.append(mase(actual, predicted, training=training, period=period))
    finite_mases = [v for v in mases if math.isfinite(v)]
    return {
        "smape": float(np.mean(smapes)) if smapes else None,
        "mase": float(np.mean(finite_mases)) if finite_mases else None,
        "origins": usable,
        "horizon": h,
    }
