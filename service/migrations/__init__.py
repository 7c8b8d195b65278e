"""The database schema, versioned with Alembic: every start upgrades the database to the newest revision.

Revisions live in ``versions/``. After changing a model, generate the next revision against a
scratch database upgraded to the current head, then read and adjust it (data moves, defaults):

    python -m service.migrations "what changed"

``tests/test_migrations.py`` checks that upgrading an empty database gives exactly the models'
schema, on SQLite and PostgreSQL.
"""

import fcntl
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, inspect, text

from service.errors import SchemaError

#: PostgreSQL advisory lock held while upgrading: API workers starting together upgrade once.
MIGRATION_LOCK_ID = 0x736368656D61  # "schema"


def upgrade(engine: Engine, *, lock_file: Path) -> None:
    """Bring the database to the newest revision, one process at a time (an advisory lock on
    PostgreSQL, ``lock_file`` elsewhere); SchemaError if it holds tables of an unversioned release."""
    with _exclusive(engine, lock_file=lock_file), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        _refuse_unversioned(connection)
        command.upgrade(config(connection), "head")


def config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, in code: the scripts beside this module, run on ``connection``."""
    alembic_config = Config()
    alembic_config.set_main_option("script_location", str(Path(__file__).parent))
    alembic_config.attributes["connection"] = connection
    return alembic_config


def _refuse_unversioned(connection: Connection) -> None:
    tables = set(inspect(connection).get_table_names())
    if "record" in tables and "alembic_version" not in tables:
        raise SchemaError(
            "the database holds tables of a traceanchor release before schema versioning; "
            "export what you need and point TRACEANCHOR_DATABASE_URL at a new database"
        )


@contextmanager
def _exclusive(engine: Engine, *, lock_file: Path):
    if engine.dialect.name == "postgresql":
        yield  # the advisory lock, taken inside the transaction
        return
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
