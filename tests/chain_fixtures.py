"""Chain fixtures: a real anvil node for the session, and deployed TraceAnchor adapters.

Loaded by ``tests/conftest.py`` through ``pytest_plugins = ["chain_fixtures"]``.
"""

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from service.anchor.chain import Chain

ROOT = Path(__file__).resolve().parents[1]
ANVIL = ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
ANVIL_START_TIMEOUT = 30.0  # seconds; anvil answers in well under one on an idle machine


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(url: str) -> bool:
    request = urllib.request.Request(
        url,
        data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=1.0) as response:
            return "result" in json.load(response)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextmanager
def anvil_node(*, port: int | None = None, state: Path | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """An anvil node on a loopback port (a free one unless given), keeping its state in ``state``
    (loaded at start, written at a clean exit) if given; yields its URL and process, stopped at exit."""
    assert ANVIL.is_file(), f"anvil binary missing: {ANVIL} (run npm ci)"
    port = port or free_loopback_port()
    url = f"http://127.0.0.1:{port}"
    arguments = [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--silent"]
    process = subprocess.Popen(arguments + (["--state", str(state)] if state else []), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + ANVIL_START_TIMEOUT
        while not _answers(url):
            if process.poll() is not None:
                pytest.fail(f"anvil exited with {process.returncode}: {process.stderr.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail(f"anvil did not answer on {url} within {ANVIL_START_TIMEOUT} s")
            time.sleep(0.05)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


@pytest.fixture(scope="session")
def anvil_url() -> Iterator[str]:
    """URL of an anvil node on a free loopback port, running for the whole session."""
    with anvil_node() as (url, _process):
        yield url


@pytest.fixture
def embedded_chain(tmp_path) -> Iterator[Chain]:
    """An adapter on a fresh embedded chain in a temporary state directory (nothing deployed)."""
    chain = Chain.connect(url=None, state_dir=tmp_path / "chain", private_key=None)
    yield chain
    chain.close()


@pytest.fixture(params=["embedded", pytest.param("anvil", marks=pytest.mark.anvil)])
def deployed_chain(request, tmp_path) -> Iterator[Chain]:
    """An adapter with a freshly deployed TraceAnchor, on the embedded chain and on anvil."""
    url = None if request.param == "embedded" else request.getfixturevalue("anvil_url")
    chain = Chain.connect(url=url, state_dir=tmp_path / "chain", private_key=None)
    try:
        chain.deploy()
        yield chain
    finally:
        chain.close()
