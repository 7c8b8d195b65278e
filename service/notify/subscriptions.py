"""Subscriptions to a party's named queries: made, listed, read and ended by that party, and the
events each has yet to receive (the durable outbox is this query: the matching events after the
subscription's ``position``, the last record id the receiver acknowledged).

A subscription keeps its creator's key: what it receives is what that key may read now (a revoked key
receives nothing more), exactly as if it ran the query.
"""

import json
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from service.access.viewer import viewer_of
from service.errors import InvalidInput, NotFound
from service.models import ApiKey, NamedQuery, Record, Subscription
from service.notify import destinations, schedule as schedules
from service.read import named_queries
from service.read.pagination import Page, PageRequest, fingerprint, paginate
from service.read.queries import matching_events
from service.settings import Settings
from service.timeutil import utcnow


def create(session: Session, *, key: ApiKey, query_name: str, dest: str, signature_token: str, stream: bool | None,
           schedule: dict | None, initial_record_time: datetime | None, report_if_empty: bool, settings: Settings) -> Subscription:
    """Subscribe ``key`` to its party's query ``query_name``: sent every new matching event (``stream``)
    or, at the times ``schedule`` gives, those stored since the last report. Without
    ``initial_record_time`` only events stored from now on are sent."""
    named = named_queries.get(session, party=key.party, name=query_name)
    if bool(stream) == (schedule is not None):
        raise InvalidInput("either stream: true or a schedule", field="schedule" if schedule is not None else "stream")
    fields = schedules.parse(schedule) if schedule is not None else None
    destinations.check(dest, settings)
    now = utcnow()
    position = 0 if initial_record_time is not None else session.exec(select(func.coalesce(func.max(Record.id), 0))).one()
    subscription = Subscription(
        public_id=secrets.token_hex(16), query_id=named.id, key_id=key.id, dest=dest, signature_token=signature_token,
        stream=bool(stream), schedule=None if schedule is None else json.dumps(schedule), report_if_empty=report_if_empty,
        initial_record_time=initial_record_time, position=position, batch_size=settings.webhook_batch,
        next_attempt_at=now if fields is None else schedules.next_run(fields, now),
    )
    session.add(subscription)
    session.commit()
    session.refresh(subscription)
    return subscription


def listed(session: Session, *, party: str, query_name: str, page: PageRequest) -> Page:
    """One page of the subscriptions to ``party``'s query, oldest first."""
    named = named_queries.get(session, party=party, name=query_name)
    return paginate(session, select(Subscription).where(Subscription.query_id == named.id), order=(Subscription.id,),
                    descending=False, page=page, scope=fingerprint("subscriptions", party, named.id))


def get(session: Session, *, party: str, query_name: str, public_id: str) -> Subscription:
    """One subscription to ``party``'s query; 404 for any other."""
    named = named_queries.get(session, party=party, name=query_name)
    found = session.exec(select(Subscription).where(Subscription.query_id == named.id, Subscription.public_id == public_id)).first()
    if found is None:
        raise NotFound(f"no subscription {public_id!r} to {query_name!r}", field="subscriptionID")
    return found


def delete(session: Session, *, party: str, query_name: str, public_id: str) -> None:
    """End the subscription: nothing more is sent."""
    session.delete(get(session, party=party, query_name=query_name, public_id=public_id))
    session.commit()


def undelivered(session: Session, subscription: Subscription, *, limit: int, settled_before: datetime) -> list[Record] | None:
    """The next ``limit`` events the subscription has not had acknowledged, by record id; None when its
    creator's key is revoked or gone (nothing may be sent)."""
    key = session.get(ApiKey, subscription.key_id)
    named = session.get(NamedQuery, subscription.query_id)
    if key is None or key.revoked_at is not None or named is None:
        return None
    statement = matching_events(named_queries.event_query(named), viewer=viewer_of(session, key))
    statement = statement.where(Record.id > subscription.position, Record.created_at <= settled_before)
    if subscription.initial_record_time is not None:
        statement = statement.where(Record.created_at >= subscription.initial_record_time)
    return list(session.exec(statement.order_by(Record.id).limit(limit)))


def after_delivery(subscription: Subscription, *, now: datetime, more: bool, settings: Settings) -> datetime:
    """When to look again after a delivery: at once if more events wait, else at the next poll (stream) or run (schedule)."""
    if more:
        return now
    if subscription.schedule is None:
        return now + timedelta(seconds=settings.webhook_poll_seconds)
    return schedules.next_run(schedules.parse(json.loads(subscription.schedule)), now) or now + timedelta(days=366 * 8)
