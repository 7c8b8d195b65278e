"""An outside supplier's signing, with eth_account and the published typed data only (README, Signed submissions)."""

from eth_account import Account
from eth_account.messages import encode_typed_data

from service.hashing import content_hash, events_of
from service.hashing.typed_data import domain, signing_key, submission, submission_root


def ledger_domain(api) -> dict:
    return domain(api.ledger.chain.chain_id, api.ledger.chain.address)


def sign(account, message: dict) -> str:
    return "0x" + account.sign_message(encode_typed_data(full_message=message)).signature.hex().removeprefix("0x")


def register(api, who: str, account=None, *, party: str | None = None):
    """Register a new (or the given) key for ``party`` (default ``who``) with its proof of possession."""
    account = account or Account.create()
    party = party or who
    proof = sign(account, signing_key(ledger_domain(api), party=party, key=account.address))
    response = api.client.post(f"/v1/parties/{party}/signing-keys", json={"address": account.address, "signature": proof},
                               headers=api.as_(who))
    assert response.status_code == 201, response.json()
    return account


def document_hashes(document: dict) -> list[bytes]:
    return [content_hash(kind="epcis_event", body=event) for event in events_of(document)]


def transaction_hashes(transactions: list[dict]) -> list[bytes]:
    return [content_hash(kind="transaction", body=item) for item in transactions]


def signature_header(api, account, hashes: list[bytes], *, party: str) -> dict[str, str]:
    message = submission(ledger_domain(api), party=party, root=submission_root(hashes), count=len(hashes))
    return {"TraceAnchor-Signature": sign(account, message)}
