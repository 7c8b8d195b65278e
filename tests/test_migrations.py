"""The versioned schema: upgrading gives exactly the models' tables, once, even when started twice."""

import threading

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlmodel import SQLModel

from service.errors import SchemaError
from service.migrations import config, upgrade


@pytest.fixture
def engine(database_url):
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def schema_differences(engine) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)


def test_upgrading_an_empty_database_gives_exactly_the_models_schema(engine, tmp_path):
    upgrade(engine, lock_file=tmp_path / "lock")
    assert schema_differences(engine) == []


def test_downgrading_to_nothing_and_upgrading_again_round_trips(engine, tmp_path):
    upgrade(engine, lock_file=tmp_path / "lock")
    with engine.begin() as connection:
        command.downgrade(config(connection), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine, lock_file=tmp_path / "lock")
    assert schema_differences(engine) == []


def test_processes_starting_together_upgrade_once(engine, tmp_path):
    errors = []

    def start() -> None:
        try:
            upgrade(engine, lock_file=tmp_path / "lock")
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    starters = [threading.Thread(target=start) for _ in range(3)]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join(60)
    assert errors == []
    assert schema_differences(engine) == []


def test_tables_of_an_unversioned_release_are_refused_not_altered(engine, tmp_path):
    SQLModel.metadata.create_all(engine)
    with pytest.raises(SchemaError, match="before schema versioning"):
        upgrade(engine, lock_file=tmp_path / "lock")
    assert "alembic_version" not in inspect(engine).get_table_names()
