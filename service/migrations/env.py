"""Alembic environment: run by :func:`service.migrations.upgrade` on a connection it provides."""

from alembic import context
from sqlmodel import SQLModel

from service import models  # noqa: F401  (registers the tables on SQLModel.metadata)

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=SQLModel.metadata,
    render_as_batch=True,  # SQLite alters a table by copying it
)
with context.begin_transaction():
    context.run_migrations()
