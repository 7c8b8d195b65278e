"""Demand forecasts (see docs/forecasting.md)."""

from pydantic import BaseModel, ConfigDict, Field

from service.api.schemas.common import DataScopePublic, ExcludedPublic
from service.insights.forecast import DemandForecast


class ForecastPointPublic(BaseModel):
    """One forecast period: the mean and the 80 % and 95 % intervals, floored at zero."""

    model_config = ConfigDict(from_attributes=True)

    period: str
    mean: float
    lower_80: float
    upper_80: float
    lower_95: float
    upper_95: float


class HistoryPointPublic(BaseModel):
    """One past period's verified demand."""

    model_config = ConfigDict(from_attributes=True)

    period: str
    quantity: float


class BacktestPublic(BaseModel):
    """Rolling-origin accuracy of the chosen method on the history."""

    model_config = ConfigDict(from_attributes=True)

    smape: float | None = Field(description="Mean symmetric absolute percentage error, in percent (null: no origin).")
    mase: float | None = Field(description="Mean absolute scaled error (null: no origin, or no finite scale).")
    origins: int = Field(description="Forecast origins tried.")
    horizon: int = Field(description="Periods forecast from each origin.")


class ForecastPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    data_scope: DataScopePublic
    sku: str
    location: str | None
    freq: str
    source: str = Field(description="`sales` (verified sale transactions) or `retail_selling` (verified EPCIS events).")
    model: str = Field(description="The chosen model in R's notation, e.g. ARIMA(2,1,1)(0,1,0)[12], or the fallback.")
    method: str = Field(description="auto_arima, or the fallback method used.")
    aicc: float | None
    forecast: list[ForecastPointPublic]
    backtest: BacktestPublic
    history: list[HistoryPointPublic]
    records_used: int
    records_excluded: ExcludedPublic

    @classmethod
    def of(cls, forecast: DemandForecast) -> "ForecastPublic":
        return cls.model_validate(forecast)
