"""The demo's non-repudiation step: the farm signs a submission with its own key, as any supplier's
wallet would (eth_account, EIP-712), the operator answers a signed receipt, and the auditor checks
who said what and that the receipt was honoured, with the chain and nothing of traceanchor's word."""

import json
import time
from datetime import UTC, datetime
from typing import Protocol

from eth_account import Account
from eth_account.messages import encode_typed_data
from web3 import Web3

from service.hashing.typed_data import domain, signing_key
from service.ingest.capture import prepare_body
from service.ingest.validation.signatures import submission_message
from service.verify.bundle import check_bundle
from service.verify.receipt_check import ReceiptVerdict, check_receipt


MAX_WAIT_SECONDS = 15.0  # the longest the demo waits for a receipt's anchorBy to pass (its own server: a few seconds)


class Demo(Protocol):
    w3: Web3 | None

    def call(self, method: str, path: str, *, who: dict, expect: int | tuple = (200, 201), **kwargs) -> dict: ...

    def check(self, condition: bool, message: str) -> None: ...

    def anchor_all(self) -> None: ...

    def edit_database(self, statement: str, **params) -> None: ...


def sign_and_receipt(demo: Demo, *, farm: dict, auditor: dict, document: dict, dropped: dict) -> None:
    """Register a farm key, require signatures, submit ``document`` signed, then check the bundles and
    the receipt; then submit ``dropped`` signed, have the operator lose one of its records before
    anchoring, and show the receipt proving it."""
    chain = demo.call("GET", "/v1/health", who={})["chain"]
    typed_domain = domain(chain["chain_id"], chain["contract"])
    account = Account.create()
    possession = _sign(account, signing_key(typed_domain, party="farm", key=account.address))
    demo.call("POST", "/v1/parties/farm/signing-keys", who=farm, json={"address": account.address, "signature": possession})
    demo.call("PUT", "/v1/parties/farm/signature-policy", who=farm, json={"signatures": "required"})
    print(f"   the farm registers key {account.address} and requires signatures on its submissions")
    try:
        refused = demo.call("POST", "/v1/events", who=farm, json=document, expect=422)
        print(f"   unsigned: refused, {refused['detail']}")
        answer = demo.call("POST", "/v1/events", who={**farm, "TraceAnchor-Signature": _signed(account, document, typed_domain)},
                           json=document)
        later = demo.call("POST", "/v1/events", who={**farm, "TraceAnchor-Signature": _signed(account, dropped, typed_domain)},
                          json=dropped)
        _check(demo, farm=farm, auditor=auditor, answer=answer, later=later, signer=account.address)
    finally:
        demo.call("PUT", "/v1/parties/farm/signature-policy", who=farm, json={"signatures": "optional"})


def _check(demo: Demo, *, farm: dict, auditor: dict, answer: dict, later: dict, signer: str) -> None:
    """The first submission's bundles name the signer and its receipt was honoured; the second's shows the loss."""
    lost = later["events"][0]
    demo.edit_database("DELETE FROM record WHERE id = :id", id=lost["id"])  # the operator loses it before anchoring
    receipt = answer["receipt"]
    message = receipt["typed_data"]["message"]
    anchor_by = datetime.fromtimestamp(int(message["anchorBy"]), UTC).isoformat(timespec="seconds")
    print(f"   signed: {len(answer['events'])} events stored; receipt signed by the operator's {receipt['signer']}, "
          f"anchor by {anchor_by}")
    demo.anchor_all()
    bundles = [demo.call("GET", f"/v1/events/{event['id']}/proof", who=auditor) for event in answer["events"]]
    signers = {bundle["submission"]["signer"] for bundle in bundles}
    print(f"   each proof bundle names the signer: {', '.join(sorted(signers))}")
    demo.check(signers == {signer}, "the bundles should name the farm's key as signer")
    if demo.w3 is None:
        print("   (the server's chain is embedded in it: set TRACEANCHOR_CHAIN_URL to check signatures and receipts from outside)")
        return
    checked = check_bundle(bundles[0], w3=demo.w3)
    print(f"   auditor, first bundle: {'valid' if checked.valid else 'INVALID'} (anchoring proof, signature, key registered for the farm)")
    demo.check(checked.valid, "the signed bundle should check on chain")
    honoured = check_receipt(receipt, w3=demo.w3, bundles=bundles)
    print(f"   receipt and its {len(bundles)} bundles: {honoured.receipt_verdict} "
          f"({len(honoured.in_time)} anchored by anchorBy, {len(honoured.missing)} missing)")
    demo.check(honoured.receipt_verdict == ReceiptVerdict.IN_TIME, "the receipt's records should be anchored in time")
    _show_dropped(demo, farm=farm, auditor=auditor, answer=later, lost=lost)


def _show_dropped(demo: Demo, *, farm: dict, auditor: dict, answer: dict, lost: dict) -> None:
    """The second submission's receipt, once its anchorBy has passed: the record the operator lost is missing."""
    receipt = answer["receipt"]
    wait = receipt["typed_data"]["message"]["anchorBy"] + 1 - time.time()
    print(f"   the operator drops record {lost['id']} of a second signed submission before anchoring it")
    if wait > MAX_WAIT_SECONDS:
        print(f"   (this server promises anchoring within {wait:.0f} s: check that receipt with traceanchor verify-receipt then)")
        return
    time.sleep(max(0.0, wait))
    demo.call("PUT", "/v1/parties/farm/signature-policy", who=farm, json={"signatures": "optional"})
    demo.anchor_all()  # the farm's policy record, in a block after anchorBy: the chain's clock has passed the promise
    kept = [demo.call("GET", f"/v1/events/{event['id']}/proof", who=auditor) for event in answer["events"] if event["id"] != lost["id"]]
    found = check_receipt(receipt, w3=demo.w3, bundles=kept)
    print(f"   its receipt and the {len(kept)} bundles left: {found.receipt_verdict} ({len(found.missing)} missing, "
          f"{len(found.late)} anchored after anchorBy): the operator received the record and did not anchor it")
    demo.check(found.receipt_verdict == ReceiptVerdict.MISSING and len(found.missing) == 1,
               "the receipt should prove the dropped record missing")


def _signed(account, document: dict, typed_domain: dict) -> str:
    """The TraceAnchor-Signature of ``document``: its records prepared as capture prepares them."""
    candidates = prepare_body(json.dumps(document).encode(), max_events=len(document["epcisBody"]["eventList"])).candidates
    return _sign(account, submission_message(candidates, party="farm", domain=typed_domain))


def _sign(account, message: dict) -> str:
    return "0x" + account.sign_message(encode_typed_data(full_message=message)).signature.hex().removeprefix("0x")
