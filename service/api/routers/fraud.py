"""Fraud scores for lenders: labels on transactions, model versions, scores with their evidence.

Roles: lenders label; lenders and admins train; lenders, auditors and admins read models and scores.
Everything is computed from records that verify against the chain (see ``service.fraud``).
"""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.api.deps import (
    ChainDep,
    CreditAnalyst,
    Lender,
    LedgerDep,
    ModelTrainer,
    SessionDep,
    TransactionId,
    model_body,
    request_body,
)
from service.api.errors import error_responses
from service.fraud import (
    MAX_SCORE_IDS,
    TransactionScore,
    find_model,
    score_transactions,
    store_label,
    train_model,
)
from service.models import FraudModelVersion, RecordStatus
from service.timeutil import as_utc
from service.validation.json_limits import MAX_IDENTIFIER_CHARS

router = APIRouter(tags=["fraud"], responses=error_responses(401, 403, 422))

ModelVersion = Annotated[str, Path(min_length=1, max_length=64, description="e.g. logistic_regression-0123456789abcdef")]
SCORE_ERRORS = error_responses(404, 409, 502, 503)
PROBABILITY_MEANING = {
    "logistic_regression": "calibrated probability of fraud",
    "isolation_forest": "anomaly score in (0, 1], not a probability: fewer than 50 labels of a class, so the "
                        "model is unsupervised and its bands are the 95th/99th percentiles of training scores",
}


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    fraud: bool = Field(description="true: confirmed fraud; false: confirmed legitimate.")


class LabelOut(BaseModel):
    id: str = Field(description="The label record's business id.")
    record_id: int
    transaction: str
    fraud: bool
    lender: str
    labelled_at: datetime
    status: RecordStatus
    created: bool = Field(description="False when this was already the lender's current label.")


class ModelOut(BaseModel):
    version: str
    method: str
    probability_meaning: str
    metrics: dict[str, Any] = Field(description="Holdout roc_auc, pr_auc, brier (None where undefined), sizes, labels_per_class.")
    inputs: dict[str, Any] = Field(description="Per record kind: records used (verified) and excluded by status.")
    fingerprint: str
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, row: FraudModelVersion) -> "ModelOut":
        return cls(version=row.version, method=row.method, probability_meaning=PROBABILITY_MEANING.get(row.method, ""),
                   metrics=row.metrics, inputs=row.inputs, fingerprint=row.fingerprint,
                   created_at=as_utc(row.created_at), created_by=row.created_by)


class EvidenceOut(BaseModel):
    event_hash_id: str
    record_id: int
    biz_step: str = Field(description="shipping or receiving")
    event_time: datetime
    quantity: float
    verified: bool = Field(description="Only verified events count in the score.")
    status: str = Field(description="verified, pending, tampered or not_on_chain")


class ModelRef(BaseModel):
    version: str
    method: str
    probability_meaning: str


class ScoreOut(BaseModel):
    id: str
    kind: str
    status: str = Field(description="The transaction's own verification status.")
    probability: float
    band: str = Field(description="low, medium or high")
    reasons: list[str]
    model: ModelRef
    evidence: list[EvidenceOut]

    @classmethod
    def of(cls, score: TransactionScore, row: FraudModelVersion) -> "ScoreOut":
        model = ModelRef(version=row.version, method=row.method, probability_meaning=PROBABILITY_MEANING.get(row.method, ""))
        return cls(id=score.id, kind=score.kind, status=score.status, probability=score.probability, band=score.band,
                   reasons=list(score.reasons), model=model, evidence=[EvidenceOut(**item) for item in score.evidence])


class ScoreReportOut(ScoreOut):
    inputs: dict[str, Any] = Field(description="Per record kind: records used (verified) and excluded by status.")


class ScoresIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    ids: list[Annotated[str, StringConstraints(min_length=1, max_length=MAX_IDENTIFIER_CHARS)]] = Field(
        min_length=1, max_length=MAX_SCORE_IDS
    )


class ScoresOut(BaseModel):
    scores: list[ScoreOut]
    inputs: dict[str, Any] = Field(description="Per record kind: records used (verified) and excluded by status.")


@router.post("/transactions/{id}/labels", response_model=LabelOut, status_code=status.HTTP_201_CREATED,
             responses={200: {"model": LabelOut, "description": "The lender's current label already says so."},
                        **error_responses(404, 409, 415)}, openapi_extra={"requestBody": request_body(LabelIn)})
def label_transaction(id: TransactionId, caller: Lender, label: Annotated[LabelIn, model_body(LabelIn, Lender)],
                      session: SessionDep, response: Response) -> LabelOut:
    """Label an invoice or payment as confirmed fraud or legitimate (anchored like any record).

    A changed label is a new label record; the latest verified label per transaction trains the model.
    """
    record, created = store_label(session, transaction_id=id, fraud=label.fraud, lender=caller.party)
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return LabelOut(id=record.business_id, record_id=record.id, transaction=id, fraud=label.fraud, lender=caller.party,
                    labelled_at=as_utc(record.occurred_at), status=record.status, created=created)


@router.post("/analytics/fraud/models", response_model=ModelOut, status_code=status.HTTP_201_CREATED,
             responses={200: {"model": ModelOut, "description": "Same labelled set as a stored version: refreshed."},
                        **error_responses(409, 502, 503)})
def train_fraud_model(caller: ModelTrainer, session: SessionDep, chain: ChainDep, ledger: LedgerDep, response: Response) -> ModelOut:
    """Train on verified labels of verified invoices and payments (lenders and admins).

    Logistic regression with at least 50 labels of each class, else an isolation forest (see
    ``probability_meaning``). The new version becomes the one scores use.
    """
    row, created = train_model(session, chain, trained_by=caller.party, key=ledger.settings.signing_key())
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return ModelOut.of(row)


@router.get("/analytics/fraud/models/{version}", response_model=ModelOut, responses=error_responses(404))
def get_fraud_model(version: ModelVersion, caller: CreditAnalyst, session: SessionDep) -> ModelOut:
    """A stored model version: method, holdout metrics, what it was trained on."""
    return ModelOut.of(find_model(session, version=version))


@router.get("/transactions/{id}/fraud-score", response_model=ScoreReportOut, responses=SCORE_ERRORS)
def fraud_score(id: TransactionId, caller: CreditAnalyst, session: SessionDep, chain: ChainDep, ledger: LedgerDep) -> ScoreReportOut:
    """Probability, band and reasons for an invoice or payment, with each supply-chain evidence item
    and whether it verified (409 before any model is trained)."""
    scores, row, inputs = score_transactions(session, chain, ids=[id], key=ledger.settings.signing_key())
    return ScoreReportOut(**ScoreOut.of(scores[0], row).model_dump(), inputs=inputs.summary())


@router.post("/analytics/fraud/scores", response_model=ScoresOut, responses={**SCORE_ERRORS, **error_responses(415)},
             openapi_extra={"requestBody": request_body(ScoresIn)})
def fraud_scores(caller: CreditAnalyst, request: Annotated[ScoresIn, model_body(ScoresIn, CreditAnalyst)], session: SessionDep,
                 chain: ChainDep, ledger: LedgerDep) -> ScoresOut:
    """Scores of up to 1000 invoices and payments at once (duplicates answered once, in first-seen order)."""
    scores, row, inputs = score_transactions(session, chain, ids=request.ids, key=ledger.settings.signing_key())
    return ScoresOut(scores=[ScoreOut.of(score, row) for score in scores], inputs=inputs.summary())
