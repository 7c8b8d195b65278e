"""API keys, managed by admins (also possible with `traceanchor keys`)."""

from typing import Annotated

from fastapi import APIRouter, status
from sqlmodel import select

from service.api.deps import Admin, KeyId, RuntimeDep, SessionDep, model_body, request_body
from service.api.errors import error_responses
from service.api.paging import PageDep, caller_scope
from service.api.schemas.keys import CreatedKeyPublic, KeyCreate, KeyPage, KeyPublic
from service.access.keys import create_key, revoke_key
from service.models import ApiKey
from service.read.pagination import paginate

router = APIRouter(prefix="/keys", tags=["keys"], responses=error_responses(401, 403, 422))
BODY_MODELS = (KeyCreate,)


@router.post("", response_model=CreatedKeyPublic, status_code=status.HTTP_201_CREATED, responses=error_responses(415),
             openapi_extra={"requestBody": request_body(KeyCreate)})
def create(caller: Admin, body: Annotated[KeyCreate, model_body(KeyCreate, Admin)], session: SessionDep) -> CreatedKeyPublic:
    """A new key for a party and role; the token is in the response and nowhere else."""
    key, token = create_key(session, role=body.role, party=body.party)
    session.commit()
    return CreatedKeyPublic.of_new(key, token)


@router.get("", response_model=KeyPage)
def list_all(caller: Admin, session: SessionDep, page: PageDep) -> KeyPage:
    """Every key, newest first (never the tokens)."""
    result = paginate(session, select(ApiKey), order=(ApiKey.id,), descending=True, page=page, scope=caller_scope("keys", caller))
    return KeyPage(keys=[KeyPublic.of(key) for key in result.items], nextPageToken=result.next_page_token)


@router.delete("/{key_id}", response_model=KeyPublic, responses=error_responses(404, 409))
def revoke(key_id: KeyId, caller: Admin, session: SessionDep, ledger: RuntimeDep) -> KeyPublic:
    """Revoke a key: it stops working at once in this worker, and in the others within
    ``TRACEANCHOR_KEY_CACHE_SECONDS``. The last live admin key cannot be revoked (409): nobody
    could manage keys any more."""
    key = revoke_key(session, key_id=key_id)
    session.commit()
    ledger.keys.clear()
    return KeyPublic.of(key)
