"""Exactly-once anchoring across real process kills (SIGKILL) at the dangerous moments, and of a
server killed twice while clients submit."""

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from support.servers import free_loopback_port
from support.records import payment
from loop_helpers import everything_anchored, wait_until
from service.access.keys import create_key
from service.runtime import Runtime
from service.models import Batch, BatchStatus, Record, Role
from service.verify.verification import VerificationStatus, verify_record

CHILD = Path(__file__).with_name("crash_child.py")
ROOT = CHILD.parents[1]
pytestmark = pytest.mark.slow


def child_env(settings) -> dict[str, str]:
    """The parent's settings as TRACEANCHOR_* variables, and the project on the import path."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TRACEANCHOR_DATA_DIR": str(settings.data_dir),
        "TRACEANCHOR_DATABASE_URL": settings.database_url,
        "TRACEANCHOR_BATCH_SIZE": str(settings.batch_size),
        "TRACEANCHOR_BATCH_AGE": str(settings.batch_age),
    }


def child(settings, *args, check_killed=False, timeout=120):
    env = child_env(settings)
    process = subprocess.run([sys.executable, str(CHILD), *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check_killed:
        assert process.returncode == -signal.SIGKILL, process.stderr
    else:
        assert process.returncode == 0, process.stderr
    return process


def assert_exactly_once(settings, expected_records):
    ledger = Runtime(settings)
    try:
        chain = ledger.chain
        with ledger.session() as session:
            records = session.exec(select(Record)).all()
            batches = session.exec(select(Batch)).all()
            assert len(records) == expected_records, "no record lost or duplicated"
            assert {b.status for b in batches} == {BatchStatus.ANCHORED}
            assert {verify_record(session, chain, r).status for r in records} == {VerificationStatus.VERIFIED}
        anchored_roots = [log["args"]["root"] for log in chain.contract.events.Anchored.get_logs(from_block=0)]
        assert sorted(anchored_roots) == sorted(bytes.fromhex(b.root[2:]) for b in batches), "each root anchored once"
    finally:
        ledger.close()


@pytest.mark.parametrize("mode", ["kill-before-send", "kill-after-send"])
def test_killed_around_the_broadcast_resumes_exactly_once(settings, mode):
    child(settings, "store", "40")
    child(settings, mode, check_killed=True)
    child(settings, "anchor")
    assert_exactly_once(settings, expected_records=40)


def test_killed_at_random_moments_loses_nothing(settings):
    settings.batch_size = 2
    child(settings, "store", "60")
    env = child_env(settings)
    for delay in (1.5, 2.5, 3.5):
        process = subprocess.Popen([sys.executable, str(CHILD), "anchor"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    child(settings, "anchor")
    assert_exactly_once(settings, expected_records=60)


SERVER_START_TIMEOUT = 60.0  # seconds until a started server answers (the embedded chain deploys first)
LOAD_SECONDS = 2.0  # of submissions before each kill
LOAD_THREADS = 2


@contextmanager
def server(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen, str]]:
    """``traceanchor serve`` on a free loopback port; killed at exit if still running."""
    port = free_loopback_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not _answers(url):
            assert process.poll() is None, f"server exited with {process.returncode}"
            assert time.monotonic() < deadline, f"server not answering within {SERVER_START_TIMEOUT} s"
            time.sleep(0.1)
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v1/health", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


class Load:
    """Clients submitting payments (numbered from one shared counter) until stopped or the server dies."""

    def __init__(self, url: str, headers: dict[str, str], numbers: Iterator[int]) -> None:
        self.url, self.headers, self.numbers = url, headers, numbers
        self.attempted: list[int] = []
        self.acknowledged: list[int] = []
        self.refused: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._submit) for _ in range(LOAD_THREADS)]

    def _submit(self) -> None:
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=30) as client:
            while not self.stop.is_set():
                number = next(self.numbers)
                self.attempted.append(number)
                try:
                    response = client.post("/v1/transactions", json=payment(number))
                except httpx.TransportError:
                    return  # the server died under this request: its fate is unknown
                if response.status_code != 201:
                    self.refused.append(response.text)
                    return
                self.acknowledged.append(number)

    def __enter__(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in self.threads), "a client hung"


@pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.anvil])], indirect=True
)
def test_a_server_killed_twice_under_load_loses_nothing_and_doubles_nothing(request, settings):
    env = {**child_env(settings), "TRACEANCHOR_BATCH_AGE": "0.2", "TRACEANCHOR_ANCHOR_INTERVAL": "0.05"}
    if settings.database_url.startswith("postgresql"):
        env["TRACEANCHOR_CHAIN_URL"] = request.getfixturevalue("anvil_url")
    settings.chain_url = env.get("TRACEANCHOR_CHAIN_URL")
    ledger = Runtime(settings)  # the database only: the server owns the chain
    try:
        with ledger.session() as session:
            headers = {"Authorization": f"Bearer {create_key(session, role=Role.SUPPLIER, party='processor')[1]}"}
        numbers, attempted, acknowledged = itertools.count(), set(), set()
        for kill in (True, True, False):
            with server(env) as (process, url):
                with Load(url, headers, numbers) as load:
                    time.sleep(LOAD_SECONDS)
                    if kill:
                        process.send_signal(signal.SIGKILL)
                attempted.update(load.attempted)
                acknowledged.update(load.acknowledged)
                assert not load.refused, load.refused
                if not kill:  # the requests the kills cut short, sent again: stored once, whatever happened to them
                    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
                        for number in sorted(attempted - acknowledged):
                            assert client.post("/v1/transactions", json=payment(number)).status_code in (200, 201)
                    wait_until(lambda: everything_anchored(ledger), timeout=120, what="anchoring of every record", interval=0.2)
        request.node.user_properties.append(("records", len(attempted)))
    finally:
        ledger.close()
    assert len(acknowledged) > 0
    assert_exactly_once(settings, expected_records=len(attempted))
