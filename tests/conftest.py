"""Shared fixtures: settings on a temporary data directory, over SQLite and PostgreSQL."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.servers import postgres_schema

from service.db import migrate
from service.runtime import Runtime
from service.settings import Settings

pytest_plugins = ["chain_fixtures"]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a throwaway schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    """Settings for one test: its own data directory, database (migrated, as `traceanchor migrate`
    would) and embedded chain."""
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, batch_size=16, batch_age=3600, capture_processes=0)
    migrate(settings)
    return settings


@pytest.fixture
def ledger(settings) -> Iterator[Runtime]:
    """A ledger on the embedded chain, closed after the test."""
    ledger = Runtime(settings)
    yield ledger
    ledger.close()


@pytest.fixture
def api(ledger) -> Iterator:
    """The HTTP API in process on the test ledger (no background loop: tests anchor explicitly)."""
    from fastapi.testclient import TestClient

    from api_helpers import STANDARD_KEYS, Api
    from service.api.app import create_app

    ledger.settings.anchor_in_background = False
    with TestClient(create_app(runtime=ledger)) as client:
        api = Api(client=client, ledger=ledger, headers={})
        for who, (role, party) in STANDARD_KEYS.items():
            api.key(who, role=role, party=party)
        yield api


@pytest.fixture(params=["embedded", pytest.param("anvil", marks=pytest.mark.anvil)])
def any_chain_ledger(request, tmp_path) -> Iterator[Runtime]:
    """A ledger on SQLite and either chain: the embedded one, or a real anvil node (new contract)."""
    chain_url = request.getfixturevalue("anvil_url") if request.param == "anvil" else None
    settings = Settings(data_dir=tmp_path / "data", chain_url=chain_url, batch_size=16, batch_age=3600)
    migrate(settings)
    ledger = Runtime(settings)
    yield ledger
    ledger.close()
