"""Commercial transaction validation: types, meaning (totals, currencies, dates) and error locations."""

import copy
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.ingest.validation.transactions import (
    TooManyTransactions,
    TransactionInvalid,
    references_of,
    validate_transactions,
)

ORDER = {
    "id": "urn:epcglobal:cbv:bt:0614141000005:PO-1234",
    "kind": "order",
    "timestamp": "2026-01-05T10:00:00Z",
    "seller": "urn:epc:id:pgln:0614141.00000",
    "buyer": "urn:epc:id:pgln:0012345.00000",
    "currency": "EUR",
    "lines": [{"sku": "urn:gtin:00614141107346", "quantity": 2, "unit_price": "3.50"},
              {"sku": "urn:gtin:00614141107353", "quantity": "0.5", "unit_price": 1.25}],
    "total": "7.63",  # 7.00 + 0.625 -> 7.625, rounded half up to 7.63
    "location": "0614141000005",
    "references": [],
}
SALE = {**ORDER, "id": "sale-1", "kind": "sale", "references": [ORDER["id"]],
        "location": "urn:epc:id:sgln:0614141.00000.0"}
INVOICE = {**ORDER, "id": "inv-1", "kind": "invoice", "references": [ORDER["id"], "delivery-9"],
           "extensions": {"paymentTerms": "30 days"}}
PAYMENT = {key: value for key, value in ORDER.items() if key not in ("lines", "location")} | {
    "id": "pay-1", "kind": "payment", "total": "7.63", "references": ["inv-1"]}


def errors_of(payload: object) -> list[dict]:
    with pytest.raises(TransactionInvalid) as caught:
        validate_transactions(payload, max_items=100)
    assert caught.value.status_code == 422
    return [asdict(error) for error in caught.value.errors]


def with_change(**changes) -> dict:
    return {**copy.deepcopy(ORDER), **changes}


@pytest.mark.parametrize("transaction", [ORDER, SALE, INVOICE, PAYMENT], ids=lambda t: t["kind"])
def test_valid_examples_of_each_kind(transaction):
    [validated] = validate_transactions(transaction, max_items=1)
    assert validated.kind == transaction["kind"]
    assert validated.body is transaction
    assert validated.total == Decimal("7.63")
    assert validated.timestamp == datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert validated.parties == {ORDER["seller"], ORDER["buyer"]}
    assert validated.references == tuple((None, reference) for reference in transaction["references"])


def test_parsed_values_for_indexing_and_body_untouched():
    payload = [copy.deepcopy(ORDER), copy.deepcopy(INVOICE)]
    before = copy.deepcopy(payload)
    order, invoice = validate_transactions(payload, max_items=2)
    assert payload == before
    assert order.body is payload[0] and invoice.body is payload[1]
    assert order.skus == {"urn:gtin:00614141107346", "urn:gtin:00614141107353"}
    assert order.currency == "EUR"


def test_references_of_leaves_out_records_of_the_same_submission():
    validated = validate_transactions([ORDER, SALE, INVOICE, PAYMENT], max_items=4)
    [outside] = references_of(validated, party="supplier")
    assert (outside.field, outside.party, outside.business_id) == ("[2].references[1]", "supplier", "delivery-9")
    assert (outside.currency, outside.seller, outside.buyer) == ("EUR", ORDER["seller"], ORDER["buyer"])


def test_a_reference_to_another_party_names_it_and_is_never_satisfied_by_the_submission():
    invoice = {**INVOICE, "references": [{"id": ORDER["id"], "party": "buyer-co"}]}
    [outside] = references_of(validate_transactions([ORDER, invoice], max_items=2), party="supplier")
    assert (outside.party, outside.business_id, outside.field) == ("buyer-co", ORDER["id"], "[1].references[0]")


@pytest.mark.parametrize(("change", "field"), [({"currency": "USD", "total": "7.63"}, "currency"), ({"buyer": "someone else"}, "buyer")])
def test_references_within_a_submission_must_agree_in_currency_and_parties(change, field):
    payment = {**PAYMENT, **change}
    with pytest.raises(TransactionInvalid) as caught:
        references_of(validate_transactions([INVOICE | {"references": []}, payment], max_items=2), party="supplier")
    [error] = caught.value.errors
    assert error.field == "[1].references[0]" and f"whose {field} is" in error.message


def test_list_errors_name_index_and_field():
    broken = with_change(id="po-2", lines=[ORDER["lines"][0], {"sku": "x", "quantity": -1, "unit_price": "1"}])
    assert errors_of([ORDER, SALE, broken]) == [
        {"index": 2, "field": "[2].lines[1].quantity", "message": "must be positive"}]


def test_single_object_errors_have_no_index_prefix():
    assert errors_of(with_change(kind="refund")) == [
        {"index": None, "field": "kind", "message": "must be one of order, sale, invoice, payment"}]


def test_all_errors_of_a_list_are_collected():
    errors = errors_of([with_change(id="a", currency="XYZ"), ORDER, with_change(id="c", seller="")])
    assert [(e["index"], e["field"]) for e in errors] == [(0, "[0].currency"), (2, "[2].seller")]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"total": "7.62"}, "total", "is 7.62 but the lines give 7.63"),
        ({"total": "7.625"}, "total", "has more decimals than EUR allows (2)"),
        ({"total": "-7.63"}, "total", "must not be negative"),
        ({"total": "7,63"}, "total", "must be a plain decimal"),
        ({"total": "NaN"}, "total", "must be a plain decimal"),
        ({"total": True}, "total", "must be a decimal number"),
        ({"lines": [{"sku": "a", "quantity": 0, "unit_price": "1"}]}, "lines[0].quantity", "must be positive"),
        ({"lines": [{"sku": "a", "quantity": 1, "unit_price": "-1"}]}, "lines[0].unit_price", "must not be negative"),
        ({"lines": [{"sku": "", "quantity": 1, "unit_price": "1"}]}, "lines[0].sku", "must not be empty"),
        ({"lines": [{"sku": "a", "quantity": 1}]}, "lines[0].unit_price", "is required"),
        ({"lines": [{"sku": "a", "quantity": 1, "unit_price": "7.63", "category": ""}]}, "lines[0].category", "must not be empty"),
        ({"lines": [{"sku": "a", "quantity": 1, "unit_price": "7.63", "category": 5}]}, "lines[0].category", "must be a string"),
        ({"lines": []}, "lines", "must have at least one line"),
        ({"currency": "eur"}, "currency", "must be an ISO 4217 currency code"),
        ({"currency": "XAU"}, "currency", "has no minor unit"),
        ({"timestamp": "2026-01-05T10:00:00"}, "timestamp", "must include a timezone"),
        ({"timestamp": "5 Jan 2026"}, "timestamp", "must be an ISO 8601 date-time"),
        ({"timestamp": 1767607200}, "timestamp", "must be an ISO 8601 date-time string"),
        ({"location": "0614141000006"}, "location", "GLN check digit is wrong"),
        ({"location": "warehouse 3"}, "location", "must be a 13-digit GLN or a URI"),
        ({"references": "po-1"}, "references", "must be a list"),
        ({"references": ["po-1", 7]}, "references[1]", 'must be an id (a string) or {"id": ..., "party": ...}'),
        ({"references": [{"id": "po-1"}]}, "references[0]", 'must be an id (a string) or {"id": ..., "party": ...}'),
        ({"buyer": ORDER["seller"]}, "buyer", "must differ from the seller"),
        ({"references": [ORDER["id"]]}, "references", "a record cannot reference itself"),
        ({"id": ""}, "id", "must not be empty"),
        ({"buyer": 42}, "buyer", "must be a string"),
        ({"note": "urgent"}, "note", 'unknown field; put custom data under "extensions"'),
        ({"extensions": "urgent"}, "extensions", "must be an object"),
    ],
)
def test_each_rule_names_its_field(changes, field, message):
    [error] = errors_of(with_change(**changes))
    assert error["field"] == field
    assert error["message"].startswith(message)


def test_missing_required_fields_are_each_named():
    fields = {e["field"] for e in errors_of({"id": "x", "kind": "sale"})}
    assert fields == {"timestamp", "seller", "buyer", "currency", "total"}


def test_unknown_field_in_a_line_is_refused():
    [error] = errors_of(with_change(lines=[{**ORDER["lines"][0], "colour": "red"}], total="7.00"))
    assert error["field"] == "lines[0].colour"


def test_a_line_may_name_its_category():
    lines = [{**ORDER["lines"][0], "category": "dairy"}, ORDER["lines"][1]]
    [validated] = validate_transactions(with_change(lines=lines), max_items=1)
    assert validated.body["lines"][0]["category"] == "dairy"


def test_currency_minor_unit_governs_rounding_and_precision():
    yen = with_change(currency="JPY", lines=[{"sku": "a", "quantity": "1.5", "unit_price": "101"}], total="152")
    validate_transactions(yen, max_items=1)  # 151.5 rounds half up to 152
    [error] = errors_of({**yen, "total": "151.50"})
    assert error["message"] == "has more decimals than JPY allows (0)"
    dinar = with_change(currency="BHD", lines=[{"sku": "a", "quantity": 3, "unit_price": "0.3335"}], total="1.001")
    validate_transactions(dinar, max_items=1)  # 1.0005 rounds half up to 1.001


def test_timestamp_offsets_are_kept():
    [validated] = validate_transactions(with_change(timestamp="2026-01-05T11:00:00+01:00"), max_items=1)
    assert validated.timestamp.utcoffset() == timedelta(hours=1)
    assert validated.timestamp == datetime(2026, 1, 5, 10, tzinfo=UTC)


def test_duplicate_ids_in_one_submission_are_refused():
    errors = errors_of([ORDER, SALE, with_change()])
    assert errors == [{"index": 2, "field": "[2].id", "message": "duplicate id, already used at [0]"}]


@pytest.mark.parametrize("payload", ["order", 3, None, [], [ORDER, "order"]])
def test_payload_shape_is_checked(payload):
    errors = errors_of(payload)
    assert errors[0]["message"] in (
        "expected a transaction object or a list of them", "the list is empty", "expected a transaction object")


def test_too_many_items_are_refused_before_parsing():
    with pytest.raises(TooManyTransactions) as caught:
        validate_transactions([None] * 3, max_items=2)
    assert caught.value.status_code == 413


CURRENCIES = {"EUR": 2, "USD": 2, "JPY": 0, "BHD": 3}


@st.composite
def orders(draw) -> dict:
    """A random valid order: prices in whole minor units, quantities with up to 3 decimals."""
    currency = draw(st.sampled_from(sorted(CURRENCIES)))
    minor_unit = Decimal(1).scaleb(-CURRENCIES[currency])
    lines = [
        {"sku": draw(st.text(min_size=1, max_size=8)),
         "quantity": str(Decimal(draw(st.integers(1, 10**6))).scaleb(-draw(st.integers(0, 3)))),
         "unit_price": str(draw(st.integers(1, 10**7)) * minor_unit)}
        for _ in range(draw(st.integers(1, 5)))
    ]
    exact = sum(Decimal(line["quantity"]) * Decimal(line["unit_price"]) for line in lines)
    total = exact.quantize(minor_unit, rounding=ROUND_HALF_UP)
    return with_change(currency=currency, lines=lines, total=str(total))


@settings(max_examples=150, deadline=None)
@given(order=orders())
def test_any_valid_order_passes(order):
    [validated] = validate_transactions(order, max_items=1)
    assert validated.total == Decimal(order["total"])


@settings(max_examples=150, deadline=None)
@given(order=orders(), data=st.data())
def test_changing_a_quantity_without_fixing_the_total_fails(order, data):
    # Each unit price is at least one minor unit, so one more unit moves the total by at least that.
    line = data.draw(st.integers(0, len(order["lines"]) - 1))
    order["lines"][line]["quantity"] = str(Decimal(order["lines"][line]["quantity"]) + 1)
    [error] = errors_of(order)
    assert error["field"] == "total"
