"""SQLModel tables: one module per table."""

from service.models.batch import Batch, BatchStatus
from service.models.deployment import Deployment
from service.models.record import Record, RecordKind, RecordStatus

__all__ = ["Batch", "BatchStatus", "Deployment", "Record", "RecordKind", "RecordStatus"]
