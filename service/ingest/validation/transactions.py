"""Validating commercial transactions (orders, sales, invoices, payments) for ``POST /v1/transactions``.

The submitted JSON is hashed and stored as sent, so validation never rewrites it: it returns the
original dict together with the parsed values the ledger indexes. Rules (docs in the API guide):

- Amounts and quantities are exact decimals, given as JSON strings (preferred) or numbers; a number
  is read through its shortest text form (``3.5`` -> ``Decimal("3.5")``), booleans are refused.
  Each has at most ``MAX_DIGITS`` digits, before and after the point together (so totals are
  computed exactly, whatever the lines).
- Identifiers (``id``, ``sku``, ``category``, parties, ``references``, ``location``) have at most
  ``MAX_IDENTIFIER_CHARS`` characters: they become indexed columns and search terms.
- ``timestamp`` is an ISO 8601 date-time with a timezone, within years 1 to 9999 once in UTC.
- ``quantity`` > 0 and may have decimals (weights, volumes); ``unit_price`` and ``total`` >= 0.
- ``total`` has at most as many decimals as the currency's ISO 4217 minor unit (EUR 2, JPY 0,
  BHD 3) and equals sum(quantity x unit_price) computed exactly and rounded once, half up, to that
  minor unit. Unit prices may be finer than the minor unit (e.g. 0.0035 per gram).
- Orders, sales and invoices need at least one line; a payment may have none (its total is the amount).
- ``currency`` is an active ISO 4217 code with a minor unit (the ``iso4217`` package ships the
  official SIX list); funds and metals such as XAU or XDR have none and are refused.
- A line may name its product ``category`` (a non-empty string; basket rules by category use it).
- ``seller`` and ``buyer`` differ.
- ``references`` name records: a string is an id of the submitter's own records, and
  ``{"id": ..., "party": ...}`` names another party's (a payment of a supplier's invoice, say). A
  cited transaction must agree with the citing one in currency, seller and buyer; references within
  one submission are checked here, the others when stored (``service.ingest.records.check_references``).
- Unknown fields are refused, naming them; custom data goes under ``extensions`` (any JSON object).
"""

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Annotated

from iso4217 import Currency
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from service.errors import ErrorItem, InvalidRecord
from service.ingest.candidates import Reference, TransactionKind
from service.ingest.validation.json_limits import MAX_IDENTIFIER_CHARS

#: Digits of an amount or quantity, as in a SQL DECIMAL(28, s): Python's default decimal precision.
MAX_DIGITS = 28
#: Enough for sums of products of two MAX_DIGITS numbers over as many lines as a body can hold, so
#: the totals check neither rounds before it means to nor fails.
_EXACT_PRECISION = 4 * MAX_DIGITS
_DECIMAL_TEXT = re.compile(r"-?\d+(\.\d+)?")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")
_GLN = re.compile(r"\d{13}")
_LINES_REQUIRED = frozenset({"order", "sale", "invoice"})


class TransactionInvalid(InvalidRecord):
    """One or more submitted transactions are invalid; ``errors`` lists every problem found.

    Each error's ``index`` is the transaction's position in the submitted list and its ``field`` a
    path such as ``[2].lines[0].quantity``; for a single submitted object ``index`` is None and
    fields carry no ``[i].`` prefix.
    """

    @classmethod
    def listing(cls, errors: list[ErrorItem]) -> "TransactionInvalid":
        """The error for ``errors``, its detail naming the first one's field."""
        return cls.of(errors, detail=f"{errors[0].field}: {errors[0].message}")


class TooManyTransactions(InvalidRecord):
    """More transactions in one submission than allowed (checked before anything is parsed)."""

    status_code = 413


def _decimal(value: object) -> Decimal:
    """An exact decimal from a JSON string or number (see the module docstring)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PydanticCustomError("decimal_type", "must be a decimal number, as a string or a number")
    text = value if isinstance(value, str) else repr(value)
    if isinstance(value, str) and not _DECIMAL_TEXT.fullmatch(value):
        raise PydanticCustomError("decimal_text", "must be a plain decimal such as \"3.50\"")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise PydanticCustomError("decimal_text", "must be a finite decimal number") from None
    if not number.is_finite():
        raise PydanticCustomError("decimal_text", "must be a finite decimal number")
    if max(number.adjusted() + 1, 0) + max(-number.as_tuple().exponent, 0) > MAX_DIGITS:
        raise PydanticCustomError("decimal_digits", f"must have at most {MAX_DIGITS} digits before and after the point together")
    return number


def _positive(number: Decimal) -> Decimal:
    if number <= 0:
        raise PydanticCustomError("not_positive", "must be positive")
    return number


def _non_negative(number: Decimal) -> Decimal:
    if number < 0:
        raise PydanticCustomError("negative", "must not be negative")
    return number


def _timestamp(value: object) -> datetime:
    """An ISO 8601 date-time string with a timezone (a naive time is ambiguous across suppliers)."""
    if not isinstance(value, str):
        raise PydanticCustomError("timestamp_type", "must be an ISO 8601 date-time string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        message = "must be an ISO 8601 date-time, e.g. 2026-01-05T10:00:00Z"
        raise PydanticCustomError("timestamp_text", message) from None
    if moment.tzinfo is None:
        raise PydanticCustomError("timestamp_naive", "must include a timezone (Z or +hh:mm)")
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("timestamp_range", "is outside years 1 to 9999 once converted to UTC") from None
    return moment


def _currency(value: object) -> Currency:
    try:
        currency = Currency(value)
    except ValueError:
        raise PydanticCustomError("currency", "must be an ISO 4217 currency code such as EUR") from None
    if currency.exponent is None:
        raise PydanticCustomError("currency", "has no minor unit (fund, metal or special code)")
    return currency


def _location(value: object) -> str | None:
    """A 13-digit GLN with a valid GS1 check digit, or a URI (e.g. an EPC sgln or a Digital Link)."""
    if value is None:
        return None
    if not isinstance(value, str) or not (_GLN.fullmatch(value) or _URI.fullmatch(value)):
        raise PydanticCustomError("location", "must be a 13-digit GLN or a URI")
    if len(value) > MAX_IDENTIFIER_CHARS:
        raise PydanticCustomError("location", f"must have at most {MAX_IDENTIFIER_CHARS} characters")
    if _GLN.fullmatch(value) and _gs1_check_digit(value[:12]) != int(value[12]):
        raise PydanticCustomError("location", "GLN check digit is wrong")
    return value


def _gs1_check_digit(digits: str) -> int:
    """GS1 mod-10: weights 3, 1, 3, ... from the rightmost digit before the check digit."""
    weighted = sum(int(digit) * (3 - 2 * (position % 2)) for position, digit in enumerate(reversed(digits)))
    return -weighted % 10


Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_IDENTIFIER_CHARS, strip_whitespace=False)]
Quantity = Annotated[Decimal, BeforeValidator(_decimal), AfterValidator(_positive)]
Amount = Annotated[Decimal, BeforeValidator(_decimal), AfterValidator(_non_negative)]


ORDER_EXAMPLE = {
    "id": "urn:epcglobal:cbv:bt:0614141000041:PO-1001",
    "kind": "order",
    "timestamp": "2026-09-01T18:00:00Z",
    "seller": "processor",
    "buyer": "retailer",
    "currency": "EUR",
    "lines": [{"sku": "0614141022222", "quantity": 4, "unit_price": "3.50", "category": "juice"}],
    "total": "14.00",
    "location": "urn:epc:id:sgln:0614141.00300.0",
}
INVOICE_EXAMPLE = {
    "id": "urn:epcglobal:cbv:bt:0614141000041:INV-2001",
    "kind": "invoice",
    "timestamp": "2026-09-02T09:00:00Z",
    "seller": "processor",
    "buyer": "retailer",
    "currency": "EUR",
    "lines": [{"sku": "0614141022222", "quantity": "4", "unit_price": "3.50"}],
    "total": "14.00",
    "references": ["urn:epcglobal:cbv:bt:0614141000041:PO-1001"],
}
PAYMENT_EXAMPLE = {
    "id": "urn:epcglobal:cbv:bt:0614141000041:PAY-3001",
    "kind": "payment",
    "timestamp": "2026-09-20T12:00:00+02:00",
    "seller": "processor",
    "buyer": "retailer",
    "currency": "EUR",
    "total": "14.00",
    "references": ["urn:epcglobal:cbv:bt:0614141000041:INV-2001"],
    "extensions": {"bank_reference": "RF18 5390 0754 7034"},
}


class TransactionLine(BaseModel):
    """One line of a transaction: a quantity of one product at a unit price."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [ORDER_EXAMPLE["lines"][0]]})

    sku: Text = Field(description="The product: a GTIN or any SKU code of the seller's.")
    quantity: Quantity = Field(
        description="How many (> 0); decimals allowed for weights and volumes. A decimal string such as \"2.5\" "
        "(preferred, exact) or a JSON number."
    )
    unit_price: Amount = Field(
        description="Price of one unit (>= 0), in the transaction's currency; may be finer than its minor unit "
        "(e.g. \"0.0035\"). A decimal string (preferred) or a JSON number."
    )
    category: Text | None = Field(None, description="The product's category, for basket rules by category.")


class PartyReference(BaseModel):
    """A reference to another party's record: its id and whose it is."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: Text = Field(description="The business id (or event hash ID) as that party recorded it.")
    party: Text = Field(description="The party that recorded it.")


def _one_reference(value: object, handler):
    """A reference is an id or ``{"id", "party"}``: one clear message rather than one per union member."""
    try:
        return handler(value)
    except ValidationError:
        raise PydanticCustomError("reference", 'must be an id (a string) or {"id": ..., "party": ...}') from None


_Reference = Annotated[Text | PartyReference, WrapValidator(_one_reference)]


class Transaction(BaseModel):
    """A commercial transaction (order, sale, invoice or payment), stored and hashed exactly as sent.

    ``total`` must equal the sum of quantity x unit_price over the lines, rounded once (half up) to
    the currency's minor unit; orders, sales and invoices need at least one line, a payment may
    have none. Unknown fields are refused: custom data goes under ``extensions``.
    """

    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [ORDER_EXAMPLE, INVOICE_EXAMPLE, PAYMENT_EXAMPLE]}
    )

    id: Text = Field(description="The business identifier, unique per transaction (e.g. a CBV business transaction URN).")
    kind: TransactionKind = Field(description="What the transaction is.")
    timestamp: Annotated[datetime, BeforeValidator(_timestamp)] = Field(
        description="When it happened: ISO 8601 with a timezone (Z or +hh:mm)."
    )
    seller: Text = Field(description="The selling party; a supplier submits only transactions it is seller or buyer of.")
    buyer: Text = Field(description="The buying party (not the seller).")
    currency: Annotated[Currency, BeforeValidator(_currency)] = Field(
        description="ISO 4217 code with a minor unit, e.g. EUR, USD, JPY (funds and metals such as XAU are refused)."
    )
    lines: list[TransactionLine] = Field(
        default_factory=list, description="The products; required for orders, sales and invoices."
    )
    total: Amount = Field(
        description="The amount (>= 0), with at most the currency's minor-unit decimals; with lines, their sum "
        "rounded half up. A decimal string (preferred) or a JSON number."
    )
    location: Annotated[str | None, BeforeValidator(_location)] = Field(
        None, description="Where: a 13-digit GLN (with a valid check digit) or a URI such as an SGLN URN."
    )
    references: list[_Reference] = Field(
        default_factory=list,
        description="Records this one refers to (an invoice its order, a payment its invoice): an id of your own "
        "records (stored already or sent in the same list), or {\"id\", \"party\"} for another party's record that "
        "you may see. A cited transaction must have the same currency, seller and buyer.",
    )
    extensions: dict = Field(default_factory=dict, description="Any custom data, as a JSON object.")


@dataclass(frozen=True)
class ValidatedTransaction:
    """A valid transaction: ``body`` is the submitted dict itself (unchanged), the rest is parsed from it."""

    body: dict
    id: str
    kind: str
    timestamp: datetime
    total: Decimal
    currency: str
    skus: frozenset[str]
    seller: str
    buyer: str
    references: tuple[tuple[str | None, str], ...]
    """(party, id) per reference, party None for the submitter's own records."""
    position: int | None = None

    @property
    def parties(self) -> frozenset[str]:
        return frozenset({self.seller, self.buyer})


def validate_transactions(payload: object, *, max_items: int) -> list[ValidatedTransaction]:
    """Validate one transaction object or a list of them, all-or-nothing.

    Raises ``TooManyTransactions`` above ``max_items``, ``TransactionInvalid`` listing every error.
    """
    single = isinstance(payload, dict)
    if not single and not isinstance(payload, list):
        raise TransactionInvalid.listing([_error(None, "$", "expected a transaction object or a list of them")])
    items = [payload] if single else payload
    if len(items) > max_items:
        raise TooManyTransactions(f"{len(items)} transactions in one submission; at most {max_items} are accepted")
    if not items:
        raise TransactionInvalid.listing([_error(None, "$", "the list is empty")])
    validated, errors = [], []
    for index, item in enumerate(items):
        position = None if single else index
        if not isinstance(item, dict):
            errors.append(_error(position, _field(position, ()), "expected a transaction object"))
            continue
        try:
            parsed = Transaction.model_validate(item)
        except ValidationError as error:
            errors.extend(_pydantic_errors(error, position))
            continue
        errors.extend(_error(position, _field(position, loc), message) for loc, message in _meaning_errors(parsed))
        validated.append(_validated(item, parsed, position=position))
    errors.extend(_duplicate_id_errors(items))
    if errors:
        raise TransactionInvalid.listing(sorted(errors, key=lambda error: error.index or 0))
    return validated


def references_of(transactions: Sequence[ValidatedTransaction], *, party: str) -> tuple[Reference, ...]:
    """The references of a submission by ``party`` that name records outside it, for the ledger to
    check; references within it must agree in currency, seller and buyer (TransactionInvalid).
    """
    submitted = {transaction.id: transaction for transaction in transactions}
    outside, errors = [], []
    for transaction in transactions:
        for index, (cited_party, cited_id) in enumerate(transaction.references):
            field = _field(transaction.position, ("references", index))
            cited = submitted.get(cited_id) if cited_party in (None, party) else None
            if cited is None:
                outside.append(Reference(field=field, party=cited_party or party, business_id=cited_id,
                                         currency=transaction.currency, seller=transaction.seller, buyer=transaction.buyer))
                continue
            for name in ("currency", "seller", "buyer"):
                if getattr(cited, name) != getattr(transaction, name):
                    errors.append(_error(transaction.position, field, f"cites {cited.kind} {cited_id!r} whose {name} is "
                                                                      f"{getattr(cited, name)!r}, not {getattr(transaction, name)!r}"))
                    break
    if errors:
        raise TransactionInvalid.listing(errors)
    return tuple(outside)


def _meaning_errors(transaction: Transaction) -> Iterator[tuple[tuple, str]]:
    """Rules across fields, which pydantic's per-field parsing cannot express."""
    exponent = transaction.currency.exponent
    minor_unit = Decimal(1).scaleb(-exponent)
    if transaction.kind in _LINES_REQUIRED and not transaction.lines:
        yield ("lines",), "must have at least one line (only a payment may have none)"
    if transaction.total.as_tuple().exponent < -exponent:
        yield ("total",), f"has more decimals than {transaction.currency.code} allows ({exponent})"
    elif transaction.lines:
        with localcontext(prec=_EXACT_PRECISION):
            exact = sum((line.quantity * line.unit_price for line in transaction.lines), Decimal(0))
            expected = exact.quantize(minor_unit, rounding=ROUND_HALF_UP)
        if transaction.total != expected:
            rule = f"sum of quantity x unit_price, rounded half up to the {transaction.currency.code} minor unit"
            yield ("total",), f"is {transaction.total} but the lines give {expected} ({rule})"
    if any(isinstance(reference, str) and reference == transaction.id for reference in transaction.references):
        yield ("references",), "a record cannot reference itself"
    if transaction.seller == transaction.buyer:
        yield ("buyer",), "must differ from the seller"


def _duplicate_id_errors(items: list) -> Iterator[ErrorItem]:
    """Ids are business keys: two records of one submission may not share one."""
    first_seen: dict[str, int] = {}
    for index, item in enumerate(items):
        identifier = item.get("id") if isinstance(item, dict) else None
        if not isinstance(identifier, str):
            continue
        if identifier in first_seen:
            yield _error(index, _field(index, ("id",)), f"duplicate id, already used at [{first_seen[identifier]}]")
        first_seen.setdefault(identifier, index)


def _validated(body: dict, parsed: Transaction, *, position: int | None) -> ValidatedTransaction:
    return ValidatedTransaction(
        body=body,
        id=parsed.id,
        kind=parsed.kind,
        timestamp=parsed.timestamp,
        total=parsed.total,
        currency=parsed.currency.code,
        skus=frozenset(line.sku for line in parsed.lines),
        seller=parsed.seller,
        buyer=parsed.buyer,
        references=tuple((None, ref) if isinstance(ref, str) else (ref.party, ref.id) for ref in parsed.references),
        position=position,
    )


def _pydantic_errors(error: ValidationError, position: int | None) -> Iterator[ErrorItem]:
    for detail in error.errors(include_url=False):
        yield _error(position, _field(position, detail["loc"]), _message(detail))


def _message(detail: dict) -> str:
    """Pydantic's message, reworded where it would puzzle a client who never heard of pydantic."""
    match detail["type"]:
        case "extra_forbidden":
            return "unknown field; put custom data under \"extensions\""
        case "missing":
            return "is required"
        case "literal_error":
            return "must be one of order, sale, invoice, payment"
        case "string_too_short":
            return "must not be empty"
        case "string_too_long":
            return f"must have at most {MAX_IDENTIFIER_CHARS} characters"
        case "string_type":
            return "must be a string"
        case "list_type":
            return "must be a list"
        case "dict_type" | "model_type":
            return "must be an object"
    return detail["msg"]


def _field(position: int | None, loc: Iterable) -> str:
    """``(2, ("lines", 0, "quantity"))`` -> ``"[2].lines[0].quantity"``; a single object has no prefix."""
    prefix = "" if position is None else f"[{position}]"
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    return (prefix + path).lstrip(".") or "$"


def _error(index: int | None, field: str, message: str) -> ErrorItem:
    return ErrorItem(field=field, message=message, index=index)
