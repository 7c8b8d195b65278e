"""Simple methods for series that auto-ARIMA cannot or should not model.

* ``naive`` for a constant series: the last value, with zero-width intervals (nothing varies).
* ``mean`` for series too short for ARIMA (fewer than ``MIN_ARIMA_LENGTH`` values, or when no
  ARIMA candidate can be estimated): the sample mean with Student-t intervals, as R's ``meanf``.
* ``croston_sba`` for intermittent demand (more than ``INTERMITTENT_ZERO_SHARE`` zeros):
  Croston's method with the Syntetos-Boylan bias correction (alpha = 0.1, R's default), whose
  Gaussian intervals would be meaningless for mostly-zero data; the intervals are instead
  empirical quantiles of the in-sample one-step errors, widened with sqrt(h), clipped at zero.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import t as student_t

from analytics.forecast.arima import INTERVAL_LEVELS, Prediction
from analytics.forecast.differencing import is_constant

MIN_ARIMA_LENGTH = 8
INTERMITTENT_ZERO_SHARE = 0.5
CROSTON_ALPHA = 0.1


def choose_fallback(y: np.ndarray) -> str | None:
    """Name of the simple method a series needs, or None when auto-ARIMA applies."""
    if is_constant(y):
        return "naive"
    if np.mean(y == 0) > INTERMITTENT_ZERO_SHARE and np.all(y >= 0):
        return "croston_sba"
    if len(y) < MIN_ARIMA_LENGTH:
        return "mean"
    return None


def naive(y: np.ndarray, *, h: int) -> Prediction:
    """Last value repeated; zero-width intervals, which is exact for a constant series."""
    mean = np.full(h, float(y[-1]))
    return Prediction(mean, {k: mean.copy() for k in INTERVAL_LEVELS}, {k: mean.copy() for k in INTERVAL_LEVELS})


def mean_forecast(y: np.ndarray, *, h: int) -> Prediction:
    """Sample mean with ``t_{n-1}`` intervals of half-width ``t * s * sqrt(1 + 1/n)`` (R's meanf)."""
    n = len(y)
    mean = np.full(h, float(np.mean(y)))
    if n < 2:
        return naive(y, h=h)
    spread = float(np.std(y, ddof=1)) * math.sqrt(1 + 1 / n)
    half = {k: student_t.ppf(0.5 + k / 200, n - 1) * spread for k in INTERVAL_LEVELS}
    return Prediction(mean, {k: mean - v for k, v in half.items()}, {k: mean + v for k, v in half.items()})


def _croston_path(y: np.ndarray, alpha: float) -> np.ndarray:
    """SBA forecast made before each observation (NaN before the first demand) and after the last."""
    size = interval = math.nan
    periods_since = 1
    path = np.full(len(y) + 1, math.nan)
    for i, value in enumerate(y):
        if value > 0:
            if math.isnan(size):
                size, interval = float(value), float(periods_since)
            else:
                size += alpha * (value - size)
                interval += alpha * (periods_since - interval)
            periods_since = 1
        else:
            periods_since += 1
        if not math.isnan(size):
            path[i + 1] = (1 - alpha / 2) * size / interval
    return path


def croston_sba(y: np.ndarray, *, h: int, alpha: float = CROSTON_ALPHA) -> Prediction:
    """Croston/SBA point forecast with empirical, non-negative prediction intervals."""
    path = _croston_path(np.asarray(y, dtype=float), alpha)
    mean = np.full(h, path[-1])
    errors = (y - path[:-1])[~np.isnan(path[:-1])]
    if len(errors) == 0:
        errors = np.zeros(1)
    widen = np.sqrt(np.arange(1, h + 1))
    lower, upper = {}, {}
    for level in INTERVAL_LEVELS:
        low_q, high_q = np.quantile(errors, [0.5 - level / 200, 0.5 + level / 200])
        lower[level] = np.maximum(mean + min(low_q, 0.0) * widen, 0.0)
        upper[level] = mean + max(high_q, 0.0) * widen
    return Prediction(mean, lower, upper)
