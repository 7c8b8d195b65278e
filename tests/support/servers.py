"""The servers tests and benchmarks start or borrow: free loopback ports, anvil nodes, and throwaway
schemas on the local PostgreSQL server. One copy, so that a bench measures on what the tests check."""

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import ROOT

ANVIL = ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
ANVIL_START_TIMEOUT = 30.0  # seconds; anvil answers in well under one on an idle machine
POSTGRES_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
"""The local PostgreSQL server (trust authentication) that tests and benches make their schemas on."""


class ServerFailed(RuntimeError):
    """A server we started exited or did not answer in time."""


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rpc_answers(url: str) -> bool:
    """Whether an Ethereum JSON-RPC node answers at ``url``."""
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
    if not ANVIL.is_file():
        raise ServerFailed(f"anvil binary missing: {ANVIL} (run npm ci)")
    port = port or free_loopback_port()
    url = f"http://127.0.0.1:{port}"
    arguments = [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--silent"]
    process = subprocess.Popen(arguments + (["--state", str(state)] if state else []), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + ANVIL_START_TIMEOUT
        while not rpc_answers(url):
            if process.poll() is not None:
                raise ServerFailed(f"anvil exited with {process.returncode}: {process.stderr.read().decode()}")
            if time.monotonic() > deadline:
                raise ServerFailed(f"anvil did not answer on {url} within {ANVIL_START_TIMEOUT} s")
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


@contextmanager
def postgres_schema(*, prefix: str = "t", keep: bool = False) -> Iterator[str]:
    """A fresh schema on the local PostgreSQL server, dropped at the end unless ``keep``; yields
    the SQLAlchemy URL whose connections use it (its name is the URL's ``search_path``)."""
    import psycopg

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    finally:
        if not keep:
            with psycopg.connect(POSTGRES_DSN, autocommit=True) as connection:
                connection.execute(f"DROP SCHEMA {schema} CASCADE")
