"""`python -m app.migrate`: bring the database to the newest schema (alembic upgrade head).

A separate step of the deploy (its own ECS task / compose service), never run on import
or on API start-up.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

logger = logging.getLogger(__name__)

ALEMBIC_INI = Path(__file__).resolve().parent / "migrations" / "alembic.ini"


def alembic_config(*, connection: Connection | None = None) -> Config:
    """The project's Alembic config; with `connection`, migrations run on it instead of app.db's."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(ALEMBIC_INI.parent))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(*, revision: str = "head", connection: Connection | None = None) -> None:
    command.upgrade(alembic_config(connection=connection), revision)


def downgrade(*, revision: str = "base", connection: Connection | None = None) -> None:
    command.downgrade(alembic_config(connection=connection), revision)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Migrate the image-processor database.")
    parser.add_argument("revision", nargs="?", default="head", help="target (default: head)")
    parser.add_argument(
        "--downgrade", action="store_true", help="downgrade to REVISION instead of upgrading"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    if args.downgrade:
        downgrade(revision=args.revision)
    else:
        upgrade(revision=args.revision)
    direction = "down to" if args.downgrade else "up to"
    logger.info("database migrated %s %s", direction, args.revision)


if __name__ == "__main__":
    main()
