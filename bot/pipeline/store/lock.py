"""One newsbot per database: an exclusive ``flock`` on a lock file next to it.

Two ``newsbot run`` on one database both resume the digests the other is still sending (parts
arrive twice) and fight over the write lock. So a long-running command (``run``, ``poll``) takes
``<database>.lock`` at start and keeps it until it exits; the kernel drops it when the process
dies, ``kill -9`` included, so a stale file never blocks a restart. A second long-running one
exits at once, naming the holder. One-shot writers (``poll --once``, ``retag``) take the same
lock: they refuse at once when a long-running instance holds it (it polls and re-tags by itself).
Whoever finds a one-shot command holding it waits for it to finish (up to ``wait`` seconds).

The holder writes its pid and command into the file, for the message of whoever is refused.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path

from bot.errors import StorageError

LONG_RUNNING = ("run", "poll")


def lock_path(db_path: str | Path) -> Path:
    return Path(str(db_path) + ".lock")


def _holder(fd: int) -> tuple[str, str]:
    """(pid, command) written by the current holder ("?" while it has not written them yet)."""
    for _ in range(20):
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
        if len(text) >= 2:
            return text[0], " ".join(text[1:])
        time.sleep(0.01)
    return "?", "?"


class InstanceLock:
    """Held for the life of the process (or until ``release``)."""

    def __init__(self, db_path: str | Path, command: str):
        self.db_path = Path(db_path)
        self.path = lock_path(db_path)
        self.command = command
        self._fd: int | None = None

    def acquire(self, wait: float = 0.0, notify: Callable[[str], None] | None = None) -> InstanceLock:
        """Take the lock or raise a one-line ``StorageError(kind="instance")``; ``notify`` is told
        once when this has to wait for a one-shot command."""
        if str(self.db_path) == ":memory:":
            return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(f"cannot create the lock file {self.path}: {exc}", "io-error") from exc
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                pid, command = _holder(fd)
                if command in LONG_RUNNING or time.monotonic() >= deadline:
                    os.close(fd)
                    raise StorageError(self._refusal(pid, command), "instance") from None
                if notify is not None:
                    notify(f"waiting for `newsbot {command}` (pid {pid}) to finish with {self.db_path}")
                    notify = None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {self.command}\n".encode(), 0)
        self._fd = fd
        return self

    def _refusal(self, pid: str, command: str) -> str:
        if command not in LONG_RUNNING:
            what = "it is still running; try again once it is done"
        elif self.command in LONG_RUNNING:
            what = "stop it first"
        else:
            what = "it polls and re-tags by itself; stop it first to run this by hand"
        return (f"another newsbot (`newsbot {command}`, pid {pid}) is using {self.db_path}: {what} "
                f"(lock: {self.path})")

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)        # closing the descriptor drops the flock
            self._fd = None
