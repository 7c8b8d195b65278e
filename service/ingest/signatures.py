"""Signed submissions stored beside the records they cover, and read back for proof bundles.

The signer must be a key of the submitting party when the submission arrives (its registration
stored and not revoked: ``service.access.signing_keys``), checked in the transaction that stores the
records, so a refused signature stores nothing. Every record the submission names is linked, found
or created, with its position: the signature covers each, and a proof bundle carries its inclusion
proof in the signed root.
"""

import json
from collections.abc import Sequence

from sqlalchemy import insert
from sqlmodel import Session, select

from service.access.signing_keys import SigningKey, key_at, signature_policy
from service.errors import InvalidRecord
from service.ingest.bulk import insert_rows
from service.ingest.candidates import SubmissionSignature
from service.ingest.validation.signatures import HEADER
from service.models import Record, RecordKind, RecordSignature, SignedSubmission
from service.timeutil import utcnow


#: What a party's signature policy covers: its own statements, not its keys, grants or labels.
SIGNABLE = frozenset({RecordKind.EPCIS_EVENT, RecordKind.TRANSACTION})


def check_signer(session: Session, signature: SubmissionSignature, *, party: str) -> SigningKey:
    """The registration that makes the signer a key of ``party`` now; InvalidRecord naming the header otherwise."""
    registered = key_at(session, party=party, address=signature.signer, moment=utcnow())
    if registered is None:
        raise InvalidRecord(f"{HEADER}: signed by {signature.signer}, which is no signing key of {party} "
                            "(never registered, or revoked): sign with a key registered at "
                            f"/v1/parties/{party}/signing-keys, over this very submission", field=HEADER)
    return registered


def check_unsigned(session: Session, *, party: str) -> None:
    """InvalidRecord naming the header when ``party`` requires its submissions signed."""
    if signature_policy(session, party=party) == "required":
        raise InvalidRecord(f"{HEADER}: {party} requires its submissions signed (signature policy `required`): "
                            "send the header, signed by one of its keys", field=HEADER)


def keep_signature(session: Session, signature: SubmissionSignature, *, party: str, record_ids: Sequence[int],
                   content_hashes: Sequence[str]) -> None:
    """Store the signature with the content hashes it covers, in order (a record deleted later must not
    take its leaf out of the others' proofs), and link each record at its position, in the caller's
    transaction."""
    message = signature.typed_data["message"]
    connection = session.connection()
    submission_id = connection.execute(insert(SignedSubmission.__table__).returning(SignedSubmission.__table__.c.id), {
        "party": party, "signer": signature.signer, "signature": signature.signature,
        "typed_data": json.dumps(signature.typed_data, separators=(",", ":")), "root": message["root"],
        "count": message["count"], "received_at": utcnow(), "content_hashes": list(content_hashes)}).scalar_one()
    insert_rows(connection, "record_signature", [(submission_id, position, record_id) for position, record_id in enumerate(record_ids)])


def signature_of(session: Session, record_id: int) -> tuple[SignedSubmission, int] | None:
    """The first signed submission covering a record, and the record's first position in it (None: unsigned)."""
    found = session.exec(select(SignedSubmission, RecordSignature.position)
                         .join(RecordSignature, RecordSignature.submission_id == SignedSubmission.id)
                         .where(RecordSignature.record_id == record_id)
                         .order_by(SignedSubmission.id, RecordSignature.position)).first()
    return None if found is None else (found[0], found[1])


def signed_hashes(signed: SignedSubmission) -> list[bytes]:
    """The content hashes a signed submission's root was built from, in its order."""
    return [bytes.fromhex(content_hash[2:]) for content_hash in signed.content_hashes]
