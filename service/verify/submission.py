"""Offline check of a signed record's ``submission`` (issue 16): who said it, without the service's word.

The supplier signed ``Submission(party, root, count)`` (EIP-712) over its whole submission; the bundle
shows the record's content hash is a leaf of that root, and carries the signing key's registration
(and revocation, if any) as proof bundles of their own, checked here against the chain like the
record itself: so the key history comes from what was anchored, and the registration's own
signature proves the key's holder registered it for that party. Like ``service.verify.bundle``, no
database and no settings.
"""

from collections.abc import Callable
from datetime import datetime

from service.hashing.merkle import leaf_hash, verify_proof
from service.hashing.typed_data import NAME, VERSION, domain, signer_of, signing_key
from service.verify.bundle_format import SUBMISSION_FIELDS

#: Checks a nested proof bundle (the key's registration or revocation): True, False, or None when the
#: chain could not be asked, and a detail.
CheckRecord = Callable[[dict], tuple[bool | None, str]]
Add = Callable[[str, bool | None, str], bool]


def check_submission(add: Add, part: object, *, content_hash: bytes, chain_id: int, check_record: CheckRecord) -> None:
    """Add the checks of a bundle's ``submission`` via ``add(name, ok, detail)``."""
    missing = [name for name in SUBMISSION_FIELDS if not isinstance(part, dict) or name not in part]
    if not add("submission_fields", not missing, f"missing: {', '.join(missing)}" if missing else "all present"):
        return
    try:
        typed = part["typed_data"]
        message = typed["message"]
        root = bytes.fromhex(message["root"].removeprefix("0x"))
        proof = [bytes.fromhex(node.removeprefix("0x")) for node in part["proof"]]
        received = datetime.fromisoformat(part["received_at"].replace("Z", "+00:00"))
        party, signer = message["party"], part["signer"]
        named = typed["domain"]
        domain_ok = (typed["primaryType"] == "Submission" and named["name"] == NAME and named["version"] == VERSION
                     and named["chainId"] == chain_id)
        recovered = signer_of(typed, part["signature"])
        included = verify_proof(root=root, leaf=leaf_hash(content_hash), proof=proof)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        add("submission_format", False, str(error))
        return
    add("submission_domain", domain_ok, f"Submission in domain {NAME}/{VERSION} on chain {chain_id}")
    add("submission_signature", recovered == signer, f"the signature recovers to {recovered}, the bundle names {signer}")
    add("submission_inclusion", included, f"proof of {len(proof)} nodes leads from the record to the signed root "
                                          f"of {message.get('count')} records")
    registered = _registration(part["key_registration"], party=party, signer=signer, received=received, check_record=check_record)
    add("signer_registered", *registered)
    if "key_revocation" in part:
        add("signer_not_revoked", *_revocation(part["key_revocation"], party=party, signer=signer, received=received,
                                                check_record=check_record))


def _registration(bundle: object, *, party: str, signer: str, received: datetime,
                  check_record: CheckRecord) -> tuple[bool | None, str]:
    """Whether the anchored registration makes ``signer`` a key of ``party`` when the submission arrived."""
    try:
        body = bundle["record"]
        key_domain = domain(body["chain_id"], body["contract"])
        possession = signer_of(signing_key(key_domain, party=body["party"], key=body["key"]), body["signature"]) == body["key"]
        registered_at = datetime.fromisoformat(body["registered_at"].replace("Z", "+00:00"))
        kind_ok = bundle["record_kind"] == "signing_key"
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        return False, f"the key registration is malformed: {error}"
    if not kind_ok or body["key"] != signer or body["party"] != party:
        return False, f"the registration is of {body.get('key')} for {body.get('party')!r}, not of {signer} for {party!r}"
    if not possession:
        return False, "the registration's own signature is not the key's signature of SigningKey(party, key)"
    if registered_at > received:
        return False, f"the key was registered at {body['registered_at']}, after the submission ({received.isoformat()})"
    anchored, detail = check_record(bundle)
    return anchored, f"{signer} registered for {party!r} at {body['registered_at']}; registration bundle: {detail}"


def _revocation(bundle: object, *, party: str, signer: str, received: datetime, check_record: CheckRecord) -> tuple[bool | None, str]:
    """Whether the key's revocation came after the submission (a revocation before it voids the signature)."""
    try:
        body = bundle["record"]
        revoked_at = datetime.fromisoformat(body["revoked_at"].replace("Z", "+00:00"))
        same_key = bundle["record_kind"] == "signing_key" and body["key"] == signer and body["party"] == party
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        return False, f"the key revocation is malformed: {error}"
    if not same_key:
        return False, "the revocation is of another key or party"
    if revoked_at <= received:
        return False, f"the key was revoked at {body['revoked_at']}, before the submission ({received.isoformat()})"
    anchored, detail = check_record(bundle)
    return anchored, f"revoked only at {body['revoked_at']}, after the submission; revocation bundle: {detail}"
