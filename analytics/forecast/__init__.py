"""Automatic seasonal ARIMA demand forecasting with simple fallbacks and a rolling-origin backtest.

``forecast`` handles one pandas series, ``forecast_many`` a batch in worker processes, and
``auto_arima`` is the model selection itself on a plain array (see docs/forecasting.md).
"""

from analytics.forecast.arima import ArimaSearchError, FittedArima, Prediction, auto_arima
from analytics.forecast.backtest import mase, rolling_origin, smape
from analytics.forecast.pipeline import (
    PERIODS,
    ForecastPoint,
    ForecastResult,
    forecast,
    forecast_many,
    max_horizon,
)

__all__ = [
    "PERIODS",
    "ArimaSearchError",
    "FittedArima",
    "ForecastPoint",
    "ForecastResult",
    "Prediction",
    "auto_arima",
    "forecast",
    "forecast_many",
    "mase",
    "max_horizon",
    "rolling_origin",
    "smape",
]
