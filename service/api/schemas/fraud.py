"""Fraud labels, model versions and scores (see docs/fraud.md)."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, WrapValidator
from pydantic_core import PydanticCustomError

from service.api.schemas.common import MAX_PARTY_CHARS, DataScopePublic, ExcludedPublic, PageBase
from service.models.record import parsed_body
from service.ingest.validation.json_limits import MAX_IDENTIFIER_CHARS
from service.insights.fraud import MAX_SCORE_IDS, FraudInputs, TransactionScore
from service.models import FraudModelVersion, Record, RecordStatus
from service.timeutil import UtcDateTime
from service.verify.selection import VerifiedSelection

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_IDENTIFIER_CHARS)]
Party = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PARTY_CHARS)]
PROBABILITY_MEANING = {
    "logistic_regression": "calibrated probability of fraud",
    "isolation_forest": "anomaly score in (0, 1], not a probability: fewer than 50 labels of a class, so the "
                        "model is unsupervised and its bands are the 95th/99th percentiles of training scores",
}


class LabelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{"fraud": True}, {"fraud": False}]})

    fraud: bool = Field(description="true: confirmed fraud; false: confirmed legitimate.")


class TransactionLabelCreate(LabelCreate):
    transaction: Id = Field(description="The business identifier of an invoice or payment.")
    submitter: Party | None = Field(None, description="Whose record of this id (default: the only one you may read).")


class LabelsCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{"labels": [
        {"transaction": "urn:epcglobal:cbv:bt:0614141000041:INV-2001", "fraud": True},
        {"transaction": "urn:epcglobal:cbv:bt:0614141000041:PAY-3001", "submitter": "processor", "fraud": False}]}]})

    labels: list[TransactionLabelCreate] = Field(min_length=1, max_length=MAX_SCORE_IDS)


class LabelPublic(BaseModel):
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
    def of(cls, record: Record, *, status: RecordStatus, created: bool) -> "LabelPublic":
        body = parsed_body(record) or {}
        return cls(id=record.business_id, record_id=record.id, transaction=str(body.get("transaction")),
                   submitter=body.get("party"), fraud=body.get("fraud") is True, lender=record.party,
                   labelled_at=record.occurred_at, status=status, created=created)


class LabelsPublic(BaseModel):
    labels: list[LabelPublic]


class LabelPage(PageBase):
    labels: list[LabelPublic]


class SelectionPublic(BaseModel):
    """The records of one kind an analysis used (verified) and left out."""

    records_used: int
    records_excluded: ExcludedPublic

    @classmethod
    def of(cls, selection: VerifiedSelection) -> "SelectionPublic":
        return cls(records_used=len(selection.records), records_excluded=selection.records_excluded)


class LabelSelectionPublic(SelectionPublic):
    labels_used: int = Field(description="Verified labels of verified transactions: what the model learnt from.")
    labels_of_unverified_transactions: int


class ScoreInputsPublic(BaseModel):
    """What a score (or a model) was computed from, per kind of input record."""

    transactions: SelectionPublic
    shipments: SelectionPublic = Field(description="The shipping and receiving events citing the transactions.")

    @classmethod
    def of(cls, inputs: FraudInputs) -> "ScoreInputsPublic":
        return cls(**{kind: SelectionPublic.of(selection) for kind, selection in inputs.selections.items()})


class FraudModelInputsPublic(ScoreInputsPublic):
    labels: LabelSelectionPublic | None = Field(None, description="The labels trained on (null: a model of an earlier release).")
    data_scope: DataScopePublic | None = Field(None, description="Whose records it was trained on (null: an earlier release).")


class FraudModelMetricsPublic(BaseModel):
    """How the model did on its holdout (the newest labelled transactions, never trained on)."""

    model_config = {"extra": "allow"}

    roc_auc: float | None = Field(None, description="None when the holdout has one class only.")
    pr_auc: float | None = None
    brier: float | None = Field(None, description="Logistic regression only.")
    n_train: int | None = None
    n_holdout: int | None = None
    holdout_from: UtcDateTime | None = Field(None, description="Time of the oldest holdout transaction.")
    labels_per_class: list[int] | None = Field(None, description="[legitimate, fraud] labels used.")


class FraudModelPublic(BaseModel):
    version: str
    method: str
    probability_meaning: str
    active: bool = Field(description="Whether scores of its party use it (each party has at most one active model).")
    warning: str | None = Field(description="Why it is not active, or why its scores need caution.")
    metrics: FraudModelMetricsPublic
    inputs: FraudModelInputsPublic = Field(description="What it was trained on: records used (verified) and excluded by status.")
    fingerprint: str
    created_at: UtcDateTime
    created_by: str = Field(description="The party that trained it, whose model it is.")

    @classmethod
    def of(cls, row: FraudModelVersion) -> "FraudModelPublic":
        return cls(version=row.version, method=row.method, probability_meaning=PROBABILITY_MEANING.get(row.method, ""),
                   active=row.active, warning=row.warning, metrics=row.metrics, inputs=row.inputs,
                   fingerprint=row.fingerprint, created_at=row.created_at, created_by=row.created_by)


class FraudModelPage(PageBase):
    models: list[FraudModelPublic]


class EvidencePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    event_hash_id: str
    record_id: int
    biz_step: str = Field(description="shipping or receiving")
    event_time: UtcDateTime
    quantity: float
    verified: bool = Field(description="Only verified events count in the score.")
    status: str = Field(description="verified, pending, tampered or not_on_chain")


class FraudModelRefPublic(BaseModel):
    version: str
    method: str
    probability_meaning: str
    warning: str | None = Field(description="The model's warning, repeated with every score it gives.")

    @classmethod
    def of(cls, row: FraudModelVersion) -> "FraudModelRefPublic":
        return cls(version=row.version, method=row.method, probability_meaning=PROBABILITY_MEANING.get(row.method, ""),
                   warning=row.warning)


class FraudScorePublic(BaseModel):
    id: str
    kind: str = Field(description="The transaction's kind: invoice or payment.")
    status: str = Field(description="The transaction's own verification status.")
    probability: float
    band: str = Field(description="low, medium or high")
    reasons: list[str] = Field(description="What raised the score most; never empty for a high score.")
    model: FraudModelRefPublic
    evidence: list[EvidencePublic]

    @classmethod
    def of(cls, score: TransactionScore, row: FraudModelVersion) -> "FraudScorePublic":
        return cls(id=score.id, kind=score.kind, status=score.status, probability=score.probability, band=score.band,
                   reasons=list(score.reasons), model=FraudModelRefPublic.of(row),
                   evidence=[EvidencePublic.model_validate(item) for item in score.evidence])


class FraudScoreReportPublic(FraudScorePublic):
    inputs: ScoreInputsPublic
    data_scope: DataScopePublic


class FraudScoreTargetQuery(BaseModel):
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


class FraudScoreQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{"ids": [
        "urn:epcglobal:cbv:bt:0614141000041:INV-2001", {"id": "urn:epcglobal:cbv:bt:0614141000041:PAY-3001",
                                                        "submitter": "processor"}]}]})

    ids: list[Annotated[Id | FraudScoreTargetQuery, WrapValidator(_one_target)]] = Field(
        min_length=1, max_length=MAX_SCORE_IDS,
        description="Business ids, or {id, submitter} where several parties recorded the same id.")


class FraudScoresPublic(BaseModel):
    scores: list[FraudScorePublic]
    inputs: ScoreInputsPublic
    data_scope: DataScopePublic
