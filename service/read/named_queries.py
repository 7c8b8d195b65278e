"""Named queries: a party's event query saved under a name, run again through the one query language
(``service.read.queries``) with the caller's visibility.

The query is the standard's JSON form (``schema/query-schema.json``, the official REST binding schema):
an array is a parameter's alternatives, a string or number its one value. It is checked against the
schema and then parsed as the query parameters of ``GET /epcis/events``, so a name is only stored for a
query this server can run. Names are per party: a supplier neither sees nor collides with another's.
"""

import json
from functools import cache
from importlib.resources import files

import jsonschema_rs
from sqlalchemy import delete as sql_delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from service.errors import Conflict, ErrorItem, InvalidInput, InvalidParameter, NotFound
from service.models import NamedQuery, Subscription
from service.read.pagination import Page, PageRequest, fingerprint, paginate
from service.read.parameters import parse_event_query
from service.read.queries import EventQuery

_IGNORED = ("@context",)  # JSON-LD context: no filter


@cache
def _validator() -> jsonschema_rs.Draft7Validator:
    schema = json.loads((files("service.read") / "schema" / "query-schema.json").read_text(encoding="utf-8"))
    return jsonschema_rs.Draft7Validator(schema, validate_formats=True)


def parameters(query: object) -> dict[str, str]:
    """The query parameters ``query`` (the standard's JSON form) stands for; 400 naming the field at fault."""
    errors = [ErrorItem(field="query" + "".join(f".{part}" for part in error.instance_path), message=error.message)
              for error in _validator().iter_errors(query)]
    if errors:
        raise InvalidInput(f"query: not a valid EPCIS query ({errors[0].field}: {errors[0].message})", field=errors[0].field,
                           errors=errors)
    params = {name: "|".join(map(str, value)) if isinstance(value, list) else str(value)
              for name, value in query.items() if name not in _IGNORED}
    try:
        parse_event_query(params)
    except InvalidParameter as error:
        raise InvalidParameter(f"query.{error.field}: {error.message}", field=f"query.{error.field}") from None
    return params


def event_query(named: NamedQuery, extra: dict[str, str] | None = None) -> EventQuery:
    """The stored query parsed, with ``extra`` parameters (paging) added."""
    return parse_event_query({**parameters(json.loads(named.query)), **(extra or {})})


def create(session: Session, *, party: str, name: str, query: object) -> NamedQuery:
    """Store ``query`` as ``party``'s ``name``; 409 if the party already has that name."""
    parameters(query)
    named = NamedQuery(party=party, name=name, query=json.dumps(query, separators=(",", ":")))
    session.add(named)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"a query named {name!r} exists", field="name") from None
    session.refresh(named)
    return named


def listed(session: Session, *, party: str, page: PageRequest) -> Page:
    """One page of ``party``'s named queries, by name."""
    return paginate(session, select(NamedQuery).where(NamedQuery.party == party), order=(NamedQuery.name,), descending=False,
                    page=page, scope=fingerprint("named_queries", party))


def get(session: Session, *, party: str, name: str) -> NamedQuery:
    """``party``'s query ``name``; 404 when it has none (whoever else may)."""
    named = session.exec(select(NamedQuery).where(NamedQuery.party == party, NamedQuery.name == name)).first()
    if named is None:
        raise NotFound(f"no query named {name!r}", field="queryName")
    return named


def delete(session: Session, *, party: str, name: str) -> None:
    """Forget ``party``'s query ``name`` and end its subscriptions (the foreign key cascades; SQLite
    does not enforce it, so they are deleted here too)."""
    named = get(session, party=party, name=name)
    session.exec(sql_delete(Subscription).where(Subscription.query_id == named.id))
    session.delete(named)
    session.commit()
