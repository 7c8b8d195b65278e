"""Receipts (issue 16): the operator's signed promise to anchor a submission by anchorBy, checked
against the chain and the records' proof bundles, and held against the operator by the audit."""

import copy
import time

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from sqlalchemy import text

from service.demo.supply_chain import supply_chain
from service.hashing.typed_data import submission_root
from service.models import Record
from service.verify.receipt_audit import ReceiptAuditStatus, audit_receipts
from service.verify.receipt_check import ReceiptVerdict, check_receipt


def capture(api, run: int) -> dict:
    response = api.client.post("/v1/events", json=supply_chain(run=run)["documents"]["farm"], headers=api.as_("farm"))
    assert response.status_code == 201, response.text
    return response.json()


def bundles_of(api, answer: dict) -> list[dict]:
    return [api.client.get(f"/v1/events/{event['id']}/proof", headers=api.as_("farm")).json() for event in answer["events"]]


def delete_record(ledger, record_id: int) -> None:
    """The operator failing its promise: a received record gone before it was batched."""
    with ledger.engine.begin() as connection:
        for statement in ("DELETE FROM record_term WHERE record_id = :id", "DELETE FROM record_leaf WHERE record_id = :id",
                          "DELETE FROM record_source WHERE record_id = :id", "DELETE FROM record WHERE id = :id"):
            connection.execute(text(statement), {"id": record_id})


def test_the_receipt_is_signed_by_the_anchoring_account_over_the_submission(api):
    before = int(time.time())
    answer = capture(api, run=71)
    receipt, chain = answer["receipt"], api.ledger.chain
    typed = receipt["typed_data"]
    signer = Account.recover_message(encode_typed_data(full_message=typed), signature=receipt["signature"])
    assert signer == receipt["signer"] == chain.sender
    with api.ledger.session() as session:
        stored = [session.get(Record, event["id"]).content_hash for event in answer["events"]]
    assert receipt["content_hashes"] == stored
    message = typed["message"]
    assert message["root"] == "0x" + submission_root([bytes.fromhex(h[2:]) for h in receipt["content_hashes"]]).hex()
    assert (message["party"], message["count"]) == ("farm", len(answer["events"]))
    assert before <= message["receivedAt"] <= int(time.time())
    settings = api.ledger.settings
    assert message["anchorBy"] - message["receivedAt"] == int(settings.batch_age + settings.receipt_margin)
    assert typed["domain"] == {"name": "traceanchor", "version": "1", "chainId": chain.chain_id, "verifyingContract": chain.address}


def test_transactions_get_a_receipt_too(api):
    from support.records import payment

    response = api.client.post("/v1/transactions", json=[payment(1), payment(2)], headers=api.as_("processor"))
    assert response.status_code == 201, response.text
    receipt = response.json()["receipt"]
    assert receipt["typed_data"]["message"]["count"] == 2 and receipt["typed_data"]["message"]["party"] == "processor"
    assert check_receipt(receipt, w3=api.ledger.chain.w3).receipt_verdict == ReceiptVerdict.IN_TIME


def test_an_anchored_submission_was_anchored_in_time(api):
    answer = capture(api, run=72)
    api.ledger.anchoring.anchor_now()
    result = check_receipt(answer["receipt"], w3=api.ledger.chain.w3, bundles=bundles_of(api, answer))
    assert result.receipt_verdict == ReceiptVerdict.IN_TIME, result.lines()
    assert len(result.in_time) == len(answer["events"]) and not result.late and not result.missing
    with api.ledger.session() as session:
        assert list(audit_receipts(session, now=int(time.time()) + 10**6)) == []


def test_a_record_the_operator_dropped_is_missing_after_anchor_by(api):
    ledger = api.ledger
    ledger.settings.batch_age, ledger.settings.receipt_margin = 0.01, 0  # anchorBy = receivedAt + 1 s
    answer = capture(api, run=73)
    dropped = answer["events"][1]
    delete_record(ledger, dropped["id"])
    receipt = answer["receipt"]
    anchor_by = receipt["typed_data"]["message"]["anchorBy"]
    early = check_receipt(receipt, w3=ledger.chain.w3, bundles=[])
    assert early.receipt_verdict == ReceiptVerdict.NOT_DUE, early.lines()
    while time.time() <= anchor_by + 1:
        time.sleep(0.2)
    ledger.anchoring.anchor_now()
    kept = [event for event in answer["events"] if event["id"] != dropped["id"]]
    result = check_receipt(receipt, w3=ledger.chain.w3, bundles=bundles_of(api, {"events": kept}))
    assert result.receipt_verdict == ReceiptVerdict.MISSING, result.lines()
    assert result.missing == [receipt["content_hashes"][1]]
    with ledger.session() as session:
        [found] = audit_receipts(session, now=int(time.time()))
    assert (found.status, found.missing, found.party) == (ReceiptAuditStatus.MISSING, [dropped["id"]], "farm")


@pytest.mark.parametrize("doctor", ["anchorBy", "party", "signature", "signer", "content_hashes", "type"])
def test_a_doctored_receipt_fails(api, doctor):
    receipt = copy.deepcopy(capture(api, run=74)["receipt"])
    message = receipt["typed_data"]["message"]
    if doctor == "anchorBy":
        message["anchorBy"] += 86400
    elif doctor == "party":
        message["party"] = "processor"
    elif doctor == "signature":
        receipt["signature"] = receipt["signature"][:-4] + ("1b" if receipt["signature"][-2:] != "1b" else "1c") + "00"
    elif doctor == "signer":
        outsider = Account.create()
        receipt["signer"] = outsider.address
        receipt["signature"] = outsider.sign_typed_data(full_message=receipt["typed_data"]).signature.hex()
    elif doctor == "content_hashes":
        receipt["content_hashes"] = receipt["content_hashes"][:-1]
    else:
        receipt["typed_data"]["types"]["Receipt"] = receipt["typed_data"]["types"]["Receipt"][:-1]
    result = check_receipt(receipt, w3=api.ledger.chain.w3)
    assert result.receipt_verdict == ReceiptVerdict.INVALID, result.lines()
