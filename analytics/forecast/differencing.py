"""Choice of the differencing orders d and D, following R's ``forecast::ndiffs`` / ``nsdiffs``.

* d: repeated KPSS level-stationarity tests (alpha = 0.05, at most 2 differences), with the
  Bartlett lag truncation ``trunc(3 * sqrt(n) / 13)`` that ``ndiffs`` passes to ``urca::ur.kpss``.
* D: R's default seasonal test ``"seas"``: one seasonal difference when the seasonal strength
  of an STL decomposition (Wang, Smith & Hyndman 2006) exceeds 0.64. We chose it over OCSB
  because it is R's default and needs no regression with lag selection.
"""

from __future__ import annotations

import math

import numpy as np
from statsmodels.tsa.seasonal import STL

KPSS_CRITICAL_5_PERCENT = 0.463  # level stationarity ("mu"), Kwiatkowski et al. (1992), table 1
SEASONAL_STRENGTH_THRESHOLD = 0.64
MAX_D = 2
STL_SEASONAL_WINDOW = 11


def _next_odd(k: int) -> int:
    """R's ``nextodd``: k itself when odd, else k + 1."""
    return k if k % 2 else k + 1


def is_constant(x: np.ndarray) -> bool:
    """True for an empty series or one whose values are all equal (R's ``is.constant``)."""
    return len(x) == 0 or bool(np.all(x == x[0]))


def kpss_statistic(x: np.ndarray) -> float:
    """KPSS level-stationarity statistic with a Bartlett long-run variance."""
    n = len(x)
    e = x - x.mean()
    partial_sums = np.cumsum(e)
    lags = math.trunc(3 * math.sqrt(n) / 13)
    long_run_variance = float(e @ e) / n
    for lag in range(1, lags + 1):
        weight = 1 - lag / (lags + 1)
        long_run_variance += 2 * weight * float(e[lag:] @ e[:-lag]) / n
    return float(partial_sums @ partial_sums) / (n**2 * long_run_variance)


def ndiffs(x: np.ndarray, *, max_d: int = MAX_D) -> int:
    """Number of first differences needed for KPSS stationarity at the 5 % level."""
    d = 0
    while d < max_d and len(x) > 2 and not is_constant(x) and kpss_statistic(x) > KPSS_CRITICAL_5_PERCENT:
        d += 1
        x = np.diff(x)
    return d


def seasonal_strength(x: np.ndarray, *, period: int) -> float:
    """``max(0, min(1, 1 - var(remainder) / var(remainder + seasonal)))`` of an STL fit.

    The settings are those of ``forecast::mstl`` for a single seasonal period, i.e. R's ``stl``
    with ``s.window = 11`` and R's other defaults: ``s.degree = 0`` (locally constant seasonal
    smoothing; with statsmodels' default of 1, D was 1 on two monthly M3 series where
    statsforecast's port of ``mstl``, which passes ``seasonal_deg=0`` too, gives 0) and loess jumps of
    ``ceiling(window / 10)`` (statsmodels evaluates every point by default).
    """
    trend = _next_odd(math.ceil(1.5 * period / (1 - 1.5 / STL_SEASONAL_WINDOW)))
    # R's l.window is nextodd(period); statsmodels needs it above the period, so odd periods
    # (daily data, 7) get period + 2 there, as statsmodels' own default does.
    low_pass = _next_odd(period + 1)
    decomposition = STL(x, period=period, seasonal=STL_SEASONAL_WINDOW, trend=trend, low_pass=low_pass,
                        seasonal_deg=0, seasonal_jump=math.ceil(STL_SEASONAL_WINDOW / 10),
                        trend_jump=math.ceil(trend / 10), low_pass_jump=math.ceil(low_pass / 10)).fit()
    remainder = np.asarray(decomposition.resid)
    deseasonal_variance = np.var(remainder + np.asarray(decomposition.seasonal), ddof=1)
    if deseasonal_variance == 0:
        return 0.0
    return max(0.0, min(1.0, 1 - np.var(remainder, ddof=1) / deseasonal_variance))


def nsdiffs(x: np.ndarray, *, period: int) -> int:
    """0 or 1 seasonal difference; 0 when the series spans at most two seasonal cycles."""
    if period <= 1 or len(x) <= 2 * period or is_constant(x):
        return 0
    return int(seasonal_strength(x, period=period) > SEASONAL_STRENGTH_THRESHOLD)
