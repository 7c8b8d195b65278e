"""One delivery step: claim a due subscription, send its next batch of events as a signed
``EPCISQueryDocument``, and record the outcome in the same transaction.

At least once, never again after a 2xx: the subscription's row is locked while its batch is sent
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers share the work; on SQLite, where one
process delivers, the read ends before the request, so that writes meanwhile cannot block the outcome),
and its ``position`` moves past the batch only when the receiver answered 2xx. A receiver that is down
or answers anything else is retried with exponential backoff; a 413 halves the batch. A crash between
the receiver's 2xx and the commit sends that batch again, which is what at-least-once allows.

The body is signed in the ``GS1-Signature`` header: HMAC-SHA256 of the exact body bytes under the
subscription's ``signatureToken``, lowercase hex.
"""

import hashlib
import hmac
import json
import logging
from datetime import timedelta

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select

from service.models import NamedQuery, Subscription
from service.notify import destinations, subscriptions
from service.read.documents import query_document
from service.settings import Settings
from service.timeutil import utcnow

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/ld+json"


def signature(body: bytes, token: str) -> str:
    """The ``GS1-Signature`` of ``body``: HMAC-SHA256 under ``token``, lowercase hex."""
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def deliver_once(engine: Engine, settings: Settings, client: httpx.Client) -> bool:
    """Serve one due subscription, if any; whether there was one."""
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        claim = (select(Subscription).where(Subscription.next_attempt_at <= now).order_by(Subscription.next_attempt_at)
                 .limit(1).with_for_update(skip_locked=True))
        subscription = session.exec(claim).first()
        if subscription is None:
            return False
        try:
            _serve(session, subscription, settings, client)
            session.add(subscription)
            session.commit()
        except Exception as error:  # e.g. a stored query the language no longer accepts: this one waits, the others go on
            session.rollback()
            log.exception("webhook %s: delivery step failed", subscription.public_id)
            _postpone(engine, subscription.id, f"{type(error).__name__}: {error}", settings)
        return True


def _postpone(engine: Engine, subscription_id: int, error: str, settings: Settings) -> None:
    with Session(engine) as session:
        subscription = session.get(Subscription, subscription_id)
        if subscription is not None:
            _back_off(subscription, error, settings)
            session.add(subscription)
            session.commit()


def _back_off(subscription: Subscription, error: str, settings: Settings) -> None:
    """Try again later, each failure doubling the delay up to the longest."""
    subscription.attempts += 1
    delay = min(settings.webhook_retry_max_seconds, settings.webhook_retry_seconds * 2 ** min(subscription.attempts - 1, 30))
    subscription.last_error = error
    subscription.next_attempt_at = utcnow() + timedelta(seconds=delay)
    log.info("webhook %s to %s failed (%s), retry in %.1fs", subscription.public_id, subscription.dest, error, delay)


def _serve(session: Session, subscription: Subscription, settings: Settings, client: httpx.Client) -> None:
    now = utcnow()
    records = subscriptions.undelivered(session, subscription, limit=subscription.batch_size,
                                        settled_before=now - timedelta(seconds=settings.webhook_settle_seconds))
    if records is None:  # the creator's key is revoked: nothing more may be sent
        subscription.last_error, subscription.next_attempt_at = "the subscribing key is revoked", now + timedelta(days=1)
        return
    if not records and (subscription.stream or not subscription.report_if_empty):
        subscription.next_attempt_at = subscriptions.after_delivery(subscription, now=now, more=False, settings=settings)
        return
    named = session.get(NamedQuery, subscription.query_id)
    body = _body(records, named.name, subscription.public_id)
    while len(body) > settings.webhook_max_body_bytes and len(records) > 1:
        records = records[: len(records) // 2]
        body = _body(records, named.name, subscription.public_id)
    if session.get_bind().dialect.name == "sqlite":  # hold no snapshot across the request: a write in between
        session.commit()                             # would keep this one from recording the outcome
    status, error = _post(subscription, body, settings, client)
    if status is not None and 200 <= status < 300:
        if records:
            subscription.position = records[-1].id
        subscription.attempts, subscription.last_error = 0, None
        more = len(records) == subscription.batch_size
        subscription.next_attempt_at = subscriptions.after_delivery(subscription, now=utcnow(), more=more, settings=settings)
    elif status == 413 and len(records) > 1:
        subscription.batch_size = max(1, len(records) // 2)
        subscription.last_error, subscription.next_attempt_at = f"413: batch cut to {subscription.batch_size}", utcnow()
    else:
        _back_off(subscription, error or f"answered {status}", settings)


def _body(records, query_name: str, subscription_id: str) -> bytes:
    document = query_document(records, query_name=query_name)
    document["epcisBody"]["queryResults"]["subscriptionID"] = subscription_id
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _post(subscription: Subscription, body: bytes, settings: Settings, client: httpx.Client) -> tuple[int | None, str | None]:
    """The receiver's status, or None and why nothing was answered. The destination is checked again
    first (its name may resolve elsewhere now); the answer's body is not read."""
    try:
        destinations.check(subscription.dest, settings)
    except destinations.RefusedDestination as error:
        return None, error.message
    headers = {"Content-Type": MEDIA_TYPE, "GS1-Signature": signature(body, subscription.signature_token),
               "GS1-EPCIS-Version": "2.0.0"}
    try:
        with client.stream("POST", subscription.dest, content=body, headers=headers, timeout=settings.webhook_timeout) as answer:
            return answer.status_code, None
    except httpx.HTTPError as error:
        return None, f"{type(error).__name__}: {error}"
