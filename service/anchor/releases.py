"""The released builds of TraceAnchor, known by the keccak256 of their runtime code.

``contracts/releases.json`` lists every release ever deployed (oldest first), each with the hash of
the code a deployment of it carries and its build artifact (the newest is the one the service
deploys; older ones stay committed beside it, so that their deployments can be reproduced).

The service attaches to, and reads batches from, any of them, so that a new release does not strand
an older deployment; ``traceanchor verify`` trusts a contract a bundle names only if its code is one
of them, since any contract can answer ``true``. Releasing a new build means keeping the previous
artifact under its version's name and appending the new entry (tests/test_compiler.py fails until
the committed artifact's code is the newest release), never removing one.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from eth_utils import keccak

from service.anchor.compiler import PROJECT_ROOT

RELEASES_PATH = PROJECT_ROOT / "contracts" / "releases.json"


@dataclass(frozen=True)
class Release:
    """One released build: its version, the keccak256 of its runtime code and its artifact."""

    version: str
    code_hash: bytes
    artifact: Path


def load_releases(path: Path = RELEASES_PATH) -> list[Release]:
    """Every release, oldest first."""
    entries = json.loads(path.read_text(encoding="utf-8"))["releases"]
    return [
        Release(entry["version"], bytes.fromhex(entry["runtime_code_keccak256"].removeprefix("0x")), PROJECT_ROOT / entry["artifact"])
        for entry in entries
    ]


def release_of(code: bytes, releases: list[Release]) -> Release | None:
    """The release whose runtime code ``code`` is (as ``eth_getCode`` returns it), None if none is."""
    digest = keccak(bytes(code))
    return next((release for release in releases if release.code_hash == digest), None)
