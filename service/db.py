"""Database engine and sessions: SQLite embedded by default, PostgreSQL (or any SQLAlchemy URL) by setting."""

from collections.abc import Iterator
from contextlib import contextmanager

from psycopg.types.array import ListBinaryDumper
from sqlalchemy import Engine, event, text
from sqlmodel import Session, SQLModel, create_engine

from service.migrations import require_head, upgrade
from service.settings import Settings


def make_engine(settings: Settings) -> Engine:
    """Create the engine (SQLite gets WAL and a busy timeout for concurrent readers). It neither
    migrates nor checks the schema: :func:`open_engine` does, :func:`migrate` migrates."""
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
        if engine.dialect.driver == "psycopg":
            event.listen(engine, "connect", _binary_arrays)
    return engine


def open_engine(settings: Settings) -> Engine:
    """The engine of a database at this release's schema; SchemaError naming ``traceanchor migrate`` otherwise."""
    engine = make_engine(settings)
    try:
        require_head(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def migrate(settings: Settings) -> None:
    """Bring the configured database to this release's schema, one process at a time: the explicit
    step of ``traceanchor migrate``, ``serve`` and the demo (opening a database never migrates)."""
    engine = make_engine(settings)
    try:
        upgrade(engine, lock_file=settings.data_dir / "schema.lock")
    finally:
        engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _binary_arrays(dbapi_connection, _record) -> None:
    """Send Python lists as binary arrays: bulk inserts pass whole columns as arrays (see
    ``service.ingest.records``), and psycopg's text format quotes every element with a regular expression,
    which cost 70 % of our CPU time per stored event; the binary format copies the elements."""
    dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)


#: A table is re-analysed once this share of its rows changed since its last analysis.
STALE_STATISTICS_SHARE = 0.2
_MIN_CHANGES = 10_000


def refresh_statistics(engine: Engine) -> list[str]:
    """PostgreSQL: ANALYZE our tables whose rows changed by more than 20 % since they were last
    analysed; returns their names (SQLite and others: nothing to do).

    Ingest can grow a table by hundreds of thousands of rows a minute, faster than autovacuum's
    analysis follows (and a server may run without it). Without statistics the planner estimates
    that a lookup of a few hundred business ids returns most of the table and scans all of it,
    instead of the index scan it should be (docs/ingest.md has the figures).
    """
    if engine.dialect.name != "postgresql":
        return []
    stale_query = text(
        "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = ANY(:tables)"
        " AND n_mod_since_analyze > GREATEST(:least, :share * n_live_tup)"
    )
    tables = [table.name for table in SQLModel.metadata.sorted_tables]
    with engine.connect() as connection:
        stale = list(connection.execute(stale_query, {"tables": tables, "least": _MIN_CHANGES, "share": STALE_STATISTICS_SHARE}).scalars())
        for name in stale:
            connection.execute(text(f'ANALYZE "{name}"'))  # names come from our own metadata
        connection.commit()
    return stale


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
