"""Demand forecasts for retailers, computed only from verified sales (see docs/forecasting.md)."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from analytics.forecast import ForecastPoint
from analytics.forecast.chart import forecast_chart
from service.api.deps import ChainDep, RuntimeDep, RetailAnalyst, SessionDep, ViewerDep
from service.api.errors import error_responses
from service.api.schemas import DataScope
from service.insights.forecast import forecast_demand

router = APIRouter(prefix="/analytics/forecast", tags=["analytics"], responses=error_responses(401, 403, 404, 422, 502, 503))

Sku = Annotated[str, Query(min_length=1, max_length=512, description="The SKU (a GTIN for retail_selling events).")]
Location = Annotated[str | None, Query(min_length=1, max_length=512, description="Only demand at this GLN or URI.")]
Freq = Annotated[Literal["D", "W", "M", "Q", "Y"], Query(description="Period: day, week, month, quarter or year.")]
Horizon = Annotated[int, Query(ge=1, le=1000, description="Periods ahead (at most 10 seasonal cycles, at least 40).")]


class Excluded(BaseModel):
    total: int
    by_status: dict[str, int] = Field(description="Verification status -> records left out.")


class Forecast(BaseModel):
    data_scope: DataScope
    sku: str
    location: str | None
    freq: str
    source: str = Field(description="`sales` (verified sale transactions) or `retail_selling` (verified EPCIS events).")
    model: str = Field(description="The chosen model in R's notation, e.g. ARIMA(2,1,1)(0,1,0)[12], or the fallback.")
    method: str = Field(description="auto_arima, or the fallback method used.")
    aicc: float | None
    forecast: list[dict[str, Any]] = Field(description="period, mean, lower_80, upper_80, lower_95, upper_95")
    backtest: dict[str, Any] = Field(description="Rolling-origin sMAPE and MASE.")
    history: list[dict[str, Any]]
    records_used: int
    records_excluded: Excluded


@router.get("", response_model=Forecast)
def demand_forecast(caller: RetailAnalyst, viewer: ViewerDep, session: SessionDep, chain: ChainDep, ledger: RuntimeDep, sku: Sku,
                    location: Location = None, freq: Freq = "W", horizon: Horizon = 8) -> dict:
    """Automatic seasonal ARIMA over the SKU's verified demand in your data (your records and those
    shared with you; every party's for auditors and admins), with 80 % and 95 % intervals and a backtest."""
    return forecast_demand(session, chain, viewer=viewer, sku=sku, location=location, freq=freq, horizon=horizon,
                           derivations=ledger.derivations)


@router.get("/chart", response_class=Response, responses={200: {"content": {"image/png": {}}, "description": "A PNG chart."}})
def demand_forecast_chart(caller: RetailAnalyst, viewer: ViewerDep, session: SessionDep, chain: ChainDep, ledger: RuntimeDep, sku: Sku,
                          location: Location = None, freq: Freq = "W", horizon: Horizon = 8) -> Response:
    """The same forecast as a PNG chart of history, forecast and intervals, to open in a browser."""
    result = forecast_demand(session, chain, viewer=viewer, sku=sku, location=location, freq=freq, horizon=horizon,
                           derivations=ledger.derivations)
    png = forecast_chart(
        history=[(row["period"], row["quantity"]) for row in result["history"]],
        points=[ForecastPoint(**point) for point in result["forecast"]],
        title=f"{sku}{' at ' + location if location else ''}: {result['model']} ({result['records_used']} verified records)",
    )
    return Response(content=png, media_type="image/png")
