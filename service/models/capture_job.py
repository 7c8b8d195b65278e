"""Capture jobs of the EPCIS binding (``POST /epcis/capture``): the submitted document, kept until the
job is done, and its outcome."""

from datetime import datetime

from sqlalchemy import JSON, Column, LargeBinary
from sqlmodel import Field, SQLModel

from service.timeutil import utcnow


class CaptureJob(SQLModel, table=True):
    """One accepted document and what became of it (``service.ingest.capture_jobs``).

    The raw ``document`` is stored when the job is accepted, so that a job survives a restart; it is
    dropped in the transaction that stores the job's records and sets ``finished_at``, so that a
    job is applied once. ``errors`` lists every problem found (``{"field", "message", "index"?}``).
    """

    __tablename__ = "capture_job"

    id: int | None = Field(default=None, primary_key=True)
    capture_id: str = Field(max_length=64, unique=True, description="The captureID clients see: random, not guessable.")
    party: str = Field(index=True, description="The submitter's party: the only one (with auditors, admins) to see the job.")
    error_behaviour: str = Field(max_length=16, description="rollback (all or nothing) or proceed (every valid event).")
    document: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    media_type: str | None = Field(default=None, max_length=64,
                                   description="An XML document's media type (kept with its records); None for JSON.")
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = Field(default=None, index=True)
    success: bool = Field(default=True, description="False once an error was found.")
    errors: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    started_at: datetime | None = Field(default=None, description="When a worker last began the job (others wait out its lease).")
    attempts: int = Field(default=0, description="Times a worker began the job: a job that keeps stopping its worker fails.")
    captured: int = Field(default=0, description="Events stored or found already stored.")
    signature: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True),
                                   description="A signed document's checked signature: typed_data, signature, signer.")
