"""Generate the next schema revision from the models: ``python -m service.migrations "message"``."""

import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from service.migrations import config, upgrade


def main(message: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        upgrade(engine, lock_file=Path(scratch) / "lock")
        with engine.begin() as connection:
            command.revision(config(connection), message=message, autogenerate=True)
        engine.dispose()


if __name__ == "__main__":
    main(" ".join(sys.argv[1:]) or "schema change")
