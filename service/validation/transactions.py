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
- Unknown fields are refused, naming them; custom data goes under ``extensions`` (any JSON object).
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Annotated, Literal

from iso4217 import Currency
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError
from pydantic_core import PydanticCustomError

from service.errors import InvalidRecord
from service.validation.json_limits import MAX_IDENTIFIER_CHARS

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

    Each error is ``{"index": 2, "field": "[2].lines[0].quantity", "message": "must be positive"}``;
    for a single submitted object ``index`` is None and fields carry no ``[i].`` prefix.
    """

    def __init__(self, errors: list[dict]) -> None:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{first['field']}: {first['message']}{more}", field=first["field"])
        self.errors = errors


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


class _Line(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    sku: Text
    quantity: Quantity
    unit_price: Amount
    category: Text | None = None  # optional product category, for category-level basket rules


class _Transaction(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: Text
    kind: Literal["order", "sale", "invoice", "payment"]
    timestamp: Annotated[datetime, BeforeValidator(_timestamp)]
    seller: Text
    buyer: Text
    currency: Annotated[Currency, BeforeValidator(_currency)]
    lines: list[_Line] = Field(default_factory=list)
    total: Amount
    location: Annotated[str | None, BeforeValidator(_location)] = None
    references: list[Text] = Field(default_factory=list)
    extensions: dict = Field(default_factory=dict)


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
    parties: frozenset[str]
    references: tuple[str, ...]


def validate_transactions(payload: object, *, max_items: int) -> list[ValidatedTransaction]:
    """Validate one transaction object or a list of them, all-or-nothing.

    Raises ``TooManyTransactions`` above ``max_items``, ``TransactionInvalid`` listing every error.
    """
    single = isinstance(payload, dict)
    if not single and not isinstance(payload, list):
        raise TransactionInvalid([_error(None, "$", "expected a transaction object or a list of them")])
    items = [payload] if single else payload
    if len(items) > max_items:
        raise TooManyTransactions(f"{len(items)} transactions in one submission; at most {max_items} are accepted")
    if not items:
        raise TransactionInvalid([_error(None, "$", "the list is empty")])
    validated, errors = [], []
    for index, item in enumerate(items):
        position = None if single else index
        if not isinstance(item, dict):
            errors.append(_error(position, _field(position, ()), "expected a transaction object"))
            continue
        try:
            parsed = _Transaction.model_validate(item)
        except ValidationError as error:
            errors.extend(_pydantic_errors(error, position))
            continue
        errors.extend(_error(position, _field(position, loc), message) for loc, message in _meaning_errors(parsed))
        validated.append(_validated(item, parsed))
    errors.extend(_duplicate_id_errors(items))
    if errors:
        raise TransactionInvalid(sorted(errors, key=lambda error: error["index"] or 0))
    return validated


def references_of(transactions: Iterable[ValidatedTransaction]) -> set[str]:
    """Ids the submission refers to that it does not itself contain: the caller checks them in the DB.

    References between records of the same submission (an invoice citing the order sent with it)
    are satisfied by the submission, so they are left out.
    """
    transactions = list(transactions)
    submitted = {transaction.id for transaction in transactions}
    return {reference for transaction in transactions for reference in transaction.references} - submitted


def _meaning_errors(transaction: _Transaction) -> Iterator[tuple[tuple, str]]:
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
    if transaction.id in transaction.references:
        yield ("references",), "a record cannot reference itself"


def _duplicate_id_errors(items: list) -> Iterator[dict]:
    """Ids are business keys: two records of one submission may not share one."""
    first_seen: dict[str, int] = {}
    for index, item in enumerate(items):
        identifier = item.get("id") if isinstance(item, dict) else None
        if not isinstance(identifier, str):
            continue
        if identifier in first_seen:
            yield _error(index, _field(index, ("id",)), f"duplicate id, already used at [{first_seen[identifier]}]")
        first_seen.setdefault(identifier, index)


def _validated(body: dict, parsed: _Transaction) -> ValidatedTransaction:
    return ValidatedTransaction(
        body=body,
        id=parsed.id,
        kind=parsed.kind,
        timestamp=parsed.timestamp,
        total=parsed.total,
        currency=parsed.currency.code,
        skus=frozenset(line.sku for line in parsed.lines),
        parties=frozenset({parsed.seller, parsed.buyer}),
        references=tuple(parsed.references),
    )


def _pydantic_errors(error: ValidationError, position: int | None) -> Iterator[dict]:
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


def _error(index: int | None, field: str, message: str) -> dict:
    return {"index": index, "field": field, "message": message}
