"""Signed submissions (issue 16): suppliers sign with eth_account as any outside supplier would, the
server recomputes the signed root, recovers the signer and checks the party's keys; nothing is stored
when a signature is refused."""

import copy

from eth_account import Account

from service.demo.supply_chain import supply_chain
from service.ingest.validation.transactions import ORDER_EXAMPLE
from signing import document_hashes, ledger_domain, register, sign, signature_header, transaction_hashes
from service.hashing.typed_data import signing_key

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
