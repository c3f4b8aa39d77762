"""``newsbot backup PATH``: a consistent copy of the live database, taken while newsbot runs.

``VACUUM INTO`` on a read-only connection: one read transaction, so the copy is a snapshot of
one moment even while the poller writes (WAL lets the writer go on meanwhile), compacted, and
never touches the live file. It goes to a temporary file beside the target, is checked with
``PRAGMA integrity_check`` and flushed to disk, then renamed over the target: a failed or
interrupted backup never leaves a half-written file under the target's name.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from bot.errors import NewsbotError, StorageError


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    articles: int
    seconds: float


def backup_database(source: Path, target: Path, *, force: bool = False) -> BackupResult:
    if not source.is_file():
        raise StorageError(f"no database at {source} (nothing polled yet?)")
    if target.resolve() == source.resolve():
        raise NewsbotError(f"{target} is the live database itself: pick another path")
    if target.exists() and not force:
        raise NewsbotError(f"{target} already exists: not overwritten (--force replaces it)")
    started = time.monotonic()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)
        _vacuum_into(source, tmp)
        articles = _check(tmp)
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except sqlite3.Error as exc:
        raise StorageError(f"backup of {source} failed: {exc}") from None
    except OSError as exc:
        raise StorageError(f"cannot write the backup {target}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):      # no folder to clean up in: nothing was written
            tmp.unlink(missing_ok=True)
    return BackupResult(target, target.stat().st_size, articles, time.monotonic() - started)


def _vacuum_into(source: Path, tmp: Path) -> None:
    conn = sqlite3.connect(source.resolve().as_uri() + "?mode=ro", uri=True, timeout=30)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("VACUUM INTO ?", (str(tmp),))
    finally:
        conn.close()


def _check(path: Path) -> int:
    """``integrity_check`` of the copy; its article count."""
    conn = sqlite3.connect(path)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise StorageError(f"the backup failed its integrity check: {'; '.join(problems[:3])}")
        return int(conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0])
    finally:
        conn.close()
