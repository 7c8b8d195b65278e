"""The EPCs a viewer may see (the binding's ``/epcis/epcs``): every item named by an EPCIS event it may
read, in ``epcList``, ``childEPCs``, ``parentID``, ``inputEPCList`` or ``outputEPCList``, in the
canonical form events are searched by (``service.ingest.indexing``): a GS1 key as its Digital Link,
any other URI as captured. Read from the search terms, so each EPC is listed once, whatever spelling
its events used, and the list pages by value (keyset) like the other browse resources.
"""

from sqlmodel import Session, select

from service.access.viewer import Viewer
from service.ingest.indexing import identifier
from service.models import Record, RecordKind, RecordTerm
from service.models.record_term import ANY_EPC
from service.read.pagination import Page, PageRequest, fingerprint


def known_epcs(session: Session, *, viewer: Viewer, page: PageRequest) -> Page[str]:
    """One page of the EPCs ``viewer`` may see, in ascending order."""
    scope = fingerprint("epcis", "epcs", [viewer.party, viewer.everything])
    statement = _named(viewer).with_only_columns(RecordTerm.value).distinct()
    if page.token is not None:
        statement = statement.where(RecordTerm.value > page.tokens.open(page.token, scope=scope)[0])
    found = list(session.exec(statement.order_by(RecordTerm.value).limit(page.per_page + 1)))
    more = len(found) > page.per_page
    found = found[: page.per_page]
    return Page(items=found, next_page_token=page.tokens.issue([found[-1]], scope=scope) if more else None)


def is_known_epc(session: Session, epc: str, *, viewer: Viewer) -> bool:
    """Whether an event ``viewer`` may read names ``epc`` (as a URN or any Digital Link)."""
    return session.exec(_named(viewer).where(RecordTerm.value == identifier(epc)).limit(1)).first() is not None


def _named(viewer: Viewer):
    return (select(RecordTerm.record_id).join(Record, Record.id == RecordTerm.record_id)
            .where(RecordTerm.name.in_(ANY_EPC), Record.kind == RecordKind.EPCIS_EVENT, viewer.records(RecordKind.EPCIS_EVENT)))
