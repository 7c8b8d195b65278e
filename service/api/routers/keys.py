"""API keys, managed by admins (also possible with `traceanchor keys`)."""

from typing import Annotated

from fastapi import APIRouter, status

from service.api.deps import Admin, KeyId, RuntimeDep, SessionDep, model_body, request_body
from service.api.errors import error_responses
from service.api.paging import PageDep, caller_scope
from service.api.schemas import KeyCreate, KeyCreated, KeyOut, KeyPage
from service.access.keys import create_key, key_page, revoke_key

router = APIRouter(prefix="/keys", tags=["keys"], responses=error_responses(401, 403, 422))
BODY_MODELS = (KeyCreate,)


@router.post("", response_model=KeyCreated, status_code=status.HTTP_201_CREATED, responses=error_responses(415),
             openapi_extra={"requestBody": request_body(KeyCreate)})
def create(caller: Admin, body: Annotated[KeyCreate, model_body(KeyCreate, Admin)], session: SessionDep) -> KeyCreated:
    """A new key for a party and role; the token is in the response and nowhere else."""
    key, token = create_key(session, role=body.role, party=body.party)
    session.commit()
    return KeyCreated(**KeyOut.of(key).model_dump(), key=token)


@router.get("", response_model=KeyPage)
def list_all(caller: Admin, session: SessionDep, page: PageDep) -> KeyPage:
    """Every key, newest first (never the tokens)."""
    result = key_page(session, page=page, scope=caller_scope("keys", caller))
    return KeyPage(keys=[KeyOut.of(key) for key in result.items], nextPageToken=result.next_page_token)


@router.delete("/{key_id}", response_model=KeyOut, responses=error_responses(404, 409))
def revoke(key_id: KeyId, caller: Admin, session: SessionDep, ledger: RuntimeDep) -> KeyOut:
    """Revoke a key: it stops working at once in this worker, and in the others within
    ``TRACEANCHOR_KEY_CACHE_SECONDS``. The last live admin key cannot be revoked (409): nobody
    could manage keys any more."""
    key = revoke_key(session, key_id=key_id)
    session.commit()
    ledger.keys.clear()
    return KeyOut.of(key)
