"""Planner statistics follow fast-growing tables on PostgreSQL."""

import time

from sqlalchemy import text

from support.records import fill
from service.db import refresh_statistics


def last_analysed(ledger) -> dict:
    with ledger.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT relname, COALESCE(last_analyze, last_autoanalyze) FROM pg_stat_user_tables WHERE schemaname = current_schema()"
        ))
        return dict(rows.all())


def test_tables_that_grew_are_analysed_and_others_left_alone(ledger):
    if ledger.engine.dialect.name != "postgresql":
        assert refresh_statistics(ledger.engine) == [], "nothing to do on SQLite"
        return
    fill(ledger, 12_000)  # above the 10,000 changes a table needs before it counts as grown
    deadline = time.monotonic() + 10  # backends report their changes within about a second
    while not (analysed := refresh_statistics(ledger.engine)):
        assert time.monotonic() < deadline, "the grown tables were never analysed"
        time.sleep(0.2)
    assert {"record", "record_term"} <= set(analysed)
    assert "batch" not in analysed
    assert last_analysed(ledger)["record"] is not None
    assert refresh_statistics(ledger.engine) == [], "fresh statistics: nothing more to do"
