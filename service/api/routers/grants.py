"""Grants: suppliers share their records with partners (a lender, a retailer), and withdraw that."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.api.deps import RuntimeDep, SessionDep, Supplier, model_body, request_body
from service.api.errors import error_responses
from service.ingest.candidates import parsed_body
from service.api.paging import PageDep, caller_scope
from service.api.schemas import PageOut
from service.access.grants import Grant, find_grant, grant_submission, grants_of, revocation_submission, with_revocations
from service.models import Record, RecordStatus
from service.read.pagination import paginate
from service.timeutil import UtcDateTime

router = APIRouter(prefix="/grants", tags=["grants"], responses=error_responses(401, 403, 422))
GrantId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The grant's record id.")]


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{"grantee": "bank"}]})

    grantee: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")] = Field(
        description="The party that may read all your records from now on (until you revoke it).")


class GrantOut(BaseModel):
    id: int = Field(description="The grant's record id (anchored like any record).")
    owner: str
    grantee: str
    granted_at: UtcDateTime
    revoked_at: UtcDateTime | None
    status: RecordStatus = Field(description="Whether the grant record is anchored yet.")

    @classmethod
    def of(cls, grant: Grant) -> "GrantOut":
        body = parsed_body(grant.record) or {}
        revoked = parsed_body(grant.revocation) or {} if grant.revocation is not None else {}
        return cls(id=grant.record.id, owner=grant.record.party, grantee=str(body.get("grantee")),
                   granted_at=body.get("granted_at"), revoked_at=revoked.get("revoked_at"), status=grant.record.status)


class GrantPage(PageOut):
    grants: list[GrantOut]


BODY_MODELS = (GrantIn,)


@router.post("", response_model=GrantOut, status_code=status.HTTP_201_CREATED,
             responses={200: {"model": GrantOut, "description": "A live grant to this party already exists."},
                        **error_responses(415)}, openapi_extra={"requestBody": request_body(GrantIn)})
async def create(caller: Supplier, body: Annotated[GrantIn, model_body(GrantIn, Supplier)], session: SessionDep,
                 ledger: RuntimeDep, response: Response) -> GrantOut:
    """Let another party read all your records (events and transactions), their verifications and proofs,
    and use them in its analytics; recorded and anchored like any record."""
    submission, existing = await run_in_threadpool(grant_submission, session, owner=caller.party, grantee=body.grantee)
    if submission is None:
        response.status_code = status.HTTP_200_OK
        return GrantOut.of(existing)
    [stored] = await asyncio.wrap_future(ledger.writer.submit(submission))
    return GrantOut.of(await run_in_threadpool(find_grant, session, owner=caller.party, grant_id=stored.record.id))


@router.get("", response_model=GrantPage)
def list_all(caller: Supplier, session: SessionDep, page: PageDep) -> GrantPage:
    """Your grants, oldest first, revoked ones included."""
    result = paginate(session, grants_of(caller.party), order=(Record.id,), descending=False, page=page,
                      scope=caller_scope("grants", caller))
    return GrantPage(grants=[GrantOut.of(grant) for grant in with_revocations(session, result.items)],
                     nextPageToken=result.next_page_token)


@router.delete("/{id}", response_model=GrantOut, responses=error_responses(404))
async def revoke(id: GrantId, caller: Supplier, session: SessionDep, ledger: RuntimeDep) -> GrantOut:
    """Withdraw a grant: the grantee no longer sees your records (a revocation record, anchored)."""
    submission, grant = await run_in_threadpool(revocation_submission, session, owner=caller.party, grant_id=id)
    if submission is not None:
        await asyncio.wrap_future(ledger.writer.submit(submission))
        session.expire_all()
        grant = await run_in_threadpool(find_grant, session, owner=caller.party, grant_id=id)
    return GrantOut.of(grant)
