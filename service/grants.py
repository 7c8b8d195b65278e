"""Grants: a party shares its records with another, or withdraws that, as ledger records.

A grant is a record of kind ``grant`` (``{"owner", "grantee", "granted_at"}``) and a revocation one
that names the grant (``{"owner", "grant", "revoked_at"}``); both are hashed and anchored like every
record, so who could see whose records, and since when, is itself verifiable. ``service.access``
turns the live grants into what each party may read. A grant covers all of the owner's records.
"""

from dataclasses import dataclass

from sqlmodel import Session, select

from service.candidates import Submission, candidate, parsed_body
from service.errors import InvalidRecord, NotFound
from service.indexing import TermName
from service.models import Record, RecordKind, RecordTerm
from service.timeutil import utcnow


@dataclass(frozen=True)
class Grant:
    """A grant record with its revocation, if any."""

    record: Record
    revocation: Record | None

    @property
    def grantee(self) -> str:
        return str((parsed_body(self.record) or {}).get("grantee"))


def grant_submission(session: Session, *, owner: str, grantee: str) -> tuple[Submission | None, Grant | None]:
    """The grant to store (None when ``owner`` already has a live grant to ``grantee``: that one is returned)."""
    if grantee == owner:
        raise InvalidRecord("grantee: a party always sees its own records", field="grantee")
    live = next((grant for grant in list_grants(session, owner=owner) if grant.revocation is None and grant.grantee == grantee), None)
    if live is not None:
        return None, live
    body = {"owner": owner, "grantee": grantee, "granted_at": _now()}
    return Submission(candidates=[candidate(RecordKind.GRANT, body, field="grantee")], party=owner), None


def revocation_submission(session: Session, *, owner: str, grant_id: int) -> tuple[Submission | None, Grant]:
    """The revocation of ``owner``'s grant ``grant_id`` (None when it is already revoked)."""
    grant = find_grant(session, owner=owner, grant_id=grant_id)
    if grant.revocation is not None:
        return None, grant
    body = {"owner": owner, "grant": grant.record.business_id, "revoked_at": _now()}
    return Submission(candidates=[candidate(RecordKind.GRANT, body, field="id")], party=owner), grant


def list_grants(session: Session, *, owner: str) -> list[Grant]:
    """``owner``'s grants, oldest first, each with its revocation."""
    records = session.exec(select(Record).where(Record.kind == RecordKind.GRANT, Record.party == owner).order_by(Record.id)).all()
    revocations = {}
    for record in records:
        if record.record_type == "revocation":
            withdrawn = session.exec(select(RecordTerm.value).where(
                RecordTerm.record_id == record.id, RecordTerm.name == TermName.REFERENCE)).first()
            revocations.setdefault(withdrawn, record)
    return [Grant(record, revocations.get(record.business_id)) for record in records if record.record_type == "grant"]


def find_grant(session: Session, *, owner: str, grant_id: int) -> Grant:
    """One of ``owner``'s grants by its record id; NotFound otherwise."""
    grant = next((grant for grant in list_grants(session, owner=owner) if grant.record.id == grant_id), None)
    if grant is None:
        raise NotFound(f"no grant {grant_id} of yours", field="id")
    return grant


def _now() -> str:
    return utcnow().isoformat().replace("+00:00", "Z")
