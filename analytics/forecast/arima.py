"""Automatic seasonal ARIMA in the manner of Hyndman & Khandakar (2008), R's ``forecast::auto.arima``.

Defaults follow R: d from KPSS tests, D from the OCSB test (R's nsdiffs with test = "ocsb", its
default before "seas", and pmdarima's default; see differencing.py), a stepwise search over
(p, q)(P, Q) with R's start models, neighbourhood moves and limits (max.p = max.q = 5,
max.P = max.Q = 2, at most 94 models), a constant (mean or drift) tried only when d + D <= 1,
and models with roots within 1.01 of the unit circle rejected.

Every candidate is estimated by exact maximum likelihood (CSS start values, as R's "CSS-ML"),
so the AICc values compare with R's (AirPassengers: 1018.17 in both).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
from scipy.stats import norm
from statsmodels.tsa.statespace.sarimax import SARIMAX
from threadpoolctl import ThreadpoolController

from analytics.forecast.differencing import is_constant, ndiffs, nsdiffs
from analytics.forecast.estimation import (
    FINAL_TOLERANCE,
    SEARCH_TOLERANCE,
    ArimaSpec,
    Estimate,
    difference,
    fit_spec,
)

MAX_P, MAX_Q, MAX_SEASONAL_P, MAX_SEASONAL_Q = 5, 5, 2, 2
MAX_MODELS = 94
INTERVAL_LEVELS = (80, 95)
_THREADPOOLS = ThreadpoolController()


class ArimaSearchError(ValueError):
    """No ARIMA model could be estimated for the series (too short, degenerate, ...)."""


@dataclass(frozen=True)
class Prediction:
    """Point forecasts and, per level in percent, lower and upper prediction limits."""

    mean: np.ndarray
    lower: dict[int, np.ndarray]
    upper: dict[int, np.ndarray]


@dataclass(frozen=True)
class FittedArima:
    """The selected model fitted to ``y``; ``predict`` gives Gaussian prediction intervals."""

    estimate: Estimate
    y: np.ndarray

    @property
    def order(self) -> tuple[int, int, int]:
        s = self.estimate.spec
        return (s.p, s.d, s.q)

    @property
    def seasonal_order(self) -> tuple[int, int, int, int]:
        s = self.estimate.spec
        return (s.P, s.D, s.Q, s.m)

    @property
    def aicc(self) -> float:
        return self.estimate.aicc

    @property
    def name(self) -> str:
        return self.estimate.spec.name

    def predict(self, h: int) -> Prediction:
        """Forecast ``h`` steps with the exact Kalman filter of the integrated model (as R does)."""
        if h < 1:
            raise ValueError(f"h must be >= 1, got {h}")
        spec, c = self.estimate.spec, self.estimate.coefficients
        model = SARIMAX(self.y, order=self.order, seasonal_order=self.seasonal_order if spec.m > 1 else (0, 0, 0, 0),
                        trend="c" if spec.constant else "n")
        # SARIMAX's constant is an intercept of the ARMA equation: mean * phi(1) * Phi(1).
        intercept = c.mean * (1 - c.ar.sum()) * (1 - c.sar.sum())
        params = np.r_[[intercept] if spec.constant else [], c.ar, c.ma, c.sar, c.sma, self.estimate.sigma2]
        result = model.filter(params).get_forecast(h)
        mean = np.asarray(result.predicted_mean, dtype=float)
        se = np.sqrt(np.asarray(result.var_pred_mean, dtype=float))
        z = {level: norm.ppf(0.5 + level / 200) for level in INTERVAL_LEVELS}
        return Prediction(mean, {k: mean - v * se for k, v in z.items()}, {k: mean + v * se for k, v in z.items()})


def _neighbours(s: ArimaSpec, limits: tuple[int, int, int, int]) -> Iterator[ArimaSpec]:
    """R's stepwise moves, in R's order: seasonal orders first, then non-seasonal ones."""
    max_p, max_q, max_P, max_Q = limits
    for dP, dQ in ((-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)):
        if 0 <= s.P + dP <= max_P and 0 <= s.Q + dQ <= max_Q:
            yield replace(s, P=s.P + dP, Q=s.Q + dQ)
    for dp, dq in ((-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)):
        if 0 <= s.p + dp <= max_p and 0 <= s.q + dq <= max_q:
            yield replace(s, p=s.p + dp, q=s.q + dq)


def _stepwise(start: ArimaSpec, *, n: int, limits: tuple[int, int, int, int], allow_constant: bool,
              criterion: Callable[[ArimaSpec], float]) -> None:
    """Hyndman-Khandakar stepwise search, calling ``criterion`` once on each model visited.

    R starts from (2,d,2)(1,D,1), or (1,d,1)(0,D,0) for fewer than 10 observations, then tries
    the null model, a first-order AR and MA model and the null model without constant.
    """
    max_p, max_q, max_P, max_Q = limits
    seasonal = start.m > 1
    zero = replace(start, p=0, q=0, P=0, Q=0)
    short = n < 10
    initial = [
        replace(start, p=min(1 if short else 2, max_p), q=min(1 if short else 2, max_q),
                P=0 if short else min(1, max_P), Q=0 if short else min(1, max_Q)),
        zero,
        replace(zero, p=int(max_p > 0), P=int(seasonal and max_P > 0)),
        replace(zero, q=int(max_q > 0), Q=int(seasonal and max_Q > 0)),
    ]
    if start.constant:
        initial.append(replace(zero, constant=False))
    visited: dict[ArimaSpec, float] = {}
    best, best_value = None, math.inf
    for spec in initial:
        if spec in visited:
            continue
        visited[spec] = criterion(spec)
        if visited[spec] < best_value:
            best, best_value = spec, visited[spec]
    if best is None:
        return
    improved = True
    while improved and len(visited) < MAX_MODELS:
        improved = False
        moves = list(_neighbours(best, limits))
        if allow_constant:
            moves.append(replace(best, constant=not best.constant))
        for spec in moves:
            if spec in visited or len(visited) >= MAX_MODELS:
                continue
            visited[spec] = criterion(spec)
            if visited[spec] < best_value:
                best, best_value, improved = spec, visited[spec], True
                break


def _search_limits(n: int, m: int) -> tuple[int, int, int, int]:
    """R's caps: orders at most a third of the series, and p, q below m when seasonal terms are allowed."""
    max_p, max_q = min(MAX_P, n // 3), min(MAX_Q, n // 3)
    max_P = min(MAX_SEASONAL_P, n // 3 // m) if m > 1 else 0
    max_Q = min(MAX_SEASONAL_Q, n // 3 // m) if m > 1 else 0
    if m > 1:
        max_p = min(max_p, m - 1) if max_P > 0 else max_p
        max_q = min(max_q, m - 1) if max_Q > 0 else max_q
    return max_p, max_q, max_P, max_Q


def auto_arima(y: np.ndarray, *, period: int) -> FittedArima:
    """Select and fit a (seasonal) ARIMA model for ``y`` with seasonal period ``period`` (1: none).

    Raises ``ArimaSearchError`` when the series is constant or no candidate can be estimated.
    BLAS runs single-threaded here: for matrices this small, thread start-up made the search
    five times slower on a busy machine.
    """
    with _THREADPOOLS.limit(limits=1):
        return _auto_arima(np.asarray(y, dtype=float), period)


def _auto_arima(y: np.ndarray, period: int) -> FittedArima:
    if period < 1:
        raise ValueError(f"period must be >= 1, got {period}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y must be finite (use zeros for periods without sales)")
    if is_constant(y):
        raise ArimaSearchError("constant series: no ARIMA model to select")
    m = period
    D = nsdiffs(y, period=m) if m > 1 else 0
    d = ndiffs(difference(y, d=0, D=D, m=m))
    w = difference(y, d=d, D=D, m=m)
    if len(w) < 3 or is_constant(w):
        raise ArimaSearchError(f"series of length {len(y)} is degenerate after differencing (d={d}, D={D})")
    limits = _search_limits(len(y), m)
    start = ArimaSpec(0, d, 0, 0, D, 0, m, constant=d + D <= 1)
    estimates: dict[ArimaSpec, Estimate] = {}

    def criterion(spec: ArimaSpec) -> float:
        estimate = fit_spec(spec, y, tolerance=SEARCH_TOLERANCE)
        if estimate is None:
            return math.inf
        estimates[spec] = estimate
        return estimate.aicc

    _stepwise(start, n=len(y), limits=limits, allow_constant=d + D <= 1, criterion=criterion)
    if not estimates:
        raise ArimaSearchError(f"no ARIMA model could be estimated for a series of length {len(y)}")
    best = min(estimates.values(), key=lambda e: e.aicc)
    return FittedArima(fit_spec(best.spec, y, tolerance=FINAL_TOLERANCE) or best, y)
