"""Builders for tests of the background anchoring loop: the API in process with the loop running."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient

from api_helpers import STANDARD_KEYS, Api
from service.anchor.anchoring import pending_record_count
from service.api.app import create_app
from service.runtime import Runtime


@contextmanager
def looping_api(ledger: Runtime) -> Iterator[Api]:
    """The HTTP API on ``ledger`` with its background anchoring loop running; a 500 is answered as
    such (not raised in the test), so tests can count them."""
    ledger.settings.anchor_in_background = True
    with TestClient(create_app(runtime=ledger), raise_server_exceptions=False) as client:
        api = Api(client=client, ledger=ledger, headers={})
        for who, (role, party) in STANDARD_KEYS.items():
            api.key(who, role=role, party=party)
        yield api


def wait_until(predicate: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(interval)


def everything_anchored(ledger: Runtime) -> bool:
    """No record waits for a batch, and every batch is anchored."""
    with ledger.session() as session:
        return pending_record_count(session) == 0 and ledger.anchoring.unfinished_batches() == 0
