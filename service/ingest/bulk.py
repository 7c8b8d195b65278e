"""Bulk inserts of the capture path: one statement per table per submission, whatever its size.

Shared by ``service.ingest.records`` (records, leaves, terms) and ``service.ingest.sources`` (the
links from records to their source document) and ``service.ingest.signatures`` (to their signed submission), so that both write a 1,000-event document's rows
with one statement each.
"""

from functools import cache

from sqlalchemy import Connection, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from service.models import Record, RecordLeaf, RecordSignature, RecordSource, RecordTerm

_TABLES = {"record": Record.__table__, "record_leaf": RecordLeaf.__table__, "record_term": RecordTerm.__table__,
           "record_source": RecordSource.__table__, "record_signature": RecordSignature.__table__}
#: Columns written on the capture path, per table, in the order of the row tuples.
COLUMNS = {
    "record": (
        "kind", "record_type", "business_id", "party", "body", "content_hash", "salt", "occurred_at",
        "biz_step", "disposition", "biz_location", "read_point", "created_at",
    ),
    "record_leaf": ("record_id",),
    "record_term": ("record_id", "name", "value"),
    "record_source": ("record_id", "source_id", "position"),
    "record_signature": ("submission_id", "position", "record_id"),
}


def insert_rows(connection: Connection, table: str, rows: list[tuple]):
    """Insert ``rows`` (tuples in ``COLUMNS[table]`` order); for ``record``, the result of ``RETURNING``.

    On PostgreSQL one ``INSERT ... SELECT FROM unnest(column arrays)`` per table: a single statement
    for the whole submission, where an executemany runs the insert once per row (per 1,000 events
    that cost more server time than everything else of the insert). Elsewhere SQLAlchemy's batched
    multi-row ``VALUES``.
    """
    if not rows:
        return None
    dialect = connection.dialect.name
    if dialect == "postgresql":
        parameters = dict(zip(COLUMNS[table], zip(*rows), strict=True))
    else:
        parameters = [dict(zip(COLUMNS[table], row)) for row in rows]
    return connection.execute(_bulk_insert(dialect, table), parameters)


@cache
def _bulk_insert(dialect: str, table_name: str):
    """The statement of :func:`_insert_rows`, built once per dialect and table and run as Core, like
    every statement of this path: for a single event, building statements and the ORM's
    per-statement work cost more than the SQL itself. Records already stored are skipped
    (``ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite), and their inserted ids returned."""
    table = _TABLES[table_name]
    columns = COLUMNS[table_name]
    if dialect == "postgresql":
        arrays = func.unnest(*(bindparam(name, type_=ARRAY(table.c[name].type)) for name in columns))
        source = arrays.table_valued(*columns).render_derived()
        statement = postgresql_insert(table).from_select(columns, select(*(source.c[name] for name in columns)))
    elif dialect == "sqlite":
        statement = sqlite_insert(table)
    else:
        statement = insert(table)
    if table_name != "record":
        return statement
    if dialect in ("postgresql", "sqlite"):
        statement = statement.on_conflict_do_nothing(index_elements=["business_id", "kind", "party"])
    return statement.returning(table.c.id, table.c.kind, table.c.business_id)
