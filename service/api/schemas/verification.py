"""A record's verification against the chain, and its proof bundle."""

from dataclasses import fields

from pydantic import BaseModel, ConfigDict, Field, create_model

from service.timeutil import UtcDateTime
from service.verify.bundle_format import ProofBundle
from service.verify.declarations import Declaration
from service.verify.verification import Verification, VerificationStatus


class DeclarationPublic(BaseModel):
    """The error declaration that declares an event erroneous (the last one stored, when there are several)."""

    model_config = ConfigDict(from_attributes=True)

    record_id: int = Field(description="The declaration's own record (an event with `errorDeclaration` set).")
    business_id: str = Field(description="The declaration's business id: the Event Hash ID, `#errorDeclaration@` and its time.")
    declaration_time: str | None = Field(description="`errorDeclaration.declarationTime`, as given.")
    reason: str | None = Field(description="`errorDeclaration.reason` (e.g. `incorrect_data`), as given.")
    corrective_event_ids: list[str] = Field(description="`errorDeclaration.correctiveEventIDs`: the events that replace it.")

    @classmethod
    def of(cls, declaration: Declaration | None) -> "DeclarationPublic | None":
        return cls.model_validate(declaration) if declaration is not None else None


DECLARED_ERRONEOUS = "Set when the submitting party declared this event erroneous (an error declaration of the same "\
    "Event Hash ID): analytics leave it out; null otherwise."


class VerificationPublic(BaseModel):
    """A verification result with the evidence it rests on (hex strings, null where unknown)."""

    model_config = ConfigDict(from_attributes=True)

    record_id: int
    status: VerificationStatus
    reason: str
    content_hash: str | None = None
    root: str | None = None
    tx_hash: str | None = None
    block_number: int | None = None
    anchored_at: UtcDateTime | None = Field(None, description="The anchoring block's time, as the contract recorded it.")
    declared_erroneous: DeclarationPublic | None = Field(None, description=DECLARED_ERRONEOUS)

    @classmethod
    def of(cls, verification: Verification, *, declaration: Declaration | None = None) -> "VerificationPublic":
        return cls.model_validate(verification).model_copy(update={"declared_erroneous": DeclarationPublic.of(declaration)})


_BUNDLE_DESCRIPTIONS = {
    "record_kind": "epcis_event, transaction, label or grant: decides how `content_hash` is computed "
                   "(`kind` in bundles of the release before, still read by `traceanchor verify`).",
    "record": "The record; its JSON text if it nests too deep for the API to return.",
    "event_hash_id": "EPCIS events only: the GS1 CBV 2.0 Event Hash ID of `record`.",
    "salt": "With leaf encoding [bytes32, bytes32] only: the record's 32 random bytes.",
    "submission": "Signed records only: the supplier's EIP-712 signature of its submission (typed_data, signature, "
                  "signer), the record's proof in the signed root, when it was received, and the signing key's anchored "
                  "registration (key_registration, a proof bundle; key_revocation when it was revoked since).",
}


class _BundleOf(BaseModel):
    """The base of :data:`ProofBundlePublic`, which is built from the bundle's dataclass so that its
    fields are the bundle's, defined once."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, bundle: ProofBundle) -> "_BundleOf":
        return cls.model_validate(bundle)


ProofBundlePublic = create_model(
    "ProofBundlePublic",
    __base__=_BundleOf,
    __doc__="A proof bundle (docs/proof-bundle.md), field for field service.verify.bundle_format.ProofBundle; "
            "the fields that do not apply to a record (null) are left out.",
    **{item.name: (item.type, Field(None if item.default is None else ..., description=_BUNDLE_DESCRIPTIONS.get(item.name)))
       for item in fields(ProofBundle)},
)
