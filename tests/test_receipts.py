"""Receipts (issue 16): the operator's signed promise to anchor a submission by anchorBy, checked
against the chain and the records' proof bundles, and held against the operator by the audit."""

import copy
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from sqlalchemy import text
from support.servers import anvil_node
from sqlmodel import select

from service.demo.supply_chain import supply_chain
from service.anchor.receipts import receipt_digest, receipt_typed_data
from service.hashing.typed_data import domain, submission_root
from service.models import Record
from service.verify.receipt_audit import ReceiptAuditStatus, audit_receipts
from service.verify.receipt_check import ReceiptVerdict, check_receipt

OPERATOR = Account.from_key(b"\x07" * 32)  # any key: the property is about EIP-712, not the ledger


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


def test_a_document_of_no_events_gets_no_receipt(api):
    document = supply_chain(run=79)["documents"]["farm"]
    document["epcisBody"]["eventList"] = []
    response = api.client.post("/v1/events", json=document, headers=api.as_("farm"))
    assert response.status_code == 200 and response.json() == {"events": [], "receipt": None}


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


@pytest.mark.parametrize("doctor", ["anchorBy", "party", "signature", "garbage", "signer", "content_hashes", "type"])
def test_a_doctored_receipt_fails(api, doctor):
    receipt = copy.deepcopy(capture(api, run=74)["receipt"])
    message = receipt["typed_data"]["message"]
    if doctor == "anchorBy":
        message["anchorBy"] += 86400
    elif doctor == "party":
        message["party"] = "processor"
    elif doctor == "signature":
        receipt["signature"] = receipt["signature"][:-4] + ("1b" if receipt["signature"][-2:] != "1b" else "1c") + "00"
    elif doctor == "garbage":
        receipt["signature"] = "0x" + "00" * 65
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


@pytest.fixture
def anvil_url():
    """An anvil node of this module's own: the session's shared node is reverted to snapshots by the
    reorg tests, which can leave its clock behind the wall clock, and a receipt's anchorBy (the server's
    clock) is judged against block times."""
    with anvil_node() as (url, _process):
        yield url


@pytest.mark.anvil
def test_on_anvil_the_node_signs_and_the_command_line_tells_in_time_and_missing(anvil_url, tmp_path, monkeypatch, capsys):
    """No private key: the node's unlocked account signs receipts (eth_signTypedData_v4); then
    `verify-receipt` and `audit` on the command line, as an auditor runs them."""
    from fastapi.testclient import TestClient

    from api_helpers import STANDARD_KEYS, Api
    from service.api.app import create_app
    from service.cli import EXIT_FINDINGS, EXIT_MISSING, EXIT_OK, main
    from service.db import migrate
    from service.runtime import Runtime
    from service.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", chain_url=anvil_url, batch_age=0.01, receipt_margin=60, capture_processes=0,
                        anchor_in_background=False, anchor_interval=0.1)
    migrate(settings)
    ledger = Runtime(settings)
    try:
        with TestClient(create_app(runtime=ledger)) as client:
            api = Api(client=client, ledger=ledger, headers={})
            for who, (role, party) in STANDARD_KEYS.items():
                api.key(who, role=role, party=party)
            kept = capture(api, run=75)
            assert kept["receipt"]["signer"] == ledger.chain.sender == ledger.chain.w3.eth.accounts[0]
            ledger.anchoring.anchor_now()
            settings.receipt_margin = 0  # anchorBy = receivedAt + 1 s: the rest of this submission is anchored late
            dropped = capture(api, run=76)
            delete_record(ledger, dropped["events"][0]["id"])
            while time.time() <= dropped["receipt"]["typed_data"]["message"]["anchorBy"] + 1:
                time.sleep(0.2)
            ledger.anchoring.anchor_now()
            for name, answer in (("kept", kept), ("dropped", dropped)):
                (tmp_path / f"{name}.json").write_text(json.dumps(answer))
                folder = tmp_path / f"{name}-bundles"
                folder.mkdir()
                for index, bundle in enumerate(bundles_of(api, {"events": answer["events"][name == "dropped":]})):
                    (folder / f"{index}.json").write_text(json.dumps(bundle))
    finally:
        ledger.close()
    capsys.readouterr()
    assert main(["verify-receipt", str(tmp_path / "kept.json"), "--rpc", anvil_url, "--bundles", str(tmp_path / "kept-bundles")]) == EXIT_OK
    assert capsys.readouterr().out.splitlines()[-1] == "IN TIME"
    assert main(["verify-receipt", str(tmp_path / "dropped.json"), "--rpc", anvil_url,
                 "--bundles", str(tmp_path / "dropped-bundles")]) == EXIT_MISSING
    printed = capsys.readouterr().out
    hashes = dropped["receipt"]["content_hashes"]
    assert f"missing: record {hashes[0]}" in printed and f"late: record {hashes[1]}" in printed and printed.splitlines()[-1] == "MISSING"
    for name, value in (("DATA_DIR", settings.data_dir), ("CHAIN_URL", anvil_url)):
        monkeypatch.setenv(f"TRACEANCHOR_{name}", str(value))
    monkeypatch.delenv("TRACEANCHOR_DATABASE_URL", raising=False)
    assert main(["audit"]) == EXIT_FINDINGS
    printed = capsys.readouterr().out
    assert f"records gone or changed: {dropped['events'][0]['id']}" in printed and "1 receipt not honoured" in printed
    assert f"records anchored late: {', '.join(str(event['id']) for event in dropped['events'][1:])}" in printed


def test_epcis_capture_answers_the_receipt_beside_the_event_and_a_capture_job_shows_its_own(api):
    """`POST /epcis/events`: the body is the standard's, the receipt in `TraceAnchor-Receipt`;
    `POST /epcis/capture`: the finished job shows the receipt of the events it stored."""
    import base64

    from test_epcis_capture import captured_job

    document = supply_chain(run=77)["documents"]["farm"]
    first, *rest = document["epcisBody"]["eventList"]
    response = api.client.post("/epcis/events", json={"@context": document["@context"], **first}, headers=api.as_("farm"))
    assert response.status_code == 201, response.text
    receipt = json.loads(base64.urlsafe_b64decode(response.headers["TraceAnchor-Receipt"]))
    assert "receipt" not in response.json() and receipt["typed_data"]["message"]["count"] == 1
    assert check_receipt(receipt, w3=api.ledger.chain.w3).receipt_verdict == ReceiptVerdict.IN_TIME
    job = captured_job(api, {**document, "epcisBody": {"eventList": rest}})
    assert job["success"] is True
    receipt = job["receipt"]
    assert receipt["typed_data"]["message"]["count"] == len(rest) and receipt["typed_data"]["message"]["party"] == "farm"
    api.ledger.anchoring.anchor_now()
    with api.ledger.session() as session:
        ids = session.exec(select(Record.id).where(Record.content_hash.in_(receipt["content_hashes"]))).all()
    bundles = [api.client.get(f"/v1/events/{record_id}/proof", headers=api.as_("farm")).json() for record_id in ids]
    assert check_receipt(receipt, w3=api.ledger.chain.w3, bundles=bundles).receipt_verdict == ReceiptVerdict.IN_TIME


def test_a_signed_submission_and_its_receipt_name_the_same_root_and_count(api):
    """Both sides sign the same submission: the supplier's Submission and the operator's Receipt
    share domain, party, root and count, so each is evidence about the other's records."""
    from signing import document_hashes, register, signature_header

    account = register(api, "farm")
    document = supply_chain(run=78)["documents"]["farm"]
    hashes = document_hashes(document)
    headers = {**api.as_("farm"), **signature_header(api, account, hashes, party="farm")}
    response = api.client.post("/v1/events", json=document, headers=headers)
    assert response.status_code == 201, response.text
    typed = response.json()["receipt"]["typed_data"]
    assert typed["message"]["root"] == "0x" + submission_root(hashes).hex() and typed["message"]["count"] == len(hashes)
    assert typed["domain"] == {"name": "traceanchor", "version": "1", "chainId": api.ledger.chain.chain_id,
                               "verifyingContract": api.ledger.chain.address}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(party=st.text(min_size=1, max_size=40), count=st.integers(1, 2**32 - 1), received_at=st.integers(0, 2**63),
       field=st.sampled_from(["party", "root", "count", "receivedAt", "anchorBy"]))
def test_the_receipt_digest_is_eip712s_and_any_change_to_a_signed_receipt_changes_its_signer(party, count, received_at, field):
    """The fast digest the service signs is EIP-712's, and the signature covers every field: changed,
    the receipt recovers another account than the operator's."""
    full = receipt_typed_data(domain(1, "0x" + "ab" * 20), party=party, root=b"\x01" * 32, count=count, received_at=received_at,
                              anchor_by=min(received_at + 630, 2**64 - 1))
    signable = encode_typed_data(full_message=full)
    assert receipt_digest(full) == keccak(b"\x19" + signable.version + signable.header + signable.body)
    signature = OPERATOR.sign_typed_data(full_message=full).signature
    assert Account.recover_message(encode_typed_data(full_message=full), signature=signature) == OPERATOR.address
    changed = copy.deepcopy(full)
    message = changed["message"]
    message[field] = (message[field] + "x" if field == "party" else "0x" + "02" * 32 if field == "root"
                      else message[field] - 1 if message[field] > 0 else 1)
    assert Account.recover_message(encode_typed_data(full_message=changed), signature=signature) != OPERATOR.address

