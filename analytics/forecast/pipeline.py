"""Demand forecasts for pandas series: method choice, prediction intervals, backtest, batches.

The service hands over one regular series per product (zeros for periods without sales) and
gets back a ``ForecastResult`` naming the model or fallback that produced it, so a reader can
always tell an auto-ARIMA forecast from a simple one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from analytics.forecast.arima import ArimaSearchError, FittedArima, Prediction, auto_arima
from analytics.forecast.backtest import rolling_origin
from analytics.forecast.estimation import fit_spec
from analytics.forecast.fallback import choose_fallback, croston_sba, mean_forecast, naive

#: Seasonal period per frequency (R's conventions: weekly data has 52 weeks a year).
PERIODS: dict[str, int] = {"D": 7, "W": 52, "M": 12, "Q": 4, "Y": 1}
MIN_MAX_HORIZON = 40

FALLBACKS: dict[str, Callable[..., Prediction]] = {"naive": naive, "mean": mean_forecast,
                                                    "croston_sba": croston_sba}


def max_horizon(freq: str) -> int:
    """Longest horizon accepted: ten seasonal cycles, and at least 40 periods."""
    return max(10 * PERIODS[freq], MIN_MAX_HORIZON)


@dataclass
class ForecastPoint:
    period: str
    mean: float
    lower_80: float
    upper_80: float
    lower_95: float
    upper_95: float


@dataclass
class ForecastResult:
    model: str
    method: str
    aicc: float | None
    points: list[ForecastPoint]
    backtest: dict
    n_observations: int


def _validate_request(*, freq: str, horizon: int) -> None:
    if freq not in PERIODS:
        raise ValueError(f"freq must be one of {sorted(PERIODS)}, got {freq!r}")
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or not 1 <= horizon <= max_horizon(freq):
        raise ValueError(f"horizon must be an integer from 1 to {max_horizon(freq)} for freq {freq!r}, got {horizon!r}")


def _validate(series: pd.Series, *, freq: str, horizon: int) -> pd.PeriodIndex:
    _validate_request(freq=freq, horizon=horizon)
    if len(series) == 0:
        raise ValueError("series must not be empty")
    if isinstance(series.index, pd.DatetimeIndex):
        index = series.index.to_period(freq)
    elif isinstance(series.index, pd.PeriodIndex):
        index = series.index.asfreq(freq)
    else:
        raise ValueError("series must have a PeriodIndex or DatetimeIndex")
    if not index.equals(pd.period_range(index[0], periods=len(index), freq=index.freq)):
        raise ValueError(f"series index must be regular at frequency {freq!r} (fill missing periods with 0)")
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(values)):
        raise ValueError("series values must be finite numbers (use 0 for periods without sales)")
    return index


def _arima_backtest_forecaster(fitted: FittedArima) -> Callable[[np.ndarray, int], np.ndarray]:
    """Re-estimate the selected orders at each origin (a full re-search per origin costs too much)."""
    def forecaster(training: np.ndarray, h: int) -> np.ndarray:
        estimate = fit_spec(fitted.estimate.spec, training)
        if estimate is None:
            return mean_forecast(training, h=h).mean
        return FittedArima(estimate, training).predict(h).mean
    return forecaster


def forecast(series: pd.Series, *, freq: str, horizon: int) -> ForecastResult:
    """Forecast ``horizon`` periods with 80 % and 95 % intervals and a rolling-origin backtest."""
    index = _validate(series, freq=freq, horizon=horizon)
    y = series.to_numpy(dtype=float)
    period = PERIODS[freq]
    method = choose_fallback(y)
    fitted = None
    if method is None:
        try:
            fitted = auto_arima(y, period=period)
        except ArimaSearchError:
            method = "mean"
    if fitted is not None:
        prediction = fitted.predict(horizon)
        model, method, aicc = fitted.name, "auto_arima", fitted.aicc
        backtest_forecaster = _arima_backtest_forecaster(fitted)
    else:
        fallback = FALLBACKS[method]
        prediction, model, aicc = fallback(y, h=horizon), method, None
        backtest_forecaster = lambda training, h: fallback(training, h=h).mean  # noqa: E731
    backtest = rolling_origin(y, forecaster=backtest_forecaster, period=period, horizon=horizon)
    future = pd.period_range(index[-1] + 1, periods=horizon, freq=index.freq)
    points = [
        ForecastPoint(str(label), float(prediction.mean[i]), float(prediction.lower[80][i]),
                      float(prediction.upper[80][i]), float(prediction.lower[95][i]), float(prediction.upper[95][i]))
        for i, label in enumerate(future)
    ]
    return ForecastResult(model, method, aicc, points, backtest, len(y))


def _limit_blas_threads() -> None:
    """Worker initializer: one BLAS/OpenMP thread per process, so workers do not oversubscribe."""
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"
    threadpool_limits(1)


def _forecast_named(name: str, series: pd.Series, freq: str, horizon: int) -> tuple[str, ForecastResult]:
    return name, forecast(series, freq=freq, horizon=horizon)


def forecast_many(series: Mapping[str, pd.Series], *, freq: str, horizon: int, workers: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> dict[str, ForecastResult]:
    """Forecast many series in worker processes (default: one per core).

    ``progress(done, total)`` is called in this process after each series, e.g. to advance a
    tqdm bar. Results come back keyed like the input, in the input's order.
    """
    _validate_request(freq=freq, horizon=horizon)
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    results: dict[str, ForecastResult] = {}
    total = len(series)
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count(), initializer=_limit_blas_threads) as pool:
        futures = [pool.submit(_forecast_named, name, s, freq, horizon) for name, s in series.items()]
        for done, future in enumerate(as_completed(futures), start=1):
            name, result = future.result()
            results[name] = result
            if progress is not None:
                progress(done, total)
    return {name: results[name] for name in series}
