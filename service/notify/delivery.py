"""One delivery step: claim the due subscriptions, send each its next batch of events as a signed
``EPCISQueryDocument`` (the requests in parallel), and record each outcome.

A claim is a lease: the step moves the claimed subscriptions' ``next_attempt_at`` past the longest a
request may take and commits, so no row lock is held while receivers answer (a slow receiver holds up
nobody else) and several workers share the subscriptions (``FOR UPDATE SKIP LOCKED`` while claiming,
on PostgreSQL). An outcome is recorded only while the lease is still the subscription's
(``next_attempt_at`` unchanged): after a worker died mid-step, another serves the subscription once the
lease has run out, and a late outcome of the dead one is dropped.

At least once, never again after a 2xx: ``position`` moves past a batch only when the receiver answered
2xx for it. A receiver that is down or answers anything else is retried with exponential backoff; a 413
halves the batch. A crash between the receiver's 2xx and the recorded outcome sends that batch again,
which is what at-least-once allows.

Fan-out is the common case (many subscribers of one party's query): subscriptions of one query, made
by one key, at the same position, get the same events, so the step runs that query and serialises
those events once for all of them; only the envelope (``subscriptionID``) and signature differ.

The body is signed in the ``GS1-Signature`` header: HMAC-SHA256 of the exact body bytes under the
subscription's ``signatureToken``, lowercase hex.
"""

import hashlib
import hmac
import json
import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine, update
from sqlmodel import Session, select

from service.models import NamedQuery, Record, Subscription
from service.notify import destinations, subscriptions
from service.read.documents import DEFAULT_EPC_FORMAT, event_of, query_document
from service.settings import Settings
from service.timeutil import utcnow

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/ld+json"
_LEASE_MARGIN_SECONDS = 60.0  # beyond the request's own timeout: preparing the batch, recording the outcome
_CLAIMS_PER_THREAD = 4  # subscriptions claimed per sending thread: more share one query, none waits long
_EMPTY_EVENTS = b'"eventList":[]'


def signature(body: bytes, token: str) -> str:
    """The ``GS1-Signature`` of ``body``: HMAC-SHA256 under ``token``, lowercase hex."""
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class _Claim:
    """A claimed subscription (a detached copy) and what this step does with it."""

    subscription: Subscription
    lease: datetime
    query_name: str = ""
    records: list[Record] | None = None  # the batch to send; None: nothing to send
    body: bytes = b""
    outcome: dict | None = None  # columns to set when nothing is sent


def deliver_once(engine: Engine, settings: Settings, client: httpx.Client) -> bool:
    """Serve the due subscriptions (a few per sending thread), if any; whether there were any."""
    claims = _claim(engine, settings)
    if not claims:
        return False
    _prepare(engine, claims, settings)
    sending = [claim for claim in claims if claim.records is not None]
    for claim, answer in zip(sending, _send_all(sending, settings, client)):
        claim.outcome = _outcome(claim, answer, settings)
    _record(engine, claims)
    return True


def _send_all(claims: list[_Claim], settings: Settings, client: httpx.Client) -> list[tuple[int | None, str | None]]:
    """Each claim's body POSTed, in parallel when there are several (the receivers' answers, in order)."""
    if len(claims) < 2:
        return [_post(claim.subscription, claim.body, settings, client) for claim in claims]
    with ThreadPoolExecutor(max_workers=min(len(claims), settings.webhook_concurrency), thread_name_prefix="webhook") as pool:
        return list(pool.map(lambda claim: _post(claim.subscription, claim.body, settings, client), claims))


def _claim(engine: Engine, settings: Settings) -> list[_Claim]:
    now = utcnow()
    rounds = _CLAIMS_PER_THREAD  # requests each sending thread may have to make one after the other
    lease = now + timedelta(seconds=settings.webhook_timeout * rounds + _LEASE_MARGIN_SECONDS)
    with Session(engine, expire_on_commit=False) as session:
        due = list(session.exec(select(Subscription).where(Subscription.next_attempt_at <= now)
                                .order_by(Subscription.next_attempt_at).limit(settings.webhook_concurrency * _CLAIMS_PER_THREAD)
                                .with_for_update(skip_locked=True)))
        for subscription in due:
            subscription.next_attempt_at = lease
            session.add(subscription)
        session.commit()
    return [_Claim(subscription=subscription, lease=lease) for subscription in due]


def _prepare(engine: Engine, claims: list[_Claim], settings: Settings) -> None:
    """Each claim's batch and body, the matching events read and serialised once per group of
    subscriptions that must receive the same ones."""
    groups: dict[tuple, list[_Claim]] = defaultdict(list)
    for claim in claims:
        s = claim.subscription
        groups[(s.query_id, s.key_id, s.position, s.batch_size, s.initial_record_time)].append(claim)
    now = utcnow()
    with Session(engine) as session:
        for group in groups.values():
            try:
                _prepare_group(session, group, now=now, settings=settings)
            except Exception as error:  # e.g. a stored query the language no longer accepts: these wait, the others go on
                session.rollback()
                log.exception("webhook %s: delivery step failed", group[0].subscription.public_id)
                for claim in group:
                    claim.records, claim.outcome = None, _back_off(claim.subscription, f"{type(error).__name__}: {error}", settings)


def _prepare_group(session: Session, group: list[_Claim], *, now: datetime, settings: Settings) -> None:
    first = group[0].subscription
    records = subscriptions.undelivered(session, first, limit=first.batch_size,
                                        settled_before=now - timedelta(seconds=settings.webhook_settle_seconds))
    if records is None:  # the creator's key is revoked: nothing more may be sent
        for claim in group:
            claim.outcome = {"last_error": "the subscribing key is revoked", "next_attempt_at": now + timedelta(days=1)}
        return
    query_name = session.get(NamedQuery, first.query_id).name
    events = [json.dumps(event_of(record, form=DEFAULT_EPC_FORMAT), separators=(",", ":"), ensure_ascii=False).encode()
              for record in records]
    for claim in group:
        s = claim.subscription
        if not records and (s.stream or not s.report_if_empty):
            claim.outcome = {"next_attempt_at": subscriptions.after_delivery(s, now=now, more=False, settings=settings)}
            continue
        count = len(records)
        body = _body(events, query_name, s.public_id)
        while len(body) > settings.webhook_max_body_bytes and count > 1:
            count //= 2
            body = _body(events[:count], query_name, s.public_id)
        claim.records, claim.body = records[:count], body


def _body(events: list[bytes], query_name: str, subscription_id: str) -> bytes:
    """The query document around the already serialised ``events`` (the one place an empty
    ``eventList`` can appear in its JSON: every string in it has its quotes escaped)."""
    document = query_document([], query_name=query_name)
    document["epcisBody"]["queryResults"]["subscriptionID"] = subscription_id
    envelope = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    return envelope.replace(_EMPTY_EVENTS, b'"eventList":[' + b",".join(events) + b"]", 1)


def _outcome(claim: _Claim, answer: tuple[int | None, str | None], settings: Settings) -> dict:
    """The subscription's columns after the receiver's ``answer`` to the claim's batch."""
    status, error = answer
    s, records = claim.subscription, claim.records
    if status is not None and 200 <= status < 300:
        more = len(records) == s.batch_size
        return {"position": records[-1].id if records else s.position, "attempts": 0, "last_error": None,
                "next_attempt_at": subscriptions.after_delivery(s, now=utcnow(), more=more, settings=settings)}
    if status == 413 and len(records) > 1:
        batch = max(1, len(records) // 2)
        return {"batch_size": batch, "last_error": f"413: batch cut to {batch}", "next_attempt_at": utcnow()}
    return _back_off(s, error or f"answered {status}", settings)


def _back_off(subscription: Subscription, error: str, settings: Settings) -> dict:
    """Try again later, each failure doubling the delay up to the longest."""
    attempts = subscription.attempts + 1
    delay = min(settings.webhook_retry_max_seconds, settings.webhook_retry_seconds * 2 ** min(attempts - 1, 30))
    log.info("webhook %s to %s failed (%s), retry in %.1fs", subscription.public_id, subscription.dest, error, delay)
    return {"attempts": attempts, "last_error": error, "next_attempt_at": utcnow() + timedelta(seconds=delay)}


def _record(engine: Engine, claims: list[_Claim]) -> None:
    """Store the claims' outcomes in one transaction, each unless its lease was lost (the subscription
    deleted, or served by another worker after the lease ran out)."""
    with Session(engine) as session:
        for claim in claims:
            outcome = claim.outcome or {"next_attempt_at": utcnow()}
            session.exec(update(Subscription).where(Subscription.id == claim.subscription.id,
                                                    Subscription.next_attempt_at == claim.lease).values(**outcome))
        session.commit()


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
