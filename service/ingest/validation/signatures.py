"""The ``TraceAnchor-Signature`` header of a submission: a supplier's EIP-712 signature of
``Submission(party, root, count)`` over its records' content hashes in submission order.

Checked before anything is stored: the root is recomputed from the records as the server derived
them, so a signature of another document, of the same records in another order, or of another
party's submission recovers to some other address, and is refused with the reason.
"""

from collections.abc import Sequence

from service.errors import InvalidRecord
from service.hashing.typed_data import submission, submission_root, signer_of
from service.ingest.candidates import Candidate, SubmissionSignature

HEADER = "TraceAnchor-Signature"


def submission_message(candidates: Sequence[Candidate], *, party: str, domain: dict) -> dict:
    """The full EIP-712 ``Submission`` message a supplier signs for these records of ``party``."""
    hashes = [bytes.fromhex(item.derived.content_hash[2:]) for item in candidates]
    return submission(domain, party=party, root=submission_root(hashes), count=len(hashes))


def check_signature(header: str | None, candidates: Sequence[Candidate], *, party: str,
                    domain: dict) -> SubmissionSignature | None:
    """The signature in ``header`` with the address it recovers to (None without a header);
    InvalidRecord naming the header when it is no signature of these records."""
    if header is None:
        return None
    if not candidates:
        raise InvalidRecord(f"{HEADER}: a submission without records cannot be signed", field=HEADER)
    message = submission_message(candidates, party=party, domain=domain)
    try:
        signer = signer_of(message, header.strip())
    except ValueError as error:
        raise InvalidRecord(f"{HEADER}: {error}", field=HEADER) from None
    return SubmissionSignature(typed_data=message, signature="0x" + header.strip().removeprefix("0x").lower(), signer=signer)
