"""Chain fixtures: a real anvil node for the session, and deployed TraceAnchor adapters.

Loaded by ``tests/conftest.py`` through ``pytest_plugins = ["chain_fixtures"]``.
"""

from collections.abc import Iterator

import pytest
from support.servers import anvil_node

from service.anchor.chain import Chain

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
