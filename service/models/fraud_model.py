"""Trained fraud model versions: the pickled model with what it was trained on and how well it did."""

from datetime import datetime

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.timeutil import utcnow


class FraudModelVersion(SQLModel, table=True):
    """One model version (``analytics.fraud.FraudModel``) of the party that trained it, named by its
    method and training fingerprint.

    The version names the labelled set (see docs/fraud.md); retraining on the same labels refreshes
    the row (the verified evidence may have changed since). Each party has at most one ``active``
    model, the one its scores use (``service.insights.fraud``). ``model`` holds pickle bytes written only by
    this service and sealed with a key kept outside the database: they are unpickled only when the
    seal holds, so whoever edits rows cannot plant code.
    """

    __tablename__ = "fraud_model"
    __table_args__ = (UniqueConstraint("created_by", "version", name="uq_fraud_model_created_by_version"),)

    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(max_length=64, index=True)
    method: str = Field(description="logistic_regression or isolation_forest")
    metrics: dict = Field(sa_column=Column(JSON, nullable=False), description="Holdout metrics and label counts.")
    inputs: dict = Field(sa_column=Column(JSON, nullable=False), description="Records used and excluded, per kind.")
    fingerprint: str = Field(description="sha256 of the feature schema and the (id, label) pairs.")
    model: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    seal: str = Field(description="HMAC-SHA256 of version and model bytes under the server key (service.sealing).")
    created_at: datetime = Field(default_factory=utcnow, index=True)
    created_by: str = Field(description="The party whose key trained it: the model is that party's.")
    active: bool = Field(default=False, description="The party's model in use for scores.")
    warning: str | None = Field(default=None, description="Why it is not active, or why its scores need caution.")
