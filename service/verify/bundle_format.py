"""The proof bundle's fields, defined once: the producer (``service.verify.verification``) builds a
:class:`ProofBundle`, the offline checker (``service.verify.bundle``) requires its required fields,
the API publishes a model with the same fields, and docs/proof-bundle.md names exactly these (a test
checks all four agree).

Like the checker, this module needs no database and no settings.
"""

from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from service.hashing.merkle import UNSALTED

BUNDLE_FORMAT = "traceanchor-proof/1"


@dataclass(frozen=True, kw_only=True)
class ProofBundle:
    """Everything a third party needs to check one record with only an Ethereum node; see
    docs/proof-bundle.md for what each field means."""

    format: str = BUNDLE_FORMAT
    record_kind: str
    record: dict[str, Any] | str
    event_hash_id: str | None = None
    content_hash: str
    leaf_encoding: list[str] = field(default_factory=lambda: UNSALTED.split(","))
    salt: str | None = None
    leaf: str
    proof: list[str]
    root: str
    chain_id: int
    contract: str
    tx_hash: str
    block_number: int
    submission: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        """The bundle as a JSON object, without the fields that do not apply to it (null)."""
        return {name: value for name, value in asdict(self).items() if value is not None}


BUNDLE_FIELDS = tuple(item.name for item in fields(ProofBundle))
REQUIRED_FIELDS = tuple(
    item.name for item in fields(ProofBundle) if item.default is MISSING and item.default_factory is MISSING
)
SUBMISSION_FIELDS = ("typed_data", "signature", "signer", "proof", "received_at", "key_registration")
"""The fields of a signed record's ``submission`` (all required), and optionally ``key_revocation``:
the supplier's EIP-712 signature of its whole submission, the record's inclusion in the signed root,
and the anchored registration of the signing key (a proof bundle itself) with its revocation, if any."""
SUBMISSION_OPTIONAL = ("key_revocation",)
DEPRECATED_NAMES = {"kind": "record_kind"}
"""Names of earlier releases, still read (for one release) from bundles that lack the new name."""


def with_current_names(bundle: dict[str, Any]) -> dict[str, Any]:
    """``bundle`` with each deprecated field name read as its new name (when the new one is absent)."""
    renamed = {new: bundle[old] for old, new in DEPRECATED_NAMES.items() if old in bundle and new not in bundle}
    return bundle | renamed
