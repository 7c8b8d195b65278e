"""The database schema, versioned with Alembic: ``traceanchor migrate`` (and ``serve`` and the demo at
start) upgrades the database to the newest revision; opening it only checks that it is there
(:func:`require_head`), so no command alters a schema as a side effect.

Revisions live in ``versions/``. After changing a model, generate the next revision against a
scratch database upgraded to the current head, then read and adjust it (data moves, defaults):

    python -m service.migrations "what changed"

``downgrade(engine, revision=...)`` takes a database back for an older release.
``tests/test_migrations.py`` checks that upgrading gives exactly the models' schema and that
each revision keeps the data, both ways, on SQLite and PostgreSQL.
"""

import fcntl
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, inspect, text

from service.errors import SchemaError

#: PostgreSQL advisory lock held while upgrading: API workers starting together upgrade once.
MIGRATION_LOCK_ID = 0x736368656D61  # "schema"


def upgrade(engine: Engine, *, lock_file: Path) -> None:
    """Bring the database to the newest revision, one process at a time (an advisory lock on
    PostgreSQL, ``lock_file`` elsewhere). SchemaError if it holds tables of a release that
    predates the first revision."""
    with _migration(engine, lock_file=lock_file) as connection:
        _adopt_unversioned(connection)
        if _at_head(connection):
            return  # every start but the first after a release: nothing to do, nothing to check
        with _no_new_dangling_keys(connection):
            command.upgrade(config(connection), "head")


def downgrade(engine: Engine, *, revision: str, lock_file: Path) -> None:
    """Take the database back to ``revision`` (to run an older release; "base": no tables)."""
    with _migration(engine, lock_file=lock_file) as connection, _no_new_dangling_keys(connection):
        command.downgrade(config(connection), revision)


def require_head(engine: Engine) -> None:
    """SchemaError, in one line naming ``traceanchor migrate``, unless the database is at this
    release's newest revision: a command on an unmigrated database would otherwise fail later,
    half-way, on a missing table or column."""
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current == _heads():
        return
    if not current:
        raise SchemaError("the database has no traceanchor schema yet: run `traceanchor migrate` first")
    script = ScriptDirectory.from_config(config())
    found, wanted = ", ".join(sorted(current)), ", ".join(sorted(_heads()))
    if any(_unknown(script, revision) for revision in current):
        raise SchemaError(f"the database's schema (revision {found}) is newer than this release's ({wanted}): "
                          "run the release that migrated it")
    raise SchemaError(f"the database's schema is at revision {found}, this release needs {wanted}: run `traceanchor migrate`")


@cache
def _heads() -> frozenset[str]:
    """The newest revisions of the scripts beside this module (they do not change while running)."""
    return frozenset(ScriptDirectory.from_config(config()).get_heads())


def _unknown(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is None
    except CommandError:  # how alembic says it does not know a revision
        return True


def config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, in code: the scripts beside this module, run on ``connection``."""
    alembic_config = Config()
    alembic_config.set_main_option("script_location", str(Path(__file__).parent))
    alembic_config.attributes["connection"] = connection
    return alembic_config


def _at_head(connection: Connection) -> bool:
    return set(MigrationContext.configure(connection).get_current_heads()) == _heads()


def _adopt_unversioned(connection: Connection) -> None:
    """A database made before versioning: the last such release's layout is revision 0001 (stamped,
    then upgraded like any other); older layouts cannot be upgraded."""
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    if "record" not in tables or "alembic_version" in tables:
        return
    record_columns = {column["name"] for column in inspector.get_columns("record")}
    if "batch_tree" in tables and {"status", "batch_id", "tree_index"} <= record_columns:
        command.stamp(config(connection), "0001")
        return
    raise SchemaError(
        "the database holds tables of a traceanchor release older than schema versioning can upgrade; "
        "export what you need and point TRACEANCHOR_DATABASE_URL at a new database"
    )


@contextmanager
def _migration(engine: Engine, *, lock_file: Path) -> Iterator[Connection]:
    """A connection in a transaction that only this process migrates in. On SQLite, foreign keys
    are off meanwhile: rebuilding a table (how SQLite alters one) drops it, which would
    cascade-delete every row that references it (see :func:`_no_new_dangling_keys`)."""
    with _exclusive(engine, lock_file=lock_file), engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # this pragma only takes effect outside a transaction
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
                yield connection
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


@contextmanager
def _no_new_dangling_keys(connection: Connection) -> Iterator[None]:
    """SQLite, whose foreign keys are off while migrating: roll back a migration that leaves rows
    pointing nowhere. Only the ones it adds count: rows orphaned before (a record deleted by hand
    in the sqlite3 shell, where foreign keys are off) are findings for the batch audit to report,
    and refusing to start over them would stop the audit itself."""
    if connection.dialect.name != "sqlite":  # PostgreSQL checks foreign keys all along
        yield
        return
    before = _dangling_keys(connection)
    yield
    added = _dangling_keys(connection) - before
    if added:
        where = ", ".join(f"{n} in {table} (to {parent})" for (table, parent), n in sorted(added.items()))
        raise SchemaError(f"migrating would leave rows whose foreign keys point nowhere: {where}; nothing was changed")


def _dangling_keys(connection: Connection) -> Counter:
    """How many rows of each table point nowhere, per referenced table."""
    return Counter((table, parent) for table, _rowid, parent, _key in connection.exec_driver_sql("PRAGMA foreign_key_check"))


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
