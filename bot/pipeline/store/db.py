"""Open the SQLite database (WAL, foreign keys, migrations) and run work on one DB thread.

A sqlite3 connection may only be used from the thread that opened it. The async parts of
newsbot (poller, Telegram handlers) therefore send all database work to a :class:`DbExecutor`:
one worker thread that owns the connection, so the event loop never blocks on disk and writes
are naturally serialised.

Several processes may still write to one file (`newsbot poll --once` next to a shell's `retag`,
a backup): every writing transaction begins ``IMMEDIATE``, so it takes the write lock first and
waits up to the busy timeout for it. A deferred transaction that reads, then writes, fails at
once with "database is locked" when another process wrote meanwhile (SQLite cannot wait there
without a deadlock), whatever the busy timeout says.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from bot.errors import StorageError
from bot.pipeline.store import health, schema

T = TypeVar("T")
BUSY_TIMEOUT = 30.0       # seconds a writer waits for another process's write lock


class NewsbotDatabase(Database):
    """sqlite-utils' Database whose outermost ``atomic()`` begins IMMEDIATE (see the module
    docstring); nested blocks stay savepoints. A lock held by someone else for longer than the
    busy timeout becomes a one-line ``StorageError(kind="locked")``."""

    busy_timeout: float = BUSY_TIMEOUT
    path: str = ""
    # Bumped whenever what this connection wrote may have been undone (a rolled-back
    # transaction) or stored articles changed outside dedup's own bookkeeping (an update,
    # re-tagging, pruning): in-memory views of the store (bot/pipeline/dedup/view.py) start afresh.
    generation: int = 0

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Database]:
        if self.conn.in_transaction:
            with super().atomic():
                yield self
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY:
                raise
            raise StorageError(
                f"database locked: another process held the write lock on {self.path} for more "
                f"than {self.busy_timeout:g} s; is another newsbot writing to it?", "locked",
            ) from exc
        try:
            with super().atomic():                 # a savepoint inside our transaction
                yield self
        except BaseException:
            self._roll_back()
            raise
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            self._roll_back()
            raise

    def _roll_back(self) -> None:
        self.generation += 1
        self.rollback()


def _load_domain_migrations() -> None:
    # Imported for their side effect: each registers its migration set with schema.register.
    import bot.pipeline.store.chats  # noqa: F401
    import bot.pipeline.store.clusters  # noqa: F401


def open_database(path: str | Path, *, busy_timeout: float = BUSY_TIMEOUT) -> Database:
    """Open (creating if needed) and migrate the database at ``path``."""
    path = Path(path)
    try:
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None)
        db = NewsbotDatabase(conn)
        db.busy_timeout, db.path = busy_timeout, str(path)
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        _load_domain_migrations()
        for migrations in schema.MIGRATION_SETS:
            migrations.apply(db)
    except sqlite3.DatabaseError as exc:
        kind = health.classify(exc, path) or ""
        message = health.describe(kind, path, exc) if kind else f"cannot open the database {path}: {exc}"
        raise StorageError(message, kind) from exc
    except OSError as exc:
        raise StorageError(f"cannot create the database {path}: {exc}") from exc
    return db


def open_snapshot(path: str | Path) -> Database:
    """The database read as it is on disk, without the -wal/-shm files SQLite would create
    (``immutable``): for `newsbot feeds` on a full disk, where a normal open fails. It misses
    what a running newsbot has in its WAL and not yet checkpointed."""
    try:
        return NewsbotDatabase(sqlite3.connect(f"file:{Path(path)}?immutable=1", uri=True))
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"cannot open the database {path}: {exc}") from exc


def check_database(path: str | Path) -> None:
    """``PRAGMA quick_check`` before a command that will write for long: a damaged file is
    reported with what to do (``StorageError(kind="corrupt")``) instead of being written into.
    A file that does not exist yet is fine. Costs one read of the whole file."""
    path = Path(path)
    if str(path) == ":memory:" or not path.exists():
        return
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT)
        try:
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        kind = health.classify(exc, path) or health.CORRUPT
        raise StorageError(health.describe(kind, path, exc), kind) from exc
    if problems != ["ok"]:
        raise StorageError(health.describe(health.CORRUPT, path, problems[0]), health.CORRUPT)


class DbExecutor:
    """Runs ``fn(db, *args)`` on a single thread that owns the connection."""

    def __init__(self, path: str | Path, *, busy_timeout: float = BUSY_TIMEOUT):
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsbot-db")
        self._db: Database | None = None
        self._pool.submit(self._open).result()

    def _open(self) -> None:
        self._db = open_database(self.path, busy_timeout=self.busy_timeout)

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
