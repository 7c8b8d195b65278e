"""Who sees which records: one rule for reads, verification, proofs and analytics.

A party sees the records it submitted and those of every party that granted it access (a grant is a
ledger record: ``service.access.grants``); a transaction is also seen by the parties it names as seller or
buyer, so that a counterparty can read and confirm it. Auditors and admins see every party's
records. Anything else is reported as missing, never as forbidden, so that an answer never tells
one company what another recorded.

Analytics use :attr:`Viewer.owners` only (what the party and its grantors recorded): a retailer's
forecast covers its own sales and the sales shared with it, and says so.
"""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, or_, select, true
from sqlalchemy.orm import aliased
from sqlmodel import Session

from service.models import ApiKey, Record, RecordKind, RecordTerm, Role, TermName

#: Roles whose keys see every party's records.
GLOBAL_ROLES = frozenset({Role.AUDITOR, Role.ADMIN})


@dataclass(frozen=True)
class Viewer:
    """A party asking, the parties whose records it may see, or every party (``everything``)."""

    party: str
    owners: tuple[str, ...] = ()
    everything: bool = False

    def __post_init__(self) -> None:
        if self.party not in self.owners:
            object.__setattr__(self, "owners", (self.party, *self.owners))

    def records(self, kind: RecordKind | None = None) -> ColumnElement[bool]:
        """SQL condition on ``Record``: a record (of ``kind``, when the query is about one) this viewer
        may read (see the module docstring). Only transactions can be read by naming the viewer: other
        kinds get the plain ``party IN owners``, which the (party, time) index serves."""
        if self.everything:
            return true()
        if kind not in (None, RecordKind.TRANSACTION):
            return self.owned()
        named = select(RecordTerm.record_id).where(RecordTerm.name == TermName.PARTY, RecordTerm.value == self.party)
        return or_(self.owned(), and_(Record.kind == RecordKind.TRANSACTION, Record.id.in_(named)))

    def owned(self) -> ColumnElement[bool]:
        """SQL condition on ``Record``: recorded by this party or a party sharing with it (analytics input)."""
        return true() if self.everything else Record.party.in_(self.owners)

    def declared(self, party: ColumnElement[str]) -> ColumnElement[bool]:
        """SQL condition: a row declared by ``party`` (master data) is one whose party this viewer may read,
        so that what one party declares never shapes another's answers."""
        return true() if self.everything else party.in_(self.owners)

    @property
    def scope(self) -> "DataScope":
        """Whose records an analytics answer covers: every party's, or these parties'."""
        return DataScope(all_parties=self.everything, parties=None if self.everything else sorted(self.owners))


@dataclass(frozen=True)
class DataScope:
    """Whose records an analytics answer covers: every party's (``all_parties``), or ``parties``'."""

    all_parties: bool
    parties: list[str] | None


def viewer_of(session: Session, key: ApiKey) -> Viewer:
    """The viewer behind an API key: its party, the parties that granted it access, or everyone."""
    if key.role in GLOBAL_ROLES:
        return Viewer(party=key.party, everything=True)
    return Viewer(party=key.party, owners=granting_parties(session, grantee=key.party))


def granting_parties(session: Session, *, grantee: str) -> tuple[str, ...]:
    """The parties with a live grant (made, not revoked) to ``grantee``."""
    grant, revocation, revoked = aliased(Record), aliased(Record), aliased(RecordTerm)
    named = select(RecordTerm.record_id).where(RecordTerm.name == TermName.GRANTEE, RecordTerm.value == grantee)
    withdrawn = exists().where(
        revocation.kind == RecordKind.GRANT, revocation.record_type == "revocation", revocation.party == grant.party,
        revoked.record_id == revocation.id, revoked.name == TermName.REFERENCE, revoked.value == grant.business_id,
    )
    statement = (
        select(grant.party).distinct()
        .where(grant.kind == RecordKind.GRANT, grant.record_type == "grant", grant.id.in_(named), ~withdrawn)
    )
    return tuple(sorted(party for party in session.execute(statement).scalars() if party != grantee))
