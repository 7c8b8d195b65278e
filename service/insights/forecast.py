"""Demand series from verified records, and forecasts over them.

A SKU's demand is the quantity sold per period: from verified ``sale`` transactions (the lines with
that SKU), or, for a retailer with no sales feed, from verified EPCIS ``retail_selling`` events of
the GTIN (one unit per EPC, plus any ``quantityList`` quantities of its class). Periods without
sales are zeros. Records that do not verify are left out and counted by status. Only the asking
party's data counts: its own records and those shared with it (every party's for auditors and
admins, ``service.access.viewer``), and every answer says whose.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import pandas as pd
from sqlmodel import Session, select

from analytics.forecast import PERIODS, ForecastPoint, ForecastResult, forecast, forecast_many, max_horizon
from service.access.viewer import DataScope, Viewer
from service.anchor.chain import Chain
from service.errors import InvalidParameter, NotFound
from service.hashing.vocabulary import BIZ_STEPS
from service.ingest.indexing import identifier
from service.models import TermName
from service.models import Record, RecordKind, RecordTerm
from service.timeutil import as_utc
from service.verify.integrity import Derivations
from service.verify.verification import VerificationCache
from service.verify.selection import Exclusions, VerifiedSelection, select_verified

RETAIL_SELLING = BIZ_STEPS["retail_selling"]


@dataclass
class DemandSeries:
    """Quantity per period of one SKU, with the records it came from."""

    sku: str
    location: str | None
    freq: str
    source: str  # "sales" or "retail_selling"
    series: pd.Series
    selection: VerifiedSelection
    scope: DataScope


@dataclass(frozen=True)
class HistoryPoint:
    """One past period's verified demand."""

    period: str
    quantity: float


@dataclass(frozen=True)
class Backtest:
    """Rolling-origin accuracy of the chosen method (``analytics.forecast.rolling_origin``)."""

    smape: float | None
    mase: float | None
    origins: int
    horizon: int


@dataclass(frozen=True)
class DemandForecast:
    """The forecast of one SKU's verified demand, with the provenance of its input."""

    data_scope: DataScope
    sku: str
    location: str | None
    freq: str
    source: str
    model: str
    method: str
    aicc: float | None
    forecast: list[ForecastPoint]
    backtest: Backtest
    history: list[HistoryPoint]
    records_used: int
    records_excluded: Exclusions


@dataclass(frozen=True)
class NoForecast:
    """Why a SKU of a run over many got no forecast, with what was left out when records were found."""

    error: str
    records_used: int | None = None
    records_excluded: Exclusions | None = None


def demand_series(session: Session, chain: Chain, *, viewer: Viewer, sku: str, location: str | None, freq: str,
                  cache: VerificationCache | None = None) -> DemandSeries:
    """The verified demand of ``sku`` (optionally at one ``location``) per ``freq`` period, in ``viewer``'s data."""
    _check_freq(freq)
    place = identifier(location) if location else None
    sources = [("sales", _sales(sku), _sale_quantities)]
    if _gtin_prefix(sku) is not None:  # EPCs name GTINs: only a GTIN-shaped SKU can match events
        sources.append(("retail_selling", _retail_selling(sku), _selling_quantities))
    for source, statement, quantities in sources:
        statement = statement.where(viewer.owned())
        if session.exec(statement.limit(1)).first() is None:
            continue
        selection = select_verified(session, chain, statement=statement, cache=cache)
        rows = [
            (as_utc(record.occurred_at), quantity)
            for record in selection.records
            for at_place, quantity in [quantities(record, sku)]
            if quantity and (place is None or at_place == place)
        ]
        return DemandSeries(sku=sku, location=place, freq=freq, source=source, series=_per_period(rows, freq),
                            selection=selection, scope=viewer.scope)
    raise NotFound(f"no sale or retail_selling event of yours (or shared with you) records SKU {sku!r}", field="sku")


def forecast_demand(session: Session, chain: Chain, *, viewer: Viewer, sku: str, location: str | None, freq: str,
                    horizon: int, derivations: Derivations | None = None) -> DemandForecast:
    """The forecast of one SKU's verified demand in ``viewer``'s data, with the provenance of its input.
    ``derivations``: the process's memo of what bodies derive to (none: derive afresh)."""
    _check_horizon(freq=freq, horizon=horizon)
    demand = demand_series(session, chain, viewer=viewer, sku=sku, location=location, freq=freq,
                           cache=VerificationCache(derivations=derivations or Derivations()))
    if demand.series.empty:
        raise NotFound(f"no verified demand for SKU {sku!r}" + (f" at {location!r}" if location else ""), field="sku")
    result = forecast(demand.series, freq=freq, horizon=horizon)
    return demand_forecast(demand, result)


def demand_forecast(demand: DemandSeries, result: ForecastResult) -> DemandForecast:
    """A fitted forecast with the provenance of its input (shared by the API and the CLI)."""
    return DemandForecast(
        data_scope=demand.scope, sku=demand.sku, location=demand.location, freq=demand.freq, source=demand.source,
        model=result.model, method=result.method, aicc=result.aicc,
        forecast=[_non_negative(point) for point in result.points],
        backtest=Backtest(**result.backtest),
        history=[HistoryPoint(period=str(period), quantity=float(value)) for period, value in demand.series.items()],
        records_used=len(demand.selection.records), records_excluded=demand.selection.records_excluded,
    )


_QUANTITIES = ("mean", "lower_80", "upper_80", "lower_95", "upper_95")


def _non_negative(point: ForecastPoint) -> ForecastPoint:
    """A forecast point with its mean and interval bounds floored at zero: demand is a quantity, and
    a linear model's Gaussian intervals around a small mean reach below zero (never sold -3 bottles)."""
    return replace(point, **{name: max(getattr(point, name), 0.0) for name in _QUANTITIES})


def forecast_all(
    session: Session,
    chain: Chain,
    *,
    viewer: Viewer,
    skus: list[str] | None,
    location: str | None,
    freq: str,
    horizon: int,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, DemandForecast | NoForecast]:
    """Forecasts of many SKUs (default: every SKU with sales in ``viewer``'s data), fitted in parallel
    worker processes.

    A SKU without verified demand gets a :class:`NoForecast` instead of failing the whole run.
    """
    _check_horizon(freq=freq, horizon=horizon)
    demands, results = {}, {}
    cache = VerificationCache()  # SKUs share batches: each tree is read, each root asked, once
    for sku in skus if skus is not None else skus_with_sales(session, viewer=viewer):
        try:
            demand = demand_series(session, chain, viewer=viewer, sku=sku, location=location, freq=freq, cache=cache)
        except NotFound as error:
            results[sku] = NoForecast(error.message)
            continue
        if demand.series.empty:
            results[sku] = NoForecast("no verified demand", records_used=len(demand.selection.records),
                                      records_excluded=demand.selection.records_excluded)
        else:
            demands[sku] = demand
    fitted = forecast_many({sku: d.series for sku, d in demands.items()}, freq=freq, horizon=horizon, workers=workers, progress=progress)
    results.update({sku: demand_forecast(demands[sku], result) for sku, result in fitted.items()})
    return dict(sorted(results.items()))


def skus_with_sales(session: Session, *, viewer: Viewer) -> list[str]:
    """Every SKU that appears on a sale of ``viewer``'s data."""
    statement = (
        select(RecordTerm.value)
        .join(Record, Record.id == RecordTerm.record_id)
        .where(RecordTerm.name == TermName.SKU, Record.kind == RecordKind.TRANSACTION, Record.record_type == "sale",
               viewer.owned())
        .distinct()
    )
    return sorted(session.exec(statement))


def _check_freq(freq: str) -> None:
    if freq not in PERIODS:
        raise InvalidParameter(f"freq must be one of {', '.join(PERIODS)}", field="freq")


def _check_horizon(*, freq: str, horizon: int) -> None:
    _check_freq(freq)
    if not 1 <= horizon <= max_horizon(freq):
        raise InvalidParameter(f"horizon must be between 1 and {max_horizon(freq)} periods for freq {freq}", field="horizon")


def _sales(sku: str):
    with_sku = select(RecordTerm.record_id).where(RecordTerm.name == TermName.SKU, RecordTerm.value == sku)
    return (
        select(Record)
        .where(Record.kind == RecordKind.TRANSACTION, Record.record_type == "sale", Record.id.in_(with_sku))
        .order_by(Record.occurred_at, Record.id)
    )


def _gtin_prefix(sku: str) -> str | None:
    digits = sku.strip()
    if not digits.isdigit() or len(digits) not in (8, 12, 13, 14):
        return None
    return f"https://id.gs1.org/01/{digits.zfill(14)}"


def _retail_selling(sku: str):
    prefix = _gtin_prefix(sku)
    naming = select(RecordTerm.record_id).where(
        RecordTerm.name.in_([TermName.EPC, TermName.EPC_CLASS]),
        (RecordTerm.value == prefix) | RecordTerm.value.startswith(prefix + "/"),
    )
    return (
        select(Record)
        .where(Record.kind == RecordKind.EPCIS_EVENT, Record.biz_step == RETAIL_SELLING, Record.id.in_(naming))
        .order_by(Record.occurred_at, Record.id)
    )


def _sale_quantities(record: Record, sku: str) -> tuple[str | None, float]:
    body = json.loads(record.body)
    location = identifier(body["location"]) if isinstance(body.get("location"), str) else None
    return location, float(sum(float(line["quantity"]) for line in body.get("lines", []) if line.get("sku") == sku))


def _selling_quantities(record: Record, sku: str) -> tuple[str | None, float]:
    body = json.loads(record.body)
    prefix = _gtin_prefix(sku)
    units = sum(1 for epc in body.get("epcList", []) if identifier(epc).startswith(prefix + "/") or identifier(epc) == prefix)
    units += sum(
        float(item.get("quantity", 0))
        for item in body.get("quantityList", [])
        if identifier(item.get("epcClass", "")).startswith(prefix)
    )
    return record.biz_location, float(units)


def _per_period(rows: list[tuple[datetime, float]], freq: str) -> pd.Series:
    if not rows:
        return pd.Series(dtype=float)
    frame = pd.DataFrame(rows, columns=["at", "quantity"])
    periods = frame["at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period(freq)
    totals = frame.groupby(periods)["quantity"].sum()
    full = pd.period_range(totals.index.min(), totals.index.max(), freq=freq)
    return totals.reindex(full, fill_value=0.0).astype(float)
