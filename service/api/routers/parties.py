"""Parties' signing keys, the Ethereum keys whose signatures on submissions speak for a party, and
whether a party requires its submissions signed (issue 16)."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status
from fastapi.concurrency import run_in_threadpool

from service.access.signing_keys import list_keys, policy_body, registration_body, revocation_body, signature_policy
from service.api.deps import KeyHolder, RuntimeDep, SessionDep, model_body, request_body, signing_domain
from service.api.errors import error_responses
from service.api.schemas.common import MAX_PARTY_CHARS
from service.api.schemas.signing_keys import (
    SignaturePolicyPublic,
    SignaturePolicyUpdate,
    SigningKeyCreate,
    SigningKeyPublic,
    SigningKeysPublic,
)
from service.errors import Forbidden
from service.ingest.candidates import Submission, candidate
from service.models import RecordKind, Role
from service.runtime import Runtime

router = APIRouter(prefix="/parties/{party}", tags=["signing keys"], responses=error_responses(401, 403, 422))
PartyName = Annotated[str, Path(min_length=1, max_length=MAX_PARTY_CHARS, description="The party whose keys these are.")]
Address = Annotated[str, Path(min_length=42, max_length=42, description="The key's Ethereum address.")]

BODY_MODELS = (SigningKeyCreate, SignaturePolicyUpdate)


def _for_party(party: PartyName, caller: KeyHolder) -> str:
    """The party of the path, which a supplier may only name as its own (admins any)."""
    if caller.role != Role.ADMIN and caller.party != party:
        raise Forbidden(f"party: a supplier manages only its own signing keys, not {party!r}'s", field="party")
    return party


Party = Annotated[str, Depends(_for_party)]


@router.post("/signing-keys", response_model=SigningKeyPublic, status_code=status.HTTP_201_CREATED,
             responses={200: {"model": SigningKeyPublic, "description": "The key is already registered for the party."},
                        **error_responses(415, 502, 503)}, openapi_extra={"requestBody": request_body(SigningKeyCreate)})
async def register(party: Party, body: Annotated[SigningKeyCreate, model_body(SigningKeyCreate, KeyHolder)],
                   session: SessionDep, ledger: RuntimeDep, response: Response) -> SigningKeyPublic:
    """Register a key whose EIP-712 signatures on submissions (`TraceAnchor-Signature`) speak for the party;
    `signature` proves possession. Recorded and anchored like any record, so the party's key history is verifiable."""
    registration, existing = await run_in_threadpool(registration_body, session, party=party, address=body.address,
                                                     signature=body.signature, domain=signing_domain(ledger))
    if registration is None:
        response.status_code = status.HTTP_200_OK
        return SigningKeyPublic.of(existing)
    await _record(ledger, registration, party=party, field="address")
    session.expire_all()
    return SigningKeyPublic.of((await run_in_threadpool(list_keys, session, party=party))[-1])


@router.get("/signing-keys", response_model=SigningKeysPublic)
def list_all(party: Party, session: SessionDep) -> SigningKeysPublic:
    """The party's keys with their validity: registered at, revoked at (null while valid)."""
    return SigningKeysPublic(signingKeys=[SigningKeyPublic.of(key) for key in list_keys(session, party=party)])


@router.delete("/signing-keys/{address}", response_model=SigningKeyPublic, responses=error_responses(404))
async def revoke(party: Party, address: Address, session: SessionDep, ledger: RuntimeDep) -> SigningKeyPublic:
    """Revoke a key: signatures it makes from now on are refused (a revocation record, anchored);
    what it signed before stays signed."""
    revocation, key = await run_in_threadpool(revocation_body, session, party=party, address=address)
    if revocation is None:
        return SigningKeyPublic.of(key)
    await _record(ledger, revocation, party=party, field="address")
    session.expire_all()
    keys = await run_in_threadpool(list_keys, session, party=party)
    return SigningKeyPublic.of(next(item for item in keys if item.record.id == key.record.id))


@router.put("/signature-policy", response_model=SignaturePolicyPublic, openapi_extra={"requestBody": request_body(SignaturePolicyUpdate)},
            responses=error_responses(415))
async def set_policy(party: Party, body: Annotated[SignaturePolicyUpdate, model_body(SignaturePolicyUpdate, KeyHolder)],
                     session: SessionDep, ledger: RuntimeDep) -> SignaturePolicyPublic:
    """`required`: the party's unsigned events and transactions are refused from now on (422 naming
    `TraceAnchor-Signature`), nothing stored; `optional` (the default) accepts both. Recorded and anchored."""
    if await run_in_threadpool(signature_policy, session, party=party) != body.signatures:
        await _record(ledger, policy_body(party=party, signatures=body.signatures), party=party, field="signatures")
    return SignaturePolicyPublic(party=party, signatures=body.signatures)


@router.get("/signature-policy", response_model=SignaturePolicyPublic)
def get_policy(party: Party, session: SessionDep) -> SignaturePolicyPublic:
    """Whether the party's submissions must be signed."""
    return SignaturePolicyPublic(party=party, signatures=signature_policy(session, party=party))


async def _record(ledger: Runtime, body: dict, *, party: str, field: str) -> None:
    submission = Submission(candidates=[candidate(RecordKind.SIGNING_KEY, body, field=field)], party=party)
    await asyncio.wrap_future(ledger.writer.submit(submission))
