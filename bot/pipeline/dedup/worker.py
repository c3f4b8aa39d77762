"""Decide stored articles behind polling: duplicate of what, which story cluster.

Why a worker: storing an article costs about 0.1 ms, deciding it (four duplicate layers, then
scoring candidate clusters) about 2-3 ms, all on the one DB thread. Inside each poll's
transaction, a first poll of 1,000 feeds (50,000 new articles) took 282 s and every feed waited
for the others' dedup. Now a poll stores its articles undecided (``cluster_id IS NULL``) and
ends; this worker decides them in arrival (id) order, a small batch per DB call, so polls'
writes slip in between batches.

What does not change: the decisions (same order, made from the same stored state as before), and
crash safety (an undecided article is simply found again at start-up: a batch is one
transaction). What readers see: search and export show an article once stored; digests and
``newsbot clusters`` read clusters, so a story reaches subscribers once its articles are decided.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable

from bot.errors import StorageError
from bot.pipeline import dedup
from bot.pipeline.store import DbExecutor
from bot.pipeline.store.articles import count_undecided
from bot.pipeline.store.health import StorageHealth

log = logging.getLogger(__name__)

BATCH = 32            # articles per DB call: ~50-100 ms of the DB thread, then a poll may write
RETRY_DELAY = 30.0    # after a database error, before trying the backlog again
Progress = Callable[[int, int], None]   # (decided so far, still undecided)


class DedupWorker:
    """Drains the undecided backlog: on demand (:meth:`drain`) or as a background task
    (:meth:`start`, woken by :meth:`notify` after each poll that stored new articles)."""

    def __init__(self, executor: DbExecutor, clock: Callable[[], float] = time.time, batch: int = BATCH,
                 retry_delay: float = RETRY_DELAY, health: StorageHealth | None = None):
        self.executor = executor
        self.health = health          # the poller's: a storage failure is said once per change
        self.clock = clock
        self.batch = batch
        self.retry_delay = retry_delay
        self.decided = 0
        self.last_error = ""
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        """New undecided articles were stored."""
        self._wake.set()

    async def pending(self) -> int:
        return await self.executor.call(count_undecided)

    async def drain(self, progress: Progress | None = None) -> int:
        """Decide every undecided article, batch after batch; returns how many were decided."""
        total = 0
        backlog = await self.pending() if progress is not None else 0   # counted once, not per batch
        while True:
            taken = await self.executor.call(dedup.decide_pending, self.clock(), self.batch)
            if not taken:
                return total
            total += taken
            self.decided += taken
            if progress is not None:
                progress(total, max(0, backlog - total))

    # -- background ---------------------------------------------------------------------------
    def start(self) -> None:
        """Run in the background on the current event loop; starts with whatever a previous run
        (or a crash) left undecided."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="newsbot-dedup")
            self._wake.set()

    async def stop(self) -> None:
        """Stop after the batch in progress (its transaction completes on the DB thread)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.drain()
                self.last_error = ""
            except Exception as exc:
                # The store is in trouble (disk full, locked too long) or a bug: the articles
                # stay stored and undecided; try again later rather than spin or die.
                self.last_error = f"{type(exc).__name__}: {exc}"
                known = isinstance(exc, sqlite3.DatabaseError | StorageError)
                if known and self.health is not None:
                    self.health.failed(exc)
                else:
                    log.log(logging.ERROR, "dedup backlog: %s; retrying in %.0f s", self.last_error,
                            self.retry_delay, exc_info=not known)
                await asyncio.sleep(self.retry_delay)
                self._wake.set()
