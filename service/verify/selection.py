"""Selecting records that verify against the chain: the only input analytics ever get.

Every record is verified afresh on each selection (hash, proof, root on chain). What is left out is
counted by status, so every analytics result can say how many records it used and why others were
not. Declared-erroneous events and the error declarations themselves are left out too, counted as
``declared_erroneous`` and ``error_declaration``: neither is a business fact an analytic may count
(a declaration repeats the erroneous event's content; its corrective events are the facts).
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from hashlib import sha256
from itertools import islice

from sqlalchemy import Select
from sqlmodel import Session

from service.anchor.chain import Chain
from service.models import Record
from service.verify.declarations import declarations_of, is_declaration
from service.verify.verification import VerificationCache, VerificationStatus, verify_record

DECLARED_ERRONEOUS = "declared_erroneous"
ERROR_DECLARATION = "error_declaration"
#: Records whose search terms are read in one query before they are verified.
READ_AHEAD = 500


@dataclass(frozen=True)
class Exclusions:
    """Records a result left out (not verified, declared erroneous, a declaration): how many, and how many per status."""

    total: int
    by_status: dict[str, int]


@dataclass
class VerifiedSelection:
    """The verified records of a selection and a count of the others by verification status."""

    records: list[Record] = field(default_factory=list)
    excluded: Counter = field(default_factory=Counter)

    @property
    def fingerprint(self) -> str:
        """Identifies exactly which record contents went in: a cache key for derived results."""
        digest = sha256()
        for record in self.records:
            digest.update(f"{record.id}:{record.content_hash};".encode())
        return digest.hexdigest()

    @property
    def records_excluded(self) -> Exclusions:
        """The records left out, as every result reports them."""
        return Exclusions(total=sum(self.excluded.values()), by_status=dict(sorted(self.excluded.items())))

    def summary(self) -> dict:
        """``records_used`` and ``records_excluded``, as JSON (stored with a fraud model's inputs)."""
        return {"records_used": len(self.records), "records_excluded": asdict(self.records_excluded)}


def select_verified(session: Session, chain: Chain, *, statement: Select, cache: VerificationCache | None = None) -> VerifiedSelection:
    """Run ``statement`` (a ``select(Record)``) and keep the records that verify.

    Pass one ``cache`` to many selections over the same batches (say, every SKU's sales).
    """
    cache = VerificationCache() if cache is None else cache
    _, selection = verify_records(session, chain, records=session.exec(statement), cache=cache)
    return selection


def verify_records(
    session: Session, chain: Chain, *, records: Iterable[Record], cache: VerificationCache
) -> tuple[list[VerificationStatus], VerifiedSelection]:
    """Each record's verification status, in order, and the selection of those that verify.

    ``cache`` is shared by callers that verify several kinds of record against the same batches.
    """
    statuses, selection = [], VerifiedSelection()
    records = iter(records)
    while chunk := list(islice(records, READ_AHEAD)):
        cache.read_terms(session, [record.id for record in chunk])
        declared = declarations_of(session, chunk)
        for record in chunk:
            status = verify_record(session, chain, record, cache=cache).status
            statuses.append(status)
            if status != VerificationStatus.VERIFIED:
                selection.excluded[str(status)] += 1
            elif record.id in declared:
                selection.excluded[DECLARED_ERRONEOUS] += 1
            elif is_declaration(record, cache.terms_of(session, record.id)):
                selection.excluded[ERROR_DECLARATION] += 1
            else:
                selection.records.append(record)
    return statuses, selection
