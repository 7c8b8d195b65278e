"""Signed submissions (issue 16): suppliers sign with eth_account as any outside supplier would, the
server recomputes the signed root, recovers the signer and checks the party's keys; nothing is stored
when a signature is refused."""

import copy
import json
import shutil
import subprocess

import pytest
from eth_account import Account
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from eth_utils import keccak
from web3 import Web3
from eth_account.messages import encode_typed_data
from support import ROOT
from support.servers import free_loopback_port

from service.cli import main
from test_epcis_capture import finished_job

from service.demo.supply_chain import supply_chain
from service.ingest.validation.transactions import ORDER_EXAMPLE
from signing import document_hashes, ledger_domain, register, sign, signature_header, transaction_hashes
from service.hashing import hash_document
from service.hashing.typed_data import signing_key, submission_tree
from service.verify.bundle import check_bundle

HEADER = "TraceAnchor-Signature"


def events_of_party(api, who: str) -> int:
    return len(api.client.get("/v1/events", params={"perPage": 1000}, headers=api.as_(who)).json()["events"])


def refused(response, reason: str) -> None:
    assert response.status_code == 422, response.json()
    assert HEADER in response.text and reason in response.text, response.text


def test_a_document_signed_by_a_registered_key_is_stored(api):
    key = register(api, "farm")
    document = supply_chain(run=601)["documents"]["farm"]
    response = api.client.post("/v1/events", json=document, headers={
        **api.as_("farm"), **signature_header(api, key, document_hashes(document), party="farm")})
    assert response.status_code == 201, response.json()
    assert len(response.json()["events"]) == 3


def test_a_transaction_list_signed_by_its_seller_is_stored(api):
    key = register(api, "processor")
    transactions = [ORDER_EXAMPLE | {"id": "PO-signed-1"}, ORDER_EXAMPLE | {"id": "PO-signed-2"}]
    response = api.client.post("/v1/transactions", json=transactions, headers={
        **api.as_("processor"), **signature_header(api, key, transaction_hashes(transactions), party="processor")})
    assert response.status_code == 201, response.json()


def test_a_tampered_header_is_refused_and_nothing_is_stored(api):
    key = register(api, "farm")
    document = supply_chain(run=602)["documents"]["farm"]
    header = signature_header(api, key, document_hashes(document), party="farm")[HEADER]
    tampered = header[:10] + ("0" if header[10] != "0" else "1") + header[11:]
    refused(api.client.post("/v1/events", json=document, headers={**api.as_("farm"), HEADER: tampered}), "")
    refused(api.client.post("/v1/events", json=document, headers={**api.as_("farm"), HEADER: "0x1234"}), "65 bytes")
    assert events_of_party(api, "farm") == 0


def test_a_key_of_another_party_is_refused(api):
    processor_key = register(api, "processor")
    document = supply_chain(run=603)["documents"]["farm"]
    as_farm = signature_header(api, processor_key, document_hashes(document), party="farm")
    refused(api.client.post("/v1/events", json=document, headers={**api.as_("farm"), **as_farm}), "no signing key of farm")
    as_processor = signature_header(api, processor_key, document_hashes(document), party="processor")
    refused(api.client.post("/v1/events", json=document, headers={**api.as_("farm"), **as_processor}), "no signing key of farm")
    assert events_of_party(api, "farm") == 0


def test_a_revoked_key_is_refused(api):
    key = register(api, "farm")
    revoked = api.client.delete(f"/v1/parties/farm/signing-keys/{key.address}", headers=api.as_("farm"))
    assert revoked.status_code == 200 and revoked.json()["revokedAt"] is not None
    document = supply_chain(run=604)["documents"]["farm"]
    refused(api.client.post("/v1/events", json=document, headers={
        **api.as_("farm"), **signature_header(api, key, document_hashes(document), party="farm")}), "revoked")
    assert events_of_party(api, "farm") == 0
    listed = api.client.get("/v1/parties/farm/signing-keys", headers=api.as_("farm")).json()["signingKeys"]
    assert [(item["address"], item["revokedAt"] is not None) for item in listed] == [(key.address, True)]


def test_a_reordered_document_is_refused(api):
    key = register(api, "farm")
    document = supply_chain(run=605)["documents"]["farm"]
    header = signature_header(api, key, document_hashes(document), party="farm")
    reordered = copy.deepcopy(document)
    reordered["epcisBody"]["eventList"].reverse()
    refused(api.client.post("/v1/events", json=reordered, headers={**api.as_("farm"), **header}), "no signing key of farm")
    assert events_of_party(api, "farm") == 0


def test_a_signature_replayed_on_another_document_is_refused(api):
    key = register(api, "farm")
    signed = supply_chain(run=606)["documents"]["farm"]
    header = signature_header(api, key, document_hashes(signed), party="farm")
    assert api.client.post("/v1/events", json=signed, headers={**api.as_("farm"), **header}).status_code == 201
    other = supply_chain(run=607)["documents"]["farm"]
    refused(api.client.post("/v1/events", json=other, headers={**api.as_("farm"), **header}), "no signing key of farm")
    assert events_of_party(api, "farm") == 3


def test_a_single_epcis_event_can_be_signed(api):
    key = register(api, "farm")
    event = {"@context": supply_chain(run=608)["documents"]["farm"]["@context"],
             **supply_chain(run=608)["documents"]["farm"]["epcisBody"]["eventList"][0]}
    header = signature_header(api, key, document_hashes(event), party="farm")
    assert api.client.post("/epcis/events", json=event, headers={**api.as_("farm"), **header}).status_code == 201
    event2 = {"@context": event["@context"], **supply_chain(run=609)["documents"]["farm"]["epcisBody"]["eventList"][0]}
    response = api.client.post("/epcis/events", json=event2, headers={**api.as_("farm"), **header})
    assert response.status_code == 400 and HEADER in response.json()["detail"]  # an RFC 7807 ValidationException under /epcis


def test_registering_needs_the_keys_own_signature_and_the_partys_or_an_admins_key(api):
    account, other = Account.create(), Account.create()
    wrong = sign(other, signing_key(ledger_domain(api), party="farm", key=account.address))
    response = api.client.post("/v1/parties/farm/signing-keys", json={"address": account.address, "signature": wrong},
                               headers=api.as_("farm"))
    assert response.status_code == 422 and response.json()["field"] == "signature"
    right = sign(account, signing_key(ledger_domain(api), party="farm", key=account.address))
    body = {"address": account.address, "signature": right}
    assert api.client.post("/v1/parties/farm/signing-keys", json=body, headers=api.as_("processor")).status_code == 403
    assert api.client.post("/v1/parties/farm/signing-keys", json=body, headers=api.as_("admin")).status_code == 201
    assert api.client.post("/v1/parties/farm/signing-keys", json=body, headers=api.as_("farm")).status_code == 200


def signed_bundle(api, run: int) -> tuple[dict, object]:
    key = register(api, "farm")
    document = supply_chain(run=run)["documents"]["farm"]
    events = api.client.post("/v1/events", json=document, headers={
        **api.as_("farm"), **signature_header(api, key, document_hashes(document), party="farm")}).json()["events"]
    assert api.client.post("/v1/anchors", headers=api.as_("admin")).json()["anchored"]
    bundle = api.client.get(f"/v1/events/{events[1]['id']}/proof", headers=api.as_("auditor")).json()
    return bundle, key


def test_a_signed_records_bundle_carries_its_submission_and_checks(api):
    bundle, key = signed_bundle(api, 610)
    part = bundle["submission"]
    assert part["signer"] == key.address and part["typed_data"]["message"]["party"] == "farm"
    assert part["key_registration"]["record"]["key"] == key.address and "key_revocation" not in part
    check = check_bundle(bundle, w3=api.ledger.chain.w3)
    names = {name for name, ok, _ in check.checks if ok}
    assert check.valid and {"submission_signature", "submission_inclusion", "signer_registered"} <= names, check.lines()


def test_a_signed_records_bundle_still_checks_after_another_signed_record_is_deleted(api):
    """The leaves of a signed root are kept with the signature: deleting one record (an operator losing
    it) leaves the others' submission proofs whole."""
    document = supply_chain(run=612)["documents"]["farm"]
    key = register(api, "farm")
    events = api.client.post("/v1/events", json=document,
                             headers={**api.as_("farm"), **signature_header(api, key, document_hashes(document), party="farm")}).json()["events"]
    with api.ledger.engine.begin() as connection:
        connection.exec_driver_sql(f"DELETE FROM record WHERE id = {events[-1]['id']}")
    assert api.client.post("/v1/anchors", headers=api.as_("admin")).json()["anchored"]
    response = api.client.get(f"/v1/events/{events[0]['id']}/proof", headers=api.as_("auditor"))
    assert response.status_code == 200, response.text
    check = check_bundle(response.json(), w3=api.ledger.chain.w3)
    assert check.valid and "submission_inclusion" in {name for name, ok, _ in check.checks if ok}, check.lines()


def test_an_unsigned_records_bundle_has_no_submission(api):
    document = supply_chain(run=611)["documents"]["farm"]
    event = api.client.post("/v1/events", json=document, headers=api.as_("farm")).json()["events"][0]
    api.client.post("/v1/anchors", headers=api.as_("admin"))
    assert "submission" not in api.client.get(f"/v1/events/{event['id']}/proof", headers=api.as_("auditor")).json()


def test_a_key_revoked_after_signing_still_proves_what_it_signed(api):
    bundle, key = signed_bundle(api, 612)
    api.client.delete(f"/v1/parties/farm/signing-keys/{key.address}", headers=api.as_("farm"))
    api.client.post("/v1/anchors", headers=api.as_("admin"))
    again = api.client.get("/v1/events", params={"perPage": 10}, headers=api.as_("farm")).json()["events"]
    event_id = next(item["id"] for item in again if item["event_hash_id"] == bundle["event_hash_id"])
    revoked = api.client.get(f"/v1/events/{event_id}/proof", headers=api.as_("auditor")).json()
    assert revoked["submission"]["key_revocation"]["record"]["key"] == key.address
    check = check_bundle(revoked, w3=api.ledger.chain.w3)
    assert check.valid and ("signer_not_revoked", True) in [(name, ok) for name, ok, _ in check.checks], check.lines()


@pytest.mark.parametrize("doctor, failing", [
    (lambda part, other: part.update(signature=sign(other, part["typed_data"])), "submission_signature"),
    (lambda part, other: part.update(signer=other.address), "submission_signature"),
    (lambda part, other: part["typed_data"]["message"].update(party="processor"), "submission_signature"),
    (lambda part, other: part.update(proof=part["proof"][::-1] or ["0x" + "00" * 32]), "submission_inclusion"),
    (lambda part, other: part["key_registration"]["record"].update(key=other.address), "signer_registered"),
])
def test_a_doctored_submission_fails_traceanchor_verify_naming_the_check(api, tmp_path, capsys, doctor, failing):
    bundle, _ = signed_bundle(api, 613)
    doctor(bundle["submission"], Account.create())
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    capsys.readouterr()
    assert main(["verify", str(path), "--rpc", f"http://127.0.0.1:{free_loopback_port()}"]) == 1
    printed = capsys.readouterr().out
    assert f"FAIL {failing}" in printed and printed.strip().endswith("INVALID"), printed


def openzeppelin_check(bundle: dict, hashes: list[str]) -> dict:
    """tests/js/submission_check.mjs: the submission part checked with @openzeppelin/merkle-tree alone."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the OpenZeppelin interop test needs Node.js")
    completed = subprocess.run([node, str(ROOT / "tests" / "js" / "submission_check.mjs")],
                               input=json.dumps({"bundle": bundle, "hashes": hashes}), capture_output=True, text=True,
                               cwd=ROOT, timeout=120, check=True)
    return json.loads(completed.stdout)


def test_openzeppelins_merkle_library_and_eth_account_check_the_submission_without_traceanchor(api):
    bundle, key = signed_bundle(api, 614)
    document = supply_chain(run=614)["documents"]["farm"]
    hashes = ["0x" + digest.hex() for digest in document_hashes(document)]
    answer = openzeppelin_check(bundle, hashes)
    part = bundle["submission"]
    assert answer == {"included": True, "rebuiltRoot": part["typed_data"]["message"]["root"]}
    signed = encode_typed_data(full_message=part["typed_data"])
    assert Account.recover_message(signed, signature=part["signature"]) == part["signer"] == key.address
    registration = part["key_registration"]["record"]
    proof_of_possession = encode_typed_data(full_message={
        "types": {"EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                                   {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
                  "SigningKey": [{"name": "party", "type": "string"}, {"name": "key", "type": "address"}]},
        "primaryType": "SigningKey",
        "domain": {"name": "traceanchor", "version": "1", "chainId": registration["chain_id"],
                   "verifyingContract": registration["contract"]},
        "message": {"party": "farm", "key": key.address}})
    assert Account.recover_message(proof_of_possession, signature=registration["signature"]) == key.address
    other = json.loads(json.dumps(bundle))
    other["content_hash"] = hashes[0] if other["content_hash"] != hashes[0] else hashes[1]
    assert not openzeppelin_check(other, hashes)["included"]


def test_traceanchor_sign_prints_the_header_the_service_accepts(api, tmp_path, capsys):
    key = register(api, "farm")
    key_file = tmp_path / "farm.key"
    key_file.write_text("0x" + key.key.hex().removeprefix("0x") + "\n")
    document = supply_chain(run=615)["documents"]["farm"]
    (tmp_path / "document.json").write_text(json.dumps(document))
    capsys.readouterr()
    assert main(["sign", str(tmp_path / "document.json"), "--key-file", str(key_file), "--party", "farm",
                 "--chain-id", str(api.ledger.chain.chain_id), "--contract", api.ledger.chain.address]) == 0
    header = capsys.readouterr().out.strip()
    assert header == signature_header(api, key, document_hashes(document), party="farm")[HEADER]
    assert api.client.post("/v1/events", json=document, headers={**api.as_("farm"), HEADER: header}).status_code == 201


def test_the_readmes_plain_eth_account_signer_gives_the_header_the_service_accepts(api, capsys):
    key = register(api, "farm")
    document = supply_chain(run=616)["documents"]["farm"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    snippet = readme.split("### Signed submissions", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    capsys.readouterr()
    exec(snippet, {"EVENT_HASH_IDS": hash_document(document), "CHAIN_ID": api.ledger.chain.chain_id,
                   "CONTRACT": api.ledger.chain.address, "PARTY": "farm", "PRIVATE_KEY": key.key})
    header = capsys.readouterr().out.strip()
    assert header == signature_header(api, key, document_hashes(document), party="farm")[HEADER]
    assert api.client.post("/v1/events", json=document, headers={**api.as_("farm"), HEADER: header}).status_code == 201


def test_a_signed_capture_job_is_checked_at_acceptance_and_its_records_carry_the_signature(api):
    key = register(api, "farm")
    document = supply_chain(run=617)["documents"]["farm"]
    header = signature_header(api, key, document_hashes(document), party="farm")
    other = supply_chain(run=618)["documents"]["farm"]
    refused = api.client.post("/epcis/capture", json=other, headers={**api.as_("farm"), **header})
    assert refused.status_code == 400 and HEADER in refused.json()["detail"]
    proceed = api.client.post("/epcis/capture", json=document, headers={
        **api.as_("farm"), **header, "GS1-Capture-Error-Behaviour": "proceed"})
    assert proceed.status_code == 400 and "GS1-Capture-Error-Behaviour" in proceed.json()["detail"]
    accepted = api.client.post("/epcis/capture", json=document, headers={**api.as_("farm"), **header})
    assert accepted.status_code == 202, accepted.json()
    job = finished_job(api, accepted.headers["Location"])
    assert job["success"], job
    api.client.post("/v1/anchors", headers=api.as_("admin"))
    events = api.client.get("/v1/events", params={"perPage": 10}, headers=api.as_("farm")).json()["events"]
    assert len(events) == 3
    bundle = api.client.get(f"/v1/events/{events[2]['id']}/proof", headers=api.as_("auditor")).json()
    assert bundle["submission"]["signer"] == key.address and check_bundle(bundle, w3=api.ledger.chain.w3).valid


def test_with_signatures_required_an_unsigned_submission_is_refused_and_nothing_stored(api):
    assert api.client.get("/v1/parties/farm/signature-policy", headers=api.as_("farm")).json()["signatures"] == "optional"
    assert api.client.put("/v1/parties/farm/signature-policy", json={"signatures": "required"},
                          headers=api.as_("processor")).status_code == 403
    assert api.client.put("/v1/parties/farm/signature-policy", json={"signatures": "always"},
                          headers=api.as_("farm")).status_code == 422
    set_ = api.client.put("/v1/parties/farm/signature-policy", json={"signatures": "required"}, headers=api.as_("farm"))
    assert set_.status_code == 200 and set_.json() == {"party": "farm", "signatures": "required"}
    key = register(api, "farm")  # registering keys is not itself refused
    document = supply_chain(run=619)["documents"]["farm"]
    refused(api.client.post("/v1/events", json=document, headers=api.as_("farm")), "requires its submissions signed")
    job = api.client.post("/epcis/capture", json=document, headers=api.as_("farm"))
    assert job.status_code == 400 and HEADER in job.json()["detail"]
    assert events_of_party(api, "farm") == 0
    assert api.client.post("/v1/events", json=document, headers={
        **api.as_("farm"), **signature_header(api, key, document_hashes(document), party="farm")}).status_code == 201
    assert api.client.post("/v1/events", json=supply_chain(run=619)["documents"]["processor"],
                           headers=api.as_("processor")).status_code == 201  # another party's policy is its own
    api.client.put("/v1/parties/farm/signature-policy", json={"signatures": "optional"}, headers=api.as_("admin"))
    assert api.client.post("/v1/events", json=supply_chain(run=620)["documents"]["farm"], headers=api.as_("farm")).status_code == 201


JUNK = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text(max_size=70),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3), max_leaves=8)


@pytest.fixture
def submission_bundle(api) -> dict:
    bundle, _ = signed_bundle(api, 621)
    return bundle


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from([("signature",), ("signer",), ("proof",), ("received_at",), ("typed_data",),
                             ("typed_data", "message", "count"), ("typed_data", "message", "root"),
                             ("typed_data", "domain", "verifyingContract"), ("typed_data", "primaryType"),
                             ("typed_data", "types"), ("key_registration", "record", "signature"),
                             ("key_registration", "record"), ("key_registration",)]), junk=JUNK)
def test_any_doctored_submission_field_is_a_failed_check_never_a_crash(api, submission_bundle, path, junk):
    bundle = json.loads(json.dumps(submission_bundle))
    target = bundle["submission"]
    for name in path[:-1]:
        target = target[name]
    assume(target[path[-1]] != junk)
    target[path[-1]] = junk
    check = check_bundle(bundle, w3=Web3(Web3.HTTPProvider(f"http://127.0.0.1:{free_loopback_port()}")))
    assert check.verdict == "invalid", check.lines()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13])
def test_submission_roots_and_proofs_are_openzeppelins_with_sort_leaves_false(size):
    hashes = [keccak(text=f"record {size}.{i}") for i in range(size)]
    tree = submission_tree(hashes)
    position = size // 2
    claim = {"content_hash": "0x" + hashes[position].hex(), "submission": {
        "typed_data": {"message": {"root": "0x" + tree.root.hex()}}, "proof": ["0x" + node.hex() for node in tree.proof(position)]}}
    assert openzeppelin_check(claim, ["0x" + digest.hex() for digest in hashes]) == {"included": True, "rebuiltRoot": "0x" + tree.root.hex()}
    if size > 2:  # a record moved to another place changes the root; swaps of sibling subtrees do not (docs/proof-bundle.md)
        assert submission_tree(hashes[1:] + hashes[:1]).root != tree.root
