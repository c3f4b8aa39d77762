"""Open the SQLite database (WAL, foreign keys, migrations) and run work on one DB thread.

A sqlite3 connection may only be used from the thread that opened it. The async parts of
newsbot (poller, Telegram handlers) therefore send all database work to a :class:`DbExecutor`:
one worker thread that owns the connection, so the event loop never blocks on disk and writes
are naturally serialised.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from bot.errors import StorageError
from bot.store import schema

T = TypeVar("T")


def _load_domain_migrations() -> None:
    # Imported for their side effect: each registers its migration set with schema.register.
    import bot.store.chats  # noqa: F401
    import bot.store.clusters  # noqa: F401


def open_database(path: str | Path) -> Database:
    """Open (creating if needed) and migrate the database at ``path``."""
    path = Path(path)
    try:
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        db = Database(conn)
        db.execute("PRAGMA busy_timeout = 30000")
        db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        _load_domain_migrations()
        for migrations in schema.MIGRATION_SETS:
            migrations.apply(db)
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"cannot open the database {path}: {exc}") from exc
    except OSError as exc:
        raise StorageError(f"cannot create the database {path}: {exc}") from exc
    return db


class DbExecutor:
    """Runs ``fn(db, *args)`` on a single thread that owns the connection."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsbot-db")
        self._db: Database | None = None
        self._pool.submit(self._open).result()

    def _open(self) -> None:
        self._db = open_database(self.path)

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        assert self._db is not None
        return fn(self._db, *args)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._run, fn, args)

    def call_sync(self, fn: Callable[..., T], *args: Any) -> T:
        return self._pool.submit(self._run, fn, args).result()

    def close(self) -> None:
        def _close() -> None:
            if self._db is not None:
                self._db.conn.close()
                self._db = None

        self._pool.submit(_close).result()
        self._pool.shutdown(wait=True)
