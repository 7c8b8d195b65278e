"""Choice of the differencing orders d and D, following R's ``forecast::ndiffs`` / ``nsdiffs``.

* d: repeated KPSS level-stationarity tests (alpha = 0.05, at most 2 differences), with the
  Bartlett lag truncation ``trunc(3 * sqrt(n) / 13)`` that ``ndiffs`` passes to ``urca::ur.kpss``.
* D: the Osborn-Chui-Smith-Birchenhall (1988) seasonal unit-root test, as R's
  ``nsdiffs(test = "ocsb")`` runs it (``ocsb.test(x, maxlag = 3, lag.method = "AIC")``, critical
  value from Hyndman's smoothed simulations) and as pmdarima's ``auto_arima`` does by default.
  It was R's default (forecast 8.1 still documents ``test = c("ocsb", "ch")``) before R switched
  to ``"seas"`` (seasonal strength of an STL fit above 0.64, available here as ``test="seas"``).
  Why OCSB: on three M3 samples (see docs/forecasting.md) it seasonally differenced fewer series
  than ``"seas"`` and forecast no worse on any (slightly better pooled, within noise); it also
  needs no STL fit.
"""

from __future__ import annotations

import math

import numpy as np
from statsmodels.tsa.seasonal import STL

KPSS_CRITICAL_5_PERCENT = 0.463  # level stationarity ("mu"), Kwiatkowski et al. (1992), table 1
SEASONAL_STRENGTH_THRESHOLD = 0.64
OCSB_MAX_LAG = 3
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


def _ocsb_regression(x: np.ndarray, m: int, lag: int, trim: int) -> tuple[float, float]:
    """t value of the Z5 coefficient and AIC of R's ``fitOCSB(x, lag, trim)``.

    ``y = (1-B)(1-B^m) x`` is regressed (no intercept) on its own ``lag`` lags, giving lambda(B);
    then ``y_t`` on those lags, ``Z4 = lambda(B)(1-B^m) x_{t-1}`` and ``Z5 = lambda(B)(1-B) x_{t-m}``.
    Series are kept on the time axis of ``x`` (NaN where undefined) so the rows line up as R's
    ``ts`` alignment does; the first ``trim`` rows are dropped so that fits with different lags
    share their rows (needed to compare them by AIC).
    """
    n = len(x)
    seasonal, first = np.full(n, np.nan), np.full(n, np.nan)
    seasonal[m:] = x[m:] - x[:-m]
    first[1:] = np.diff(x)
    y = np.full(n, np.nan)
    y[m + 1:] = np.diff(seasonal[m:])
    t = np.arange(m + 1 + max(trim, lag), n)

    def lags(z: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return np.column_stack([z[rows - k] for k in range(1, lag + 1)]) if lag else np.zeros((len(rows), 0))

    ar = np.linalg.lstsq(lags(y, t), y[t], rcond=None)[0] if lag else np.zeros(0)
    z4 = seasonal[t - 1] - lags(seasonal, t - 1) @ ar
    z5 = first[t - m] - lags(first, t - m) @ ar
    design = np.column_stack([lags(y, t), z4, z5])
    rows, k = design.shape
    if rows <= k:
        raise np.linalg.LinAlgError("too few observations for the OCSB regression")
    coefficients, _, rank, _ = np.linalg.lstsq(design, y[t], rcond=None)
    if rank < k:
        raise np.linalg.LinAlgError("singular OCSB regression")
    rss = float(np.sum((y[t] - design @ coefficients) ** 2))
    variance = rss / (rows - k) * np.linalg.inv(design.T @ design)[-1, -1]
    aic = rows * (math.log(2 * math.pi * rss / rows) + 1) + 2 * (k + 1)
    return float(coefficients[-1] / math.sqrt(variance)), aic


def ocsb_statistic(x: np.ndarray, *, period: int, max_lag: int = OCSB_MAX_LAG) -> float:
    """R's ``ocsb.test(x, maxlag = 3, lag.method = "AIC")$statistics``.

    As in R (and pmdarima), the regression finally used has one lag fewer than the AIC-best one
    (``maxlag <- which.min(icvals) - 1``).
    """
    aics = [_ocsb_regression(x, period, lag, max_lag)[1] for lag in range(1, max_lag + 1)]
    lag = int(np.argmin(aics))
    return _ocsb_regression(x, period, lag, lag)[0]


def ocsb_critical_value(period: int) -> float:
    """5 % critical value of the OCSB statistic, R's ``calcOCSBCritVal`` (smoothed simulations)."""
    u = math.log(period) - 0.7656451
    return -0.2937411 * math.exp(-0.2850853 * u - 0.05983644 * u**2) - 1.652202


def nsdiffs(x: np.ndarray, *, period: int, test: str = "ocsb") -> int:
    """0 or 1 seasonal difference; 0 when the series spans at most two seasonal cycles.

    ``test="ocsb"``: difference unless the OCSB test rejects a seasonal unit root (0 when the
    regression cannot be fitted, as R's ``nsdiffs`` falls back to no difference on a test error).
    ``test="seas"``: R's current default, seasonal strength above 0.64.
    """
    if period <= 1 or len(x) <= 2 * period or is_constant(x):
        return 0
    if test == "seas":
        return int(seasonal_strength(x, period=period) > SEASONAL_STRENGTH_THRESHOLD)
    if test != "ocsb":
        raise ValueError(f"test must be 'ocsb' or 'seas', got {test!r}")
    try:
        statistic = ocsb_statistic(np.asarray(x, dtype=float), period=period)
    except np.linalg.LinAlgError:
        return 0
    return int(math.isfinite(statistic) and statistic > ocsb_critical_value(period))
