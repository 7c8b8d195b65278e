"""SQLModel tables: one module per table."""

from service.models.api_key import ApiKey, Role
from service.models.batch import Batch, BatchStatus
from service.models.batch_tree import BatchTree
from service.models.capture_job import CaptureJob
from service.models.deployment import Deployment
from service.models.fraud_model import FraudModelVersion
from service.models.location_edge import LocationEdge, LocationVocabulary
from service.models.named_query import NamedQuery
from service.models.receipt import Receipt
from service.models.record import Record, RecordKind, RecordStatus
from service.models.record_leaf import RecordLeaf
from service.models.record_source import RecordSource
from service.models.record_term import RecordTerm, TermName
from service.models.signed_submission import RecordSignature, SignedSubmission
from service.models.source_document import SourceDocument
from service.models.subscription import Subscription

__all__ = ["ApiKey", "Batch", "BatchStatus", "BatchTree", "CaptureJob", "Deployment", "FraudModelVersion", "LocationEdge", "LocationVocabulary", "NamedQuery", "Receipt", "Record", "RecordKind", "RecordLeaf", "RecordSignature", "RecordSource", "RecordStatus", "RecordTerm", "Role", "SignedSubmission", "SourceDocument", "Subscription", "TermName"]
