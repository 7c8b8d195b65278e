"""Grants: suppliers share their records with partners (a lender, a retailer), and withdraw that."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from fastapi.concurrency import run_in_threadpool

from service.api.deps import RuntimeDep, SessionDep, Supplier, model_body, request_body
from service.api.errors import error_responses
from service.api.paging import PageDep, caller_scope
from service.api.schemas.grants import GrantCreate, GrantPage, GrantPublic
from service.access.grants import find_grant, grant_body, grants_of, revocation_body, with_revocations
from service.ingest.candidates import Submission, candidate
from service.models import Record, RecordKind
from service.read.pagination import paginate

router = APIRouter(prefix="/grants", tags=["grants"], responses=error_responses(401, 403, 422))
GrantId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The grant's record id.")]


BODY_MODELS = (GrantCreate,)


@router.post("", response_model=GrantPublic, status_code=status.HTTP_201_CREATED,
             responses={200: {"model": GrantPublic, "description": "A live grant to this party already exists."},
                        **error_responses(415)}, openapi_extra={"requestBody": request_body(GrantCreate)})
async def create(caller: Supplier, body: Annotated[GrantCreate, model_body(GrantCreate, Supplier)], session: SessionDep,
                 ledger: RuntimeDep, response: Response) -> GrantPublic:
    """Let another party read all your records (events and transactions), their verifications and proofs,
    and use them in its analytics; recorded and anchored like any record."""
    grant, existing = await run_in_threadpool(grant_body, session, owner=caller.party, grantee=body.grantee)
    if grant is None:
        response.status_code = status.HTTP_200_OK
        return GrantPublic.of(existing)
    submission = Submission(candidates=[candidate(RecordKind.GRANT, grant, field="grantee")], party=caller.party)
    [stored] = await asyncio.wrap_future(ledger.writer.submit(submission))
    return GrantPublic.of(await run_in_threadpool(find_grant, session, owner=caller.party, grant_id=stored.record.id))


@router.get("", response_model=GrantPage)
def list_all(caller: Supplier, session: SessionDep, page: PageDep) -> GrantPage:
    """Your grants, oldest first, revoked ones included."""
    result = paginate(session, grants_of(caller.party), order=(Record.id,), descending=False, page=page,
                      scope=caller_scope("grants", caller))
    return GrantPage(grants=[GrantPublic.of(grant) for grant in with_revocations(session, result.items)],
                     nextPageToken=result.next_page_token)


@router.delete("/{id}", response_model=GrantPublic, responses=error_responses(404))
async def revoke(id: GrantId, caller: Supplier, session: SessionDep, ledger: RuntimeDep) -> GrantPublic:
    """Withdraw a grant: the grantee no longer sees your records (a revocation record, anchored)."""
    revocation, grant = await run_in_threadpool(revocation_body, session, owner=caller.party, grant_id=id)
    if revocation is not None:
        submission = Submission(candidates=[candidate(RecordKind.GRANT, revocation, field="id")], party=caller.party)
        await asyncio.wrap_future(ledger.writer.submit(submission))
        session.expire_all()
        grant = await run_in_threadpool(find_grant, session, owner=caller.party, grant_id=id)
    return GrantPublic.of(grant)
