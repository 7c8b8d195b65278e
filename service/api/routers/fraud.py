"""Fraud scores for lenders: labels on transactions, model versions, scores with their evidence.

Roles: lenders label; lenders and admins train; lenders, auditors and admins read labels, models and
scores. Everything is computed from verified records of the caller's data: its own and those shared
with it (``service.access.viewer``; every party's for auditors and admins). See ``service.insights.fraud``.
"""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from service.api.deps import (
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
from service.api.schemas.fraud import (
    FraudModelPage,
    FraudModelPublic,
    FraudScorePublic,
    FraudScoreQuery,
    FraudScoreReportPublic,
    FraudScoresPublic,
    LabelCreate,
    LabelPage,
    LabelPublic,
    LabelsCreate,
    LabelsPublic,
    ScoreInputsPublic,
)
from service.insights.fraud import (
    LabelRequest,
    ScoreRequest,
    find_model,
    labels_of,
    models_of,
    prepare_labels,
    score_transactions,
    train_model,
)
from service.models import FraudModelVersion, Record
from service.read.pagination import paginate
from service.ingest.records import Stored

router = APIRouter(tags=["fraud"], responses=error_responses(401, 403, 422))

ModelVersion = Annotated[str, Path(min_length=1, max_length=64, description="e.g. logistic_regression-0123456789abcdef")]
SCORE_ERRORS = error_responses(404, 409, 502, 503)
BODY_MODELS = (LabelCreate, LabelsCreate, FraudScoreQuery)


async def _store_labels(requests: list[LabelRequest], *, viewer, session, ledger) -> list[LabelPublic]:
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
            labels.append(LabelPublic.of(current, status=current.status, created=False))
        else:
            outcome = next(created)
            record = await run_in_threadpool(session.get, Record, outcome.record.id)
            labels.append(LabelPublic.of(record, status=outcome.record.status, created=outcome.created))
    return labels


@router.post("/transactions/{id}/labels", response_model=LabelPublic, status_code=status.HTTP_201_CREATED,
             responses={200: {"model": LabelPublic, "description": "The lender's current label already says so."},
                        **error_responses(404, 409, 415)}, openapi_extra={"requestBody": request_body(LabelCreate)})
async def label_transaction(id: TransactionId, caller: Lender, label: Annotated[LabelCreate, model_body(LabelCreate, Lender)],
                            viewer: ViewerDep, session: SessionDep, ledger: RuntimeDep, response: Response,
                            submitter: Submitter = None) -> LabelPublic:
    """Label an invoice or payment of your data as confirmed fraud or legitimate (anchored like any record).

    A changed label is a new label record; the latest verified label per transaction trains the model.
    """
    [out] = await _store_labels([LabelRequest(id, label.fraud, submitter)], viewer=viewer, session=session, ledger=ledger)
    if not out.created:
        response.status_code = status.HTTP_200_OK
    return out


@router.post("/analytics/fraud/labels", response_model=LabelsPublic, status_code=status.HTTP_201_CREATED,
             responses={200: {"model": LabelsPublic, "description": "Every label already said so."},
                        **error_responses(404, 409, 415)}, openapi_extra={"requestBody": request_body(LabelsCreate)})
async def label_transactions(caller: Lender, body: Annotated[LabelsCreate, model_body(LabelsCreate, Lender)], viewer: ViewerDep,
                             session: SessionDep, ledger: RuntimeDep, response: Response) -> LabelsPublic:
    """Label up to 1,000 invoices and payments at once: all or nothing (the first problem names its item)."""
    requests = [LabelRequest(item.transaction, item.fraud, item.submitter) for item in body.labels]
    labels = await _store_labels(requests, viewer=viewer, session=session, ledger=ledger)
    if not any(label.created for label in labels):
        response.status_code = status.HTTP_200_OK
    return LabelsPublic(labels=labels)


@router.get("/analytics/fraud/labels", response_model=LabelPage)
def labels(caller: CreditAnalyst, viewer: ViewerDep, session: SessionDep, page: PageDep,
           transaction: Annotated[str | None, Query(min_length=1, max_length=512, description="Only labels of this id.")] = None,
           ) -> LabelPage:
    """The labels of your data, newest first (every party's for auditors and admins)."""
    result = paginate(session, labels_of(viewer, transaction=transaction), order=(Record.id,), descending=True, page=page,
                      scope=caller_scope("fraud labels", caller, transaction=transaction))
    return LabelPage(labels=[LabelPublic.of(record, status=record.status, created=False) for record in result.items],
                     nextPageToken=result.next_page_token)


@router.post("/analytics/fraud/models", response_model=FraudModelPublic, status_code=status.HTTP_201_CREATED,
             responses={200: {"model": FraudModelPublic, "description": "Same labelled set as a stored version: refreshed."},
                        **error_responses(409, 502, 503)})
def train_fraud_model(caller: ModelTrainer, viewer: ViewerDep, session: SessionDep, chain: ChainDep, ledger: RuntimeDep,
                      response: Response) -> FraudModelPublic:
    """Train on verified labels of verified invoices and payments of your data (lenders and admins).

    Logistic regression with at least 50 labels of each class, else an isolation forest (see
    ``probability_meaning``). The new version becomes your active one unless its holdout ROC-AUC is
    below the floor (then `active` is false and `warning` says why; the previous one stays active).
    """
    row, created = train_model(session, chain, viewer=viewer, key=ledger.settings.signing_key(), derivations=ledger.derivations)
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return FraudModelPublic.of(row)


@router.get("/analytics/fraud/models", response_model=FraudModelPage)
def fraud_models(caller: CreditAnalyst, viewer: ViewerDep, session: SessionDep, page: PageDep) -> FraudModelPage:
    """Your party's fraud models, newest first (every party's for auditors and admins)."""
    result = paginate(session, models_of(viewer), order=(FraudModelVersion.id,), descending=True, page=page,
                      scope=caller_scope("fraud models", caller))
    return FraudModelPage(models=[FraudModelPublic.of(row) for row in result.items], nextPageToken=result.next_page_token)


@router.get("/analytics/fraud/models/active", response_model=FraudModelPublic, responses=error_responses(409))
def active_fraud_model(caller: CreditAnalyst, viewer: ViewerDep, session: SessionDep) -> FraudModelPublic:
    """The model your scores use (for auditors and admins: the most recently trained active one)."""
    return FraudModelPublic.of(find_model(session, viewer=viewer))


@router.get("/analytics/fraud/models/{version}", response_model=FraudModelPublic, responses=error_responses(404))
def get_fraud_model(version: ModelVersion, caller: CreditAnalyst, viewer: ViewerDep, session: SessionDep) -> FraudModelPublic:
    """A stored model version: method, holdout metrics, what it was trained on, whether it is active."""
    return FraudModelPublic.of(find_model(session, viewer=viewer, version=version))


@router.get("/transactions/{id}/fraud-score", response_model=FraudScoreReportPublic, responses=SCORE_ERRORS)
def fraud_score(id: TransactionId, caller: CreditAnalyst, viewer: ViewerDep, session: SessionDep, chain: ChainDep,
                ledger: RuntimeDep, submitter: Submitter = None) -> FraudScoreReportPublic:
    """Probability, band and reasons for an invoice or payment, with each supply-chain evidence item
    and whether it verified (409 before any model is active)."""
    scores, row, inputs = score_transactions(session, chain, requests=[ScoreRequest(id, submitter)], viewer=viewer,
                                             key=ledger.settings.signing_key(), models=ledger.fraud_models,
                                             derivations=ledger.derivations)
    return FraudScoreReportPublic(**FraudScorePublic.of(scores[0], row).model_dump(), inputs=ScoreInputsPublic.of(inputs), data_scope=viewer.scope)


@router.post("/analytics/fraud/scores", response_model=FraudScoresPublic, responses={**SCORE_ERRORS, **error_responses(415)},
             openapi_extra={"requestBody": request_body(FraudScoreQuery)})
def fraud_scores(caller: CreditAnalyst, request: Annotated[FraudScoreQuery, model_body(FraudScoreQuery, CreditAnalyst)], viewer: ViewerDep,
                 session: SessionDep, chain: ChainDep, ledger: RuntimeDep) -> FraudScoresPublic:
    """Scores of up to 1000 invoices and payments at once (duplicates answered once, in first-seen order)."""
    requests = [ScoreRequest(item) if isinstance(item, str) else ScoreRequest(item.id, item.submitter) for item in request.ids]
    scores, row, inputs = score_transactions(session, chain, requests=requests, viewer=viewer, key=ledger.settings.signing_key(),
                                             models=ledger.fraud_models, derivations=ledger.derivations)
    return FraudScoresPublic(scores=[FraudScorePublic.of(score, row) for score in scores], inputs=ScoreInputsPublic.of(inputs), data_scope=viewer.scope)
