"""SQLite storage: schema and migrations, and one module per kind of record."""

from bot.pipeline.store.db import DbExecutor, open_database

__all__ = ["DbExecutor", "open_database"]
