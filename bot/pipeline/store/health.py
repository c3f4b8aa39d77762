"""Storage health: what kind of trouble a database error is, said once per change of state.

A full disk or a damaged file makes every write fail, for every feed, until someone acts. Logging
a traceback per feed per poll buries the one thing to say, so :class:`StorageHealth` logs one
line when the state changes ("disk full: …", then "storage recovered: …") and keeps the state for
whoever reports it (``newsbot poll --once``'s exit status, ``/stats``, a health check).

Kinds (``StorageHealth.last_error_kind``, ``StorageError.kind``):

    disk-full   SQLITE_FULL or ENOSPC: free space, polling resumes by itself
    locked      another process held the write lock longer than the busy timeout
    corrupt     SQLITE_CORRUPT / SQLITE_NOTADB: restore from a backup (``newsbot backup``)
    io-error    SQLITE_IOERR, SQLITE_READONLY, SQLITE_CANTOPEN and other OS-level failures
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.errors import StorageError

log = logging.getLogger(__name__)

DISK_FULL, LOCKED, CORRUPT, IO_ERROR = "disk-full", "locked", "corrupt", "io-error"
_BY_CODE = {
    sqlite3.SQLITE_FULL: DISK_FULL,
    sqlite3.SQLITE_BUSY: LOCKED,
    sqlite3.SQLITE_LOCKED: LOCKED,
    sqlite3.SQLITE_CORRUPT: CORRUPT,
    sqlite3.SQLITE_NOTADB: CORRUPT,
    sqlite3.SQLITE_IOERR: IO_ERROR,
    sqlite3.SQLITE_READONLY: IO_ERROR,
    sqlite3.SQLITE_CANTOPEN: IO_ERROR,
}
# Below this many free bytes a database's file system counts as full for `newsbot feeds`: SQLite
# needs whole pages (and WAL frames) to write anything.
FULL_BELOW = 1 << 20


def error_kind(exc: BaseException) -> str | None:
    """The storage trouble ``exc`` stands for, or None when it is not a storage failure."""
    if isinstance(exc, StorageError):
        return exc.kind or IO_ERROR
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None:
            return _BY_CODE.get(code & 0xFF)
        message = str(exc)
        if "locked" in message:
            return LOCKED
        if "malformed" in message or "not a database" in message:
            return CORRUPT
        return None
    if isinstance(exc, OSError):
        return DISK_FULL if exc.errno in (errno.ENOSPC, errno.EDQUOT) else IO_ERROR
    return None


def classify(exc: BaseException, path: str | Path) -> str | None:
    """:func:`error_kind`, except that an I/O error on a file system with no room left is a full
    disk (SQLite says "disk I/O error" when it cannot grow the -shm or -wal file)."""
    kind = error_kind(exc)
    if kind == IO_ERROR and disk_full(path):
        return DISK_FULL
    return kind


def describe(kind: str, path: str | Path, exc: BaseException | str) -> str:
    """One line saying what happened to the database at ``path`` and what to do about it."""
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if kind == DISK_FULL:
        return (f"disk full: cannot write to the database {path} ({detail}); free some space, "
                "newsbot carries on by itself")
    if kind == LOCKED:
        return (f"database locked: another process kept {path} locked for too long ({detail}); "
                "is another newsbot writing to it?")
    if kind == CORRUPT:
        return (f"database damaged: {path} ({detail}); stop newsbot and restore a copy made with "
                "`newsbot backup` (or move the file away to start afresh)")
    return f"database error: {path} ({detail})"


def as_storage_error(exc: BaseException, path: str | Path) -> StorageError | None:
    """``exc`` translated to a one-line StorageError, when it is a storage failure."""
    kind = classify(exc, path)
    if kind is None:
        return None
    if isinstance(exc, StorageError) and exc.kind == kind:
        return exc
    return StorageError(describe(kind, path, exc), kind)


def free_bytes(path: str | Path) -> int | None:
    """Bytes this process could still write on the file system holding ``path``."""
    try:
        st = os.statvfs(Path(path).parent)
    except OSError:
        return None
    blocks = st.f_bfree if os.geteuid() == 0 else st.f_bavail   # root may use reserved blocks
    return blocks * st.f_frsize


def disk_full(path: str | Path) -> str | None:
    """"disk full: …" when the database's file system has (almost) no room left, else None."""
    free = free_bytes(path)
    if free is None or free >= FULL_BELOW:
        return None
    return (f"disk full: {free} bytes free for the database {path}; nothing can be stored until "
            "space is freed")


class StorageHealth:
    """The last storage failure seen by the poller, reported once per change of state.

    API for reporters (``/stats``, a health check): ``last_error_kind`` (None when healthy),
    ``last_error`` (the one line), ``since`` (epoch seconds) and ``status()`` (all as a dict).
    """

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.clock = clock
        self.last_error_kind: str | None = None
        self.last_error = ""
        self.since: float | None = None
        self.failures = 0            # failed writes since the state began

    @property
    def healthy(self) -> bool:
        return self.last_error_kind is None

    def failed(self, exc: BaseException) -> str:
        """Record a storage failure; logs only when the kind changes. Returns the one line."""
        kind = classify(exc, self.path) or IO_ERROR
        line = (str(exc) if isinstance(exc, StorageError) and exc.kind == kind
                else describe(kind, self.path, exc))
        if kind != self.last_error_kind:
            log.error("%s", line)
            self.last_error_kind, self.since, self.failures = kind, self.clock(), 0
        self.last_error = line
        self.failures += 1
        return line

    def ok(self) -> None:
        """A write worked: the trouble, if any, is over."""
        if self.last_error_kind is None:
            return
        log.warning("storage recovered: %s after %d failed writes (%s)", self.path, self.failures,
                    self.last_error_kind)
        self.last_error_kind, self.last_error, self.since, self.failures = None, "", None, 0

    def status(self) -> dict[str, Any]:
        return {"ok": self.healthy, "kind": self.last_error_kind, "error": self.last_error,
                "since": self.since, "failures": self.failures}
