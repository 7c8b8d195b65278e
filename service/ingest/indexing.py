"""Normalised search terms of a record, computed once at submission.

Identifiers are indexed in their canonical GS1 Digital Link form and CBV terms as CBV 2.0 URIs,
the same normalisation the event hash uses, so a query for ``urn:epc:id:sgtin:0614141.107346.2017``
finds an event that spelt it ``https://id.gs1.org/01/00614141073467/21/2017`` and vice versa.
"""


from service.hashing.identifiers import canonical_identifier
from datetime import UTC, datetime

from service.hashing.vocabulary import BIZ_STEPS, BIZ_TRANSACTION_TYPES, DISPOSITIONS, ERROR_REASONS, SOURCE_DESTINATION_TYPES, web_vocabulary
from service.models import TermName


def identifier(value: str) -> str:
    """The canonical form of an EPC, class or location id (unchanged when not a GS1 key)."""
    return canonical_identifier(value) or value


def vocabulary(value: str, terms: dict[str, str]) -> str:
    """A CBV term as its CBV 2.0 URI, whether given short, as a URN or already as the URI."""
    return terms.get(value) or web_vocabulary(value)


def biz_transaction_term(kind: str | None, value: str) -> str:
    """The stored value of a bizTransaction term: its type URI (or empty) and the id."""
    return f"{vocabulary(kind, BIZ_TRANSACTION_TYPES) if kind else ''} {value}"


def source_destination_term(kind: str, value: str) -> str:
    """The stored value of a source or destination term: its CBV type URI and the canonical id."""
    return f"{vocabulary(kind, SOURCE_DESTINATION_TYPES)} {identifier(value)}"


def event_columns(event: dict) -> dict[str, str | None]:
    """The single-valued search columns of an EPCIS event."""
    return {
        "biz_step": vocabulary(event["bizStep"], BIZ_STEPS) if isinstance(event.get("bizStep"), str) else None,
        "disposition": vocabulary(event["disposition"], DISPOSITIONS) if isinstance(event.get("disposition"), str) else None,
        "biz_location": _location(event.get("bizLocation")),
        "read_point": _location(event.get("readPoint")),
    }


def event_terms(event: dict) -> set[tuple[str, str]]:
    """Multi-valued search terms of an EPCIS event."""
    terms: set[tuple[str, str]] = set()
    if isinstance(event.get("eventID"), str):
        terms.add((TermName.EVENT_ID, event["eventID"]))
    if isinstance(event.get("action"), str):
        terms.add((TermName.ACTION, event["action"]))
    for name, field in ((TermName.SOURCE, "source"), (TermName.DESTINATION, "destination")):
        for item in event.get(field + "List") or []:
            if isinstance(item, dict) and isinstance(item.get("type"), str) and isinstance(item.get(field), str):
                terms.add((name, source_destination_term(item["type"], item[field])))
    for name, fields in (
        (TermName.EPC, ("epcList", "childEPCs")),
        (TermName.INPUT, ("inputEPCList",)),
        (TermName.OUTPUT, ("outputEPCList",)),
    ):
        for field in fields:
            terms.update((name, identifier(epc)) for epc in _strings(event.get(field)))
    if isinstance(event.get("parentID"), str):
        terms.add((TermName.PARENT, identifier(event["parentID"])))
    for field in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
        for quantity in event.get(field) or []:
            if isinstance(quantity, dict) and isinstance(quantity.get("epcClass"), str):
                terms.add((TermName.EPC_CLASS, identifier(quantity["epcClass"])))
    for transaction in event.get("bizTransactionList") or []:
        if isinstance(transaction, dict) and isinstance(transaction.get("bizTransaction"), str):
            terms.add((TermName.BIZ_TRANSACTION, biz_transaction_term(transaction.get("type"), transaction["bizTransaction"])))
            terms.add((TermName.CITES, transaction["bizTransaction"]))
    return terms


def time_term(moment: datetime) -> str:
    """A time as a term value: UTC, microseconds, ``Z``; fixed width, so that text order is time order
    (queries compare such terms as text)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def declaration_terms(hash_id: str, declaration: dict, declared_at: datetime) -> set[tuple[str, str]]:
    """Search terms of an error declaration: the event it declares erroneous (by Event Hash ID), when
    (:func:`time_term`), why, and the corrective events."""
    terms = {(TermName.DECLARES, hash_id), (TermName.DECLARED_AT, time_term(declared_at))}
    if isinstance(declaration.get("reason"), str):
        terms.add((TermName.ERROR_REASON, vocabulary(declaration["reason"], ERROR_REASONS)))
    terms.update((TermName.CORRECTIVE_EVENT, event_id) for event_id in _strings(declaration.get("correctiveEventIDs")))
    return terms


def transaction_terms(transaction: dict) -> set[tuple[str, str]]:
    """Search terms of a commercial transaction; a reference is indexed by the id it names, whichever
    party's record that is."""
    terms = {(TermName.SKU, line["sku"]) for line in transaction.get("lines") or [] if isinstance(line.get("sku"), str)}
    terms.update((TermName.PARTY, transaction[role]) for role in ("seller", "buyer") if isinstance(transaction.get(role), str))
    terms.update((TermName.REFERENCE, reference_id(ref)) for ref in transaction.get("references") or []
                 if isinstance(reference_id(ref), str))
    return terms


def reference_id(reference: object) -> object:
    """The id a reference names: the string itself, or the ``id`` of ``{"id": ..., "party": ...}``."""
    return reference.get("id") if isinstance(reference, dict) else reference


def label_terms(label: dict) -> set[tuple[str, str]]:
    """Search terms of a fraud label: the transaction it labels and the lender."""
    return {(TermName.REFERENCE, label["transaction"]), (TermName.PARTY, label["lender"])}


def grant_terms(grant: dict) -> set[tuple[str, str]]:
    """Search terms of a grant (its grantee) or of a revocation (the grant it withdraws)."""
    return {(TermName.GRANTEE, grant["grantee"])} if "grantee" in grant else {(TermName.REFERENCE, grant["grant"])}


def _location(value: object) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return identifier(value["id"])
    return None


def _strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []
