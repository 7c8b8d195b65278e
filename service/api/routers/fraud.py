"""Fraud scores for lenders: labels on transactions, model versions, scores with their evidence.

Roles: lenders label; lenders and admins train; lenders, auditors and admins read labels, models and
scores. Everything is computed from verified records of the caller's data: its own and those shared
with it (``service.access.viewer``; every party's for auditors and admins). See ``service.insights.fraud``.
"""

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, WrapValidator
from pydantic_core import PydanticCustomError

from service.api.deps import (
    MAX_PARTY_CHARS,
    ChainDep,
    CreditAnalyst,
    Lender,
    RuntimeDep,
    ModelTrainer,
    SessionDep,
    Submitter,
    TransactionId,
    ViewerDep,
    model_body,
    request_body,
)
from service.api.errors import error_responses
from service.api.paging import PageDep, caller_scope
from service.api.schemas import DataScope, PageOut
from service.ingest.candidates import parsed_body
from service.insights.fraud import (
    MAX_SCORE_IDS,
    LabelRequest,
    ScoreRequest,
    TransactionScore,
    find_model,
    labels_of,
    models_of,
    prepare_labels,
    score_transactions,
    train_model,
)
from service.models import FraudModelVersion, Record, RecordStatus
from service.read.pagination import paginate
from service.ingest.records import Stored
from service.timeutil import UtcDateTime
from service.ingest.validation.json_limits import MAX_IDENTIFIER_CHARS

router = APIRouter(tags=["fraud"], responses=error_responses(401, 403, 422))

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_IDENTIFIER_CHARS)]
Party = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PARTY_CHARS)]
ModelVersion = Annotated[str, Path(min_length=1, max_length=64, description="e.g. logistic_regression-0123456789abcdef")]
SCORE_ERRORS = error_responses(404, 409, 502, 503)
PROBABILITY_MEANING = {
    "logistic_regression": "calibrated probability of fraud",
    "isolation_forest": "anomaly score in (0, 1], not a probability: fewer than 50 labels of a class, so the "
                        "model is unsupervised and its bands are the 95th/99th percentiles of training scores",
}


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{"fraud": True}, {"fraud": False}]})

    fraud: bool = Field(description="true: confirmed fraud; false: confirmed legitimate.")


class LabelItem(LabelIn):
    transaction: Id = Field(description="The business identifier of an invoice or payment.")
    submitter: Party | None = Field(None, description="Whose record of this id (default: the only one you may read).")


class LabelsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{"labels": [
        {"transaction": "urn:epcglobal:cbv:bt:0614141000041:INV-2001", "fraud": True},
        {"transaction": "urn:epcglobal:cbv:bt:0614141000041:PAY-3001", "submitter": "processor", "fraud": False}]}]})

    labels: list[LabelItem] = Field(min_length=1, max_length=MAX_SCORE_IDS)


class LabelOut(BaseModel):
    id: str = Field(description="The label record's business id.")
    record_id: int
    transaction: str
    submitter: str | None = Field(description="Who recorded the labelled transaction (None: a label from before per-party ids).")
    fraud: bool
    lender: str
    labelled_at: UtcDateTime
    status: RecordStatus
    created: bool = Field(description="False when this was already the lender's current label.")

    @classmethod
    def of(cls, record: Record, *, status: RecordStatus, created: bool) -> "LabelOut":
        body = parsed_body(record) or {}
        return cls(id=record.business_id, record_id=record.id, transaction=str(body.get("transaction")),
                   submitter=body.get("party"), fraud=body.get("fraud") is True, lender=record.party,
                   labelled_at=record.occurred_at, status=status, created=created)


class LabelsOut(BaseModel):
    labels: list[LabelOut]


class LabelPage(PageOut):
    labels: list[LabelOut]


class ModelMetrics(BaseModel):
    """How the model did on its holdout (the newest labelled transactions, never trained on)."""

    model_config = {"extra": "allow"}

    roc_auc: float | None = Field(None, description="None when the holdout has one class only.")
    pr_auc: float | None = None
    brier: float | None = Field(None, description="Logistic regression only.")
    n_train: int | None = None
    n_holdout: int | None = None
    holdout_from: UtcDateTime | None = Field(None, description="Time of the oldest holdout transaction.")
    labels_per_class: list[int] | None = Field(None, description="[legitimate, fraud] labels used.")


class ModelOut(BaseModel):
    version: str
    method: str
    probability_meaning: str
    active: bool = Field(description="Whether scores of its party use it (each party has at most one active model).")
    warning: str | None = Field(description="Why it is not active, or why its scores need caution.")
    metrics: ModelMetrics
    inputs: dict[str, Any] = Field(description="Per record kind: records used (verified) and excluded by status; data_scope.")
    fingerprint: str
    created_at: UtcDateTime
    created_by: str = Field(description="The party that trained it, whose model it is.")

    @classmethod
    def of(cls, row: FraudModelVersion) -> "ModelOut":
        return cls(version=row.version, method=row.method, probability_meaning=PROBABILITY_MEANING.get(row.method, ""),
                   active=row.active, warning=row.warning, metrics=row.metrics, inputs=row.inputs,
                   fingerprint=row.fingerprint, created_at=row.created_at, created_by=row.created_by)


class ModelPage(PageOut):
    models: list[ModelOut]


class EvidenceOut(BaseModel):
    event_hash_id: str
    record_id: int
    biz_step: str = Field(description="shipping or receiving")
    event_time: UtcDateTime
    quantity: float
    verified: bool = Field(description="Only verified events count in the score.")
    status: str = Field(description="verified, pending, tampered or not_on_chain")


class ModelRef(BaseModel):
    version: str
    method: str
    probability_meaning: str
    warning: str | None = Field(description="The model's warning, repeated with every score it gives.")


class ScoreOut(BaseModel):
    id: str
    kind: str
    status: str = Field(description="The transaction's own verification status.")
    probability: float
    band: str = Field(description="low, medium or high")
    reasons: list[str] = Field(description="What raised the score most; never empty for a high score.")
    model: ModelRef
    evidence: list[EvidenceOut]

    @classmethod
    def of(cls, score: TransactionScore, row: FraudModelVersion) -> "ScoreOut":
        model = ModelRef(version=row.version, method=row.method, probability_meaning=PROBABILITY_MEANING.get(row.method, ""),
                         warning=row.warning)
        return cls(id=score.id, kind=score.kind, status=score.status, probability=score.probability, band=score.band,
                   reasons=list(score.reasons), model=model, evidence=[EvidenceOut(**item) for item in score.evidence])


class ScoreReportOut(ScoreOut):
    inputs: dict[str, Any] = Field(description="Per record kind: records used (verified) and excluded by status.")
    data_scope: DataScope


class ScoreItem(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: Id
    submitter: Party


def _one_target(value: object, handler):
    """An id or ``{"id", "submitter"}``: one clear message rather than one per union member."""
    try:
        return handler(value)
    except ValidationError:
        raise PydanticCustomError(
            "score_target", f'must be an id (1 to {MAX_IDENTIFIER_CHARS} characters) or {{"id": ..., "submitter": ...}}') from None


class ScoresIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{"ids": [
        "urn:epcglobal:cbv:bt:0614141000041:INV-2001", {"id": "urn:epcglobal:cbv:bt:0614141000041:PAY-3001",
                                                        "submitter": "processor"}]}]})

    ids: list[Annotated[Id | ScoreItem, WrapValidator(_one_target)]] = Field(
        min_length=1, max_length=MAX_SCORE_IDS,
        description="Business ids, or {id, submitter} where several parties recorded the same id.")


class ScoresOut(BaseModel):
    scores: list[ScoreOut]
    inputs: dict[str, Any] = Field(description="Per record kind: records used (verified) and excluded by status.")
    data_scope: DataScope


BODY_MODELS = (LabelIn, LabelsIn, ScoresIn)


async def _store_labels(requests: list[LabelRequest], *, viewer, session, ledger) -> list[LabelOut]:
    """Check and prepare every label (all or nothing), store the new ones through the writer."""
    prepared = await run_in_threadpool(prepare_labels, session, requests=requests, viewer=viewer)
    stored: list[Stored] = []
    if prepared.submission.candidates:
        stored = await asyncio.wrap_future(ledger.writer.submit(prepared.submission))
    created = iter(stored)
    labels = []
    for transaction in prepared.transactions:
        current = prepared.unchanged.get(transaction.id)
        if current is not None:
            labels.append(LabelOut.of(current, status=current.status, created=False))
        else:
            outcome = next(created)
            record = await run_in_threadpool(session.get, Record, outcome.record.id)
            labels.append(LabelOut.of(record, status=outcome.record.status, created=outcome.created))
    return labels


@router.post("/transactions/{id}/labels", response_model=LabelOut, status_code=status.HTTP_201_CREATED,
             responses={200: {"model": LabelOut, "description": "The lender's current label already says so."},
                        **error_responses(404, 409, 415)}, openapi_extra={"requestBody": request_body(LabelIn)})
async def label_transaction(id: TransactionId, caller: Lender, label: Annotated[LabelIn, model_body(LabelIn, Lender)],
                            viewer: ViewerDep, session: SessionDep, ledger: RuntimeDep, response: Response,
                            submitter: Submitter = None) -> LabelOut:
    """Label an invoice or payment of your data as confirmed fraud or legitimate (anchored like any record).

    A changed label is a new label record; the latest verified label per transaction trains the model.
    """
    [out] = await _store_labels([LabelRequest(id, label.fraud, submitter)], viewer=viewer, session=session, ledger=ledger)
    if not out.created:
        response.status_code = status.HTTP_200_OK
    return out


@router.post("/analytics/fraud/labels", response_model=LabelsOut, status_code=status.HTTP_201_CREATED,
             responses={200: {"model": LabelsOut, "description": "Every label already said so."},
                        **error_responses(404, 409, 415)}, openapi_extra={"requestBody": request_body(LabelsIn)})
async def label_transactions(caller: Lender, body: Annotated[LabelsIn, model_body(LabelsIn, Lender)], viewer: ViewerDep,
                             session: SessionDep, ledger: RuntimeDep, response: Response) -> LabelsOut:
    """Label up to 1,000 invoices and payments at once: all or nothing (the first problem names its item)."""
    requests = [LabelRequest(item.transaction, item.fraud, item.submitter) for item in body.labels]
    labels = await _store_labels(requests, viewer=viewer, session=session, ledger=ledger)
    if not any(label.created for label in labels):
        response.status_code = status.HTTP_200_OK
    return LabelsOut(labels=labels)


@router.get("/analytics/fraud/labels", response_model=LabelPage)
def labels(caller: CreditAnalyst, viewer: ViewerDep, session: SessionDep, page: PageDep,
           transaction: Annotated[str | None, Query(min_length=1, max_length=512, description="Only labels of this id.")] = None,
           ) -> LabelPage:
    """The labels of your data, newest first (every party's for auditors and admins)."""
    result = paginate(session, labels_of(viewer, transaction=transaction), order=(Record.id,), descending=True, page=page,
                      scope=caller_scope("fraud labels", caller, transaction=transaction))
    return LabelPage(labels=[LabelOut.of(record, status=record.status, created=False) for record in result.items],
                     nextPageToken=result.next_page_token)


@router.post("/analytics/fraud/models", response_model=ModelOut, status_code=status.HTTP_201_CREATED,
             responses={200: {"model": ModelOut, "description": "Same labelled set as a stored version: refreshed."},
                        **error_responses(409, 502, 503)})
def train_fraud_model(caller: ModelTrainer, viewer: ViewerDep, session: SessionDep, chain: ChainDep, ledger: RuntimeDep,
                      response: Response) -> ModelOut:
    """Train on verified labels of verified invoices and payments of your data (lenders and admins).

    Logistic regression with at least 50 labels of each class, else an isolation forest (see
    ``probability_meaning``). The new version becomes your active one unless its holdout ROC-AUC is
    below the floor (then `active` is false and `warning` says why; the previous one stays active).
    """
    row, created = train_model(session, chain, viewer=viewer, key=ledger.settings.signing_key(), derivations=ledger.derivations)
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return ModelOut.of(row)


@router.get("/analytics/fraud/models", response_model=ModelPage)
def fraud_models(caller: CreditAnalyst, viewer: ViewerDep, session: SessionDep, page: PageDep) -> ModelPage:
    """Your party's fraud models, newest first (every party's for auditors and admins)."""
    result = paginate(session, models_of(viewer), order=(FraudModelVersion.id,), descending=True, page=page,
                      scope=caller_scope("fraud models", caller))
    return ModelPage(models=[ModelOut.of(row) for row in result.items], nextPageToken=result.next_page_token)


@router.get("/analytics/fraud/models/active", response_model=ModelOut, responses=error_responses(409))
def active_fraud_model(caller: CreditAnalyst, viewer: ViewerDep, session: SessionDep) -> ModelOut:
    """The model your scores use (for auditors and admins: the most recently trained active one)."""
    return ModelOut.of(find_model(session, viewer=viewer))


@router.get("/analytics/fraud/models/{version}", response_model=ModelOut, responses=error_responses(404))
def get_fraud_model(version: ModelVersion, caller: CreditAnalyst, viewer: ViewerDep, session: SessionDep) -> ModelOut:
    """A stored model version: method, holdout metrics, what it was trained on, whether it is active."""
    return ModelOut.of(find_model(session, viewer=viewer, version=version))


@router.get("/transactions/{id}/fraud-score", response_model=ScoreReportOut, responses=SCORE_ERRORS)
def fraud_score(id: TransactionId, caller: CreditAnalyst, viewer: ViewerDep, session: SessionDep, chain: ChainDep,
                ledger: RuntimeDep, submitter: Submitter = None) -> ScoreReportOut:
    """Probability, band and reasons for an invoice or payment, with each supply-chain evidence item
    and whether it verified (409 before any model is active)."""
    scores, row, inputs = score_transactions(session, chain, requests=[ScoreRequest(id, submitter)], viewer=viewer,
                                             key=ledger.settings.signing_key(), models=ledger.fraud_models,
                                             derivations=ledger.derivations)
    return ScoreReportOut(**ScoreOut.of(scores[0], row).model_dump(), inputs=inputs.summary(), data_scope=viewer.scope)


@router.post("/analytics/fraud/scores", response_model=ScoresOut, responses={**SCORE_ERRORS, **error_responses(415)},
             openapi_extra={"requestBody": request_body(ScoresIn)})
def fraud_scores(caller: CreditAnalyst, request: Annotated[ScoresIn, model_body(ScoresIn, CreditAnalyst)], viewer: ViewerDep,
                 session: SessionDep, chain: ChainDep, ledger: RuntimeDep) -> ScoresOut:
    """Scores of up to 1000 invoices and payments at once (duplicates answered once, in first-seen order)."""
    requests = [ScoreRequest(item) if isinstance(item, str) else ScoreRequest(item.id, item.submitter) for item in request.ids]
    scores, row, inputs = score_transactions(session, chain, requests=requests, viewer=viewer, key=ledger.settings.signing_key(),
                                             models=ledger.fraud_models, derivations=ledger.derivations)
    return ScoresOut(scores=[ScoreOut.of(score, row) for score in scores], inputs=inputs.summary(), data_scope=viewer.scope)
