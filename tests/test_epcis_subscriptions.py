"""Webhook subscriptions to named queries, delivered to a real HTTP receiver on 127.0.0.1: signed
bodies, stream delivery, retries while the receiver is down or failing, smaller batches on 413,
resumption after a restart without resending what was acknowledged, visibility, and the refusal of
destinations that are not public http(s) addresses."""

import hashlib
import hmac
import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from support.servers import free_loopback_port
from test_epcis_query import capture, query_document_validator

from service.notify.delivery import deliver_once
from service.runtime import Runtime

TOKEN = "a shared secret of the subscriber"
WAIT_SECONDS = 20.0


class Receiver:
    """An HTTP endpoint recording every request; ``answers`` are the statuses of the next requests
    (then 200), or a function of the parsed body."""

    def __init__(self, port: int | None = None, answers=(), answer=None) -> None:
        self.port = port or free_loopback_port()
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self.answers = list(answers)
        self.answer = answer
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.answers.pop(0) if receiver.answers else receiver.answer(json.loads(body)) if receiver.answer else 200
                receiver.requests.append((dict(self.headers), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def delivered(self) -> list[dict]:
        """Every event of the requests answered 2xx, in order."""
        return [event for _, body, status in self.requests if status < 300 for event in _events(body)]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _events(body: bytes) -> list[dict]:
    return json.loads(body)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def quiet(ledger):
    """The API without its delivery loop: the test runs delivery steps itself."""
    from api_helpers import STANDARD_KEYS, Api
    from fastapi.testclient import TestClient

    from service.api.app import create_app

    settings = ledger.settings
    settings.anchor_in_background = settings.deliver_in_background = False
    settings.webhook_allow_hosts, settings.webhook_settle_seconds = "127.0.0.1", 0.0
    with TestClient(create_app(runtime=ledger)) as client:
        api = Api(client=client, ledger=ledger, headers={})
        for who, (role, party) in STANDARD_KEYS.items():
            api.key(who, role=role, party=party)
        yield api


@pytest.fixture
def hooks(api):
    """The API with fast retries and polls, and 127.0.0.1 allowed as a webhook destination."""
    settings = api.ledger.settings
    settings.webhook_allow_hosts, settings.webhook_poll_seconds, settings.webhook_settle_seconds = "127.0.0.1", 0.05, 0.0
    settings.webhook_retry_seconds, settings.webhook_retry_max_seconds = 0.05, 0.2
    return api


def subscribe(api, dest: str, who: str = "farm", query=None, **extra):
    named = api.client.post("/epcis/queries", json={"name": "objects", "query": query or {"eventType": ["ObjectEvent"]}},
                            headers=api.as_(who))
    assert named.status_code in (201, 409), named.text
    response = api.client.post("/epcis/queries/objects/subscriptions",
                               json={"dest": dest, "signatureToken": TOKEN, **({"stream": True} | extra)}, headers=api.as_(who))
    assert response.status_code == 201, response.text
    return response.json()["subscriptionID"]


def event_ids(api, who: str) -> list[str]:
    response = api.client.get("/epcis/events", params={"eventType": "ObjectEvent"}, headers=api.as_(who))
    return [event["eventID"] for event in response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]]


def test_stream_sends_new_events_signed_and_only_what_the_key_may_read(hooks):
    with Receiver() as receiver:
        subscription = subscribe(hooks, receiver.url)
        capture(hooks, "Example_9.6.1-ObjectEvent.jsonld")
        capture(hooks, "Example_9.6.1-ObjectEvent.jsonld", who="processor")  # another party's: never sent to farm
        capture(hooks, "Example_9.6.2-ObjectEvent.jsonld")
        wanted = event_ids(hooks, "farm")
        wait_until(lambda: len(receiver.delivered()) >= len(wanted), "the farm's events")
        time.sleep(0.3)  # a duplicate or a stray would arrive by now
    assert [event["eventID"] for event in receiver.delivered()] == wanted
    for headers, body, _ in receiver.requests:
        assert headers["GS1-Signature"] == hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()
        document = json.loads(body)
        assert not [error.message for error in query_document_validator().iter_errors(document)]
        assert document["epcisBody"]["queryResults"]["subscriptionID"] == subscription
        assert document["epcisBody"]["queryResults"]["queryName"] == "objects"


def test_a_receiver_down_then_failing_is_retried_until_it_acknowledges(hooks):
    port = free_loopback_port()
    subscribe(hooks, f"http://127.0.0.1:{port}/hook")
    capture(hooks, "Example_9.6.1-ObjectEvent.jsonld")
    listed = lambda: hooks.client.get("/epcis/queries/objects/subscriptions", headers=hooks.as_("farm")).json()
    wait_until(lambda: listed()[0].get("lastError"), "a failed attempt while the receiver is down")
    with Receiver(port, answers=[500, 503]) as receiver:
        wait_until(lambda: receiver.delivered(), "delivery once the receiver is up")
        time.sleep(0.3)
    assert [status for *_, status in receiver.requests] == [500, 503, 200]
    assert [event["eventID"] for event in receiver.delivered()] == event_ids(hooks, "farm")
    assert "lastError" not in listed()[0]


def test_413_cuts_the_batch_until_the_receiver_takes_it(hooks):
    with Receiver(answer=lambda document: 413 if len(document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) > 1 else 200) as receiver:
        subscribe(hooks, receiver.url)
        capture(hooks, "Example_9.6.1-ObjectEvent.jsonld")
        capture(hooks, "Example_9.6.1-with-comment.jsonld")
        wanted = event_ids(hooks, "farm")
        wait_until(lambda: len(receiver.delivered()) >= len(wanted), "every event, one by one")
        time.sleep(0.3)
    assert 413 in [status for *_, status in receiver.requests]
    assert [event["eventID"] for event in receiver.delivered()] == wanted


def test_delivery_resumes_after_a_restart_and_never_resends_what_was_acknowledged(quiet):
    api, settings = quiet, quiet.ledger.settings
    with Receiver(answers=[200, 500]) as receiver, httpx.Client() as client:
        subscribe(api, receiver.url)
        capture(api, "Example_9.6.1-ObjectEvent.jsonld")
        assert deliver_once(api.ledger.engine, settings, client)
        first = receiver.delivered()
        capture(api, "Example_9.6.2-ObjectEvent.jsonld")
        with _stalled(api.ledger):
            assert deliver_once(api.ledger.engine, settings, client)  # answered 500: not acknowledged
        restarted = Runtime(settings)  # another process, as after a restart
        try:
            with _stalled(restarted):
                assert deliver_once(restarted.engine, settings, client)
            assert not deliver_once(restarted.engine, settings, client)  # nothing due until the next poll
        finally:
            restarted.close()
    assert len(first) == 2
    assert [status for *_, status in receiver.requests] == [200, 500, 200]
    assert [event["eventID"] for event in receiver.delivered()] == event_ids(api, "farm")


@contextmanager
def _stalled(runtime):
    """Make every subscription due now (as if its retry delay had passed)."""
    with runtime.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE subscription SET next_attempt_at = '2000-01-01 00:00:00'")
    yield


def test_destinations_that_are_not_public_http_are_refused(hooks):
    hooks.client.post("/epcis/queries", json={"name": "objects", "query": {}}, headers=hooks.as_("farm"))
    hooks.ledger.settings.webhook_allow_hosts = ""
    for dest in ("file:///etc/passwd", "ftp://example.com/x", "http://10.0.0.1/hook", "http://127.0.0.1:9/hook",
                 "http://169.254.169.254/latest/meta-data", "http://[::1]/hook", "http://user:pw@example.com/"):
        response = hooks.client.post("/epcis/queries/objects/subscriptions",
                                     json={"dest": dest, "signatureToken": TOKEN, "stream": True}, headers=hooks.as_("farm"))
        assert response.status_code == 400, (dest, response.text)
        assert response.json()["field"] == "dest", response.json()


def test_a_destination_refused_at_delivery_time_receives_nothing(hooks):
    with Receiver() as receiver:
        subscribe(hooks, receiver.url)
        hooks.ledger.settings.webhook_allow_hosts = ""  # as if the name now resolved to a private address
        capture(hooks, "Example_9.6.1-ObjectEvent.jsonld")
        listed = lambda: hooks.client.get("/epcis/queries/objects/subscriptions", headers=hooks.as_("farm")).json()
        wait_until(lambda: "not a public address" in (listed()[0].get("lastError") or ""), "the refusal")
    assert receiver.requests == []


def test_a_schedule_reports_even_when_empty_and_subscriptions_end_with_their_query(hooks):
    with Receiver() as receiver:
        for body, field in (({"stream": True, "schedule": {"second": "0"}}, "schedule"), ({"stream": False}, "stream"),
                            ({"stream": None, "schedule": {"second": "61"}}, "schedule.second")):
            hooks.client.post("/epcis/queries", json={"name": "objects", "query": {}}, headers=hooks.as_("farm"))
            response = hooks.client.post("/epcis/queries/objects/subscriptions",
                                         json={"dest": receiver.url, "signatureToken": TOKEN, **body}, headers=hooks.as_("farm"))
            assert response.status_code == 400 and response.json()["field"] == field, response.text
        subscription = subscribe(hooks, receiver.url, stream=None, schedule={"second": "[0-59]"}, reportIfEmpty=True)
        wait_until(lambda: receiver.requests, "a scheduled report")
        assert _events(receiver.requests[0][1]) == []
        path = f"/epcis/queries/objects/subscriptions/{subscription}"
        assert hooks.client.get(path, headers=hooks.as_("processor")).status_code == 404
        assert hooks.client.get(path, headers=hooks.as_("farm")).json()["schedule"] == {"second": "[0-59]"}
        assert "signatureToken" not in hooks.client.get(path, headers=hooks.as_("farm")).json()
        assert hooks.client.delete("/epcis/queries/objects", headers=hooks.as_("farm")).status_code == 204
        time.sleep(1.2)  # a report would come every second
        sent = len(receiver.requests)
        time.sleep(1.2)
    assert len(receiver.requests) == sent


def test_several_workers_deliver_different_subscriptions_at_once(quiet, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer: delivery runs in one process there")
    both = threading.Barrier(2, timeout=10)  # each request waits for the other: both workers must be sending at once
    with Receiver(answer=lambda document: both.wait() * 0 + 200) as receiver, httpx.Client() as client:
        subscriptions = {subscribe(quiet, receiver.url), subscribe(quiet, receiver.url)}
        capture(quiet, "Example_9.6.1-ObjectEvent.jsonld")
        settings = quiet.ledger.settings
        workers = [threading.Thread(target=deliver_once, args=(quiet.ledger.engine, settings, client)) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=WAIT_SECONDS)
    sent = [json.loads(body)["epcisBody"]["queryResults"]["subscriptionID"] for _, body, _ in receiver.requests]
    assert sorted(sent) == sorted(subscriptions)
    assert [status for *_, status in receiver.requests] == [200, 200]


def test_a_subscription_that_cannot_be_served_waits_while_the_others_are_served(quiet):
    settings = quiet.ledger.settings
    with Receiver() as receiver, httpx.Client() as client:
        subscribe(quiet, receiver.url)
        subscribe(quiet, receiver.url, who="processor")
        capture(quiet, "Example_9.6.1-ObjectEvent.jsonld", who="processor")
        with quiet.ledger.engine.begin() as connection:  # the farm's stored query no longer parses
            connection.exec_driver_sql("UPDATE named_query SET query = '{\"eventType\": \"bogus\"}' WHERE party = 'farm'")
        while deliver_once(quiet.ledger.engine, settings, client):
            pass
    assert [event["eventID"] for event in receiver.delivered()] == event_ids(quiet, "processor")
    farm = quiet.client.get("/epcis/queries/objects/subscriptions", headers=quiet.as_("farm"))
    assert "InvalidInput" in farm.json()[0]["lastError"]


def test_a_slow_receiver_holds_up_no_other_subscription(quiet):
    settings = quiet.ledger.settings
    release = threading.Event()
    slow = Receiver(answer=lambda document: release.wait(WAIT_SECONDS) * 0 + 200)
    with slow, Receiver() as fast, httpx.Client() as client:
        subscribe(quiet, slow.url)
        subscribe(quiet, fast.url, who="processor")
        capture(quiet, "Example_9.6.1-ObjectEvent.jsonld")
        capture(quiet, "Example_9.6.1-ObjectEvent.jsonld", who="processor")
        step = threading.Thread(target=deliver_once, args=(quiet.ledger.engine, settings, client))
        step.start()
        wait_until(lambda: fast.delivered(), "the fast receiver's delivery while the slow one has not answered")
        assert not slow.requests  # still waiting for its answer
        release.set()
        step.join(WAIT_SECONDS)
    assert [event["eventID"] for event in slow.delivered()] == event_ids(quiet, "farm")


def test_an_outcome_after_the_lease_was_lost_is_dropped(quiet, monkeypatch):
    """A worker that outlived its lease (another served the subscription meanwhile) records nothing."""
    from service.notify import delivery

    settings = quiet.ledger.settings
    with Receiver() as receiver, httpx.Client() as client:
        subscribe(quiet, receiver.url)
        capture(quiet, "Example_9.6.1-ObjectEvent.jsonld")
        real_post = delivery._post

        def post_then_lose_the_lease(*args):
            answer = real_post(*args)
            with quiet.ledger.engine.begin() as connection:  # as if the lease ran out and another worker took it
                connection.exec_driver_sql("UPDATE subscription SET next_attempt_at = '2000-01-01 00:00:00'")
            return answer

        monkeypatch.setattr(delivery, "_post", post_then_lose_the_lease)
        assert deliver_once(quiet.ledger.engine, settings, client)
        monkeypatch.setattr(delivery, "_post", real_post)
        assert deliver_once(quiet.ledger.engine, settings, client)  # due again, position unmoved: sent again
    first, second = (_events(body) for _, body, _ in receiver.requests)
    assert first == second and first
    assert quiet.client.get("/epcis/queries/objects/subscriptions", headers=quiet.as_("farm")).json()[0].get("lastError") is None


def test_subscribers_of_one_query_share_one_evaluation(quiet):
    from sqlalchemy import event

    settings = quiet.ledger.settings
    with Receiver() as receiver, httpx.Client() as client:
        made = {subscribe(quiet, receiver.url) for _ in range(5)}
        capture(quiet, "Example_9.6.1-ObjectEvent.jsonld")
        statements: list[str] = []
        listen = lambda conn, cursor, statement, *rest: statements.append(statement)
        event.listen(quiet.ledger.engine, "before_cursor_execute", listen)
        try:
            assert deliver_once(quiet.ledger.engine, settings, client)
        finally:
            event.remove(quiet.ledger.engine, "before_cursor_execute", listen)
    sent = {json.loads(body)["epcisBody"]["queryResults"]["subscriptionID"]: _events(body) for _, body, _ in receiver.requests}
    assert set(sent) == made
    assert len({json.dumps(events) for events in sent.values()}) == 1 and next(iter(sent.values()))
    assert sum("record.id > " in statement for statement in statements) == 1, statements  # the outbox query, once
