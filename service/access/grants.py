"""Grants: a party shares its records with another, or withdraws that, as ledger records.

A grant is a record of kind ``grant`` (``{"owner", "grantee", "granted_at"}``) and a revocation one
that names the grant (``{"owner", "grant", "revoked_at"}``); both are hashed and anchored like every
record, so who could see whose records, and since when, is itself verifiable. ``service.access.viewer``
turns the live grants into what each party may read. A grant covers all of the owner's records.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, select

from service.models.record import parsed_body
from service.errors import InvalidRecord, NotFound
from service.models import Record, RecordKind, RecordTerm, TermName
from service.timeutil import utcnow


@dataclass(frozen=True)
class Grant:
    """A grant record with its revocation, if any."""

    record: Record
    revocation: Record | None

    @property
    def grantee(self) -> str:
        return str((parsed_body(self.record) or {}).get("grantee"))


def grant_body(session: Session, *, owner: str, grantee: str) -> tuple[dict | None, Grant | None]:
    """The body of the grant record to store (None when ``owner`` already has a live grant to ``grantee``:
    that one is returned); it enters the ledger through ingest like every record."""
    if grantee == owner:
        raise InvalidRecord("grantee: a party always sees its own records", field="grantee")
    live = next((grant for grant in list_grants(session, owner=owner) if grant.revocation is None and grant.grantee == grantee), None)
    if live is not None:
        return None, live
    return {"owner": owner, "grantee": grantee, "granted_at": _now()}, None


def revocation_body(session: Session, *, owner: str, grant_id: int) -> tuple[dict | None, Grant]:
    """The body of the revocation of ``owner``'s grant ``grant_id`` (None when it is already revoked)."""
    grant = find_grant(session, owner=owner, grant_id=grant_id)
    if grant.revocation is not None:
        return None, grant
    return {"owner": owner, "grant": grant.record.business_id, "revoked_at": _now()}, grant


def grants_of(owner: str):
    """Statement of ``owner``'s grant records (revocations are found by :func:`with_revocations`)."""
    return select(Record).where(Record.kind == RecordKind.GRANT, Record.record_type == "grant", Record.party == owner)


def with_revocations(session: Session, grants: Sequence[Record]) -> list[Grant]:
    """Each grant record with its owner's revocation of it, if any."""
    if not grants:
        return []
    named = select(RecordTerm.record_id, RecordTerm.value).where(
        RecordTerm.name == TermName.REFERENCE, RecordTerm.value.in_([grant.business_id for grant in grants])).subquery()
    revocations = {}
    for revocation, business_id in session.exec(
        select(Record, named.c.value).join(named, named.c.record_id == Record.id)
        .where(Record.kind == RecordKind.GRANT, Record.record_type == "revocation").order_by(Record.id)
    ):
        revocations.setdefault((revocation.party, business_id), revocation)
    return [Grant(grant, revocations.get((grant.party, grant.business_id))) for grant in grants]


def list_grants(session: Session, *, owner: str) -> list[Grant]:
    """``owner``'s grants, oldest first, each with its revocation."""
    return with_revocations(session, session.exec(grants_of(owner).order_by(Record.id)).all())


def find_grant(session: Session, *, owner: str, grant_id: int) -> Grant:
    """One of ``owner``'s grants by its record id; NotFound otherwise."""
    record = session.exec(grants_of(owner).where(Record.id == grant_id)).first()
    if record is None:
        raise NotFound(f"no grant {grant_id} of yours", field="id")
    return with_revocations(session, [record])[0]


def _now() -> str:
    return utcnow().isoformat().replace("+00:00", "Z")
