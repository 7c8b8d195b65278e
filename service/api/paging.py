"""The page parameters every listing shares: ``perPage`` and ``nextPageToken`` (see service.read.pagination).

``GET /v1/events`` reads the same two names through its EPCIS query parser instead, with the same
meaning and limits.
"""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Query, Request

from service.api.deps import RuntimeDep
from service.models import ApiKey
from service.read.pagination import (
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    MAX_TOKEN_CHARS,
    PER_PAGE_FIELD,
    TOKEN_FIELD,
    PageRequest,
    PageTokens,
    fingerprint,
)

PerPage = Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description=f"Items per page, 1 to {MAX_PER_PAGE}.")]
PageToken = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=MAX_TOKEN_CHARS,
        description="The `nextPageToken` of the previous page, unchanged, with the same other parameters and key; "
        "absent for the first page.",
    ),
]


def page_tokens(ledger: RuntimeDep) -> PageTokens:
    """The signer of page tokens, keyed by the server secret shared by every worker."""
    return PageTokens(ledger.settings.signing_key(), lifetime=ledger.settings.page_token_seconds)


PageTokensDep = Annotated[PageTokens, Depends(page_tokens)]


def page_request(tokens: PageTokensDep, perPage: PerPage = DEFAULT_PER_PAGE, nextPageToken: PageToken = None) -> PageRequest:
    return PageRequest(tokens=tokens, per_page=perPage, token=nextPageToken)


PageDep = Annotated[PageRequest, Depends(page_request)]


def caller_scope(listing: str, caller: ApiKey, **filters: object) -> bytes:
    """The scope of a listing's tokens: the listing, the caller's role and party, the filters."""
    return fingerprint(listing, caller.role, caller.party, filters)


def next_page_link(request: Request, page: PageRequest, token: str | None) -> dict[str, str]:
    """The ``Link: <...>; rel="next"`` header of the EPCIS binding's listings (none on the last page)."""
    if token is None:
        return {}
    return {"Link": f'<{request.url.path}?{urlencode({PER_PAGE_FIELD: page.per_page, TOKEN_FIELD: token})}>; rel="next"'}
