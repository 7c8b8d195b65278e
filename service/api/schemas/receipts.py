"""The operator's signed receipt of an accepted submission."""

from typing import Any

from pydantic import BaseModel, Field

from service.anchor.receipts import issued
from service.models import Receipt

RECEIPT_HEADER = "TraceAnchor-Receipt"
"""Where ``POST /epcis/events`` answers the receipt (base64url JSON): its body is the event itself."""
RECEIPT = ("The operator's signed receipt (EIP-712 `Receipt(string party,bytes32 root,uint32 count,uint64 receivedAt,"
           "uint64 anchorBy)`, signed by its anchoring account); null while the chain cannot be reached. Keep it: "
           "`traceanchor verify-receipt` checks it, with the records' proof bundles, against the chain.")


class ReceiptPublic(BaseModel):
    """What anyone can check with eth_account alone: the signer recovered from ``typed_data`` and
    ``signature`` is ``signer``, and the content hashes rebuild ``root`` and ``count``."""

    typed_data: dict[str, Any] = Field(description="The complete EIP-712 typed data (types, primaryType, domain, message).")
    signature: str = Field(description="0x-prefixed 65-byte signature (r, s, v).")
    signer: str = Field(description="The operator's anchoring account: it holds ANCHORER_ROLE on `domain.verifyingContract`.")
    content_hashes: list[str] = Field(description="The records' content hashes in submission order; their OpenZeppelin "
                                      "StandardMerkleTree root (leaf encoding [\"bytes32\"], sortLeaves false) is `message.root`, "
                                      "the root a signed submission covers.")

    @classmethod
    def of(cls, receipt: Receipt | None) -> "ReceiptPublic | None":
        if receipt is None:
            return None
        handed_out = issued(receipt)
        return cls(typed_data=handed_out.typed_data, signature=handed_out.signature, signer=handed_out.signer,
                   content_hashes=handed_out.content_hashes)
