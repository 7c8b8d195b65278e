"""Demand forecasts for retailers, computed only from verified sales (see docs/forecasting.md)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from analytics.forecast.chart import forecast_chart
from service.api.deps import ChainDep, RuntimeDep, RetailAnalyst, SessionDep, ViewerDep
from service.api.errors import error_responses
from service.api.schemas.forecast import ForecastPublic
from service.insights.forecast import forecast_demand

router = APIRouter(prefix="/analytics/forecast", tags=["analytics"], responses=error_responses(401, 403, 404, 422, 502, 503))

Sku = Annotated[str, Query(min_length=1, max_length=512, description="The SKU (a GTIN for retail_selling events).")]
Location = Annotated[str | None, Query(min_length=1, max_length=512, description="Only demand at this GLN or URI.")]
Freq = Annotated[Literal["D", "W", "M", "Q", "Y"], Query(description="Period: day, week, month, quarter or year.")]
Horizon = Annotated[int, Query(ge=1, le=1000, description="Periods ahead (at most 10 seasonal cycles, at least 40).")]


@router.get("", response_model=ForecastPublic)
def demand_forecast(caller: RetailAnalyst, viewer: ViewerDep, session: SessionDep, chain: ChainDep, ledger: RuntimeDep, sku: Sku,
                    location: Location = None, freq: Freq = "W", horizon: Horizon = 8) -> ForecastPublic:
    """Automatic seasonal ARIMA over the SKU's verified demand in your data (your records and those
    shared with you; every party's for auditors and admins), with 80 % and 95 % intervals and a backtest."""
    return ForecastPublic.of(forecast_demand(session, chain, viewer=viewer, sku=sku, location=location, freq=freq, horizon=horizon,
                                                   derivations=ledger.derivations))


@router.get("/chart", response_class=Response, responses={200: {"content": {"image/png": {}}, "description": "A PNG chart."}})
def demand_forecast_chart(caller: RetailAnalyst, viewer: ViewerDep, session: SessionDep, chain: ChainDep, ledger: RuntimeDep, sku: Sku,
                          location: Location = None, freq: Freq = "W", horizon: Horizon = 8) -> Response:
    """The same forecast as a PNG chart of history, forecast and intervals, to open in a browser."""
    result = forecast_demand(session, chain, viewer=viewer, sku=sku, location=location, freq=freq, horizon=horizon,
                           derivations=ledger.derivations)
    png = forecast_chart(
        history=[(point.period, point.quantity) for point in result.history],
        points=result.forecast,
        title=f"{sku}{' at ' + location if location else ''}: {result.model} ({result.records_used} verified records)",
    )
    return Response(content=png, media_type="image/png")
