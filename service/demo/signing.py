"""The demo's non-repudiation step: the farm signs a submission with its own key, as any supplier's
wallet would (eth_account, EIP-712), the operator answers a signed receipt, and the auditor checks
who said what and that the receipt was honoured, with the chain and nothing of traceanchor's word."""

import json
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


class Demo(Protocol):
    w3: Web3 | None

    def call(self, method: str, path: str, *, who: dict, expect: int | tuple = (200, 201), **kwargs) -> dict: ...

    def check(self, condition: bool, message: str) -> None: ...

    def anchor_all(self) -> None: ...


def sign_and_receipt(demo: Demo, *, farm: dict, auditor: dict, document: dict) -> None:
    """Register a farm key, require signatures, submit signed, then check the bundles and the receipt."""
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
        candidates = prepare_body(json.dumps(document).encode(), max_events=len(document["epcisBody"]["eventList"])).candidates
        signature = _sign(account, submission_message(candidates, party="farm", domain=typed_domain))
        answer = demo.call("POST", "/v1/events", who={**farm, "TraceAnchor-Signature": signature}, json=document)
    finally:
        demo.call("PUT", "/v1/parties/farm/signature-policy", who=farm, json={"signatures": "optional"})
    receipt = answer["receipt"]
    message = receipt["typed_data"]["message"]
    anchor_by = datetime.fromtimestamp(int(message["anchorBy"]), UTC).isoformat(timespec="seconds")
    print(f"   signed: {len(answer['events'])} events stored; receipt signed by the operator's {receipt['signer']}, "
          f"anchor by {anchor_by}")
    demo.anchor_all()
    bundles = [demo.call("GET", f"/v1/events/{event['id']}/proof", who=auditor) for event in answer["events"]]
    signers = {bundle["submission"]["signer"] for bundle in bundles}
    print(f"   each proof bundle names the signer: {', '.join(sorted(signers))}")
    demo.check(signers == {account.address}, "the bundles should name the farm's key as signer")
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


def _sign(account, message: dict) -> str:
    return "0x" + account.sign_message(encode_typed_data(full_message=message)).signature.hex().removeprefix("0x")
