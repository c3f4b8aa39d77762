"""Run the poller unattended: one APScheduler job per feed, config hot reload, retention.

Each feed has its own job (``max_instances=1``, coalescing, a generous misfire grace time). The
database says when a feed is due: the interval plus jitter from the last poll's start, backoff
after failures, a feed's ``<ttl>`` and ``Retry-After`` all live in ``feeds.next_due_at``, not in
the scheduler, so a restart keeps them. After each run the job is re-armed at that due time, so
schedule and due time agree (a job firing on its own grid found the feed "not due" every other
time: feeds were polled at half their rate). The job's interval trigger is only a fallback
should a run end without re-arming.

New articles are decided (duplicates, story clusters) by the pipeline's dedup worker, a
background task started here, which first takes whatever a previous run left undecided.

The config file's mtime is checked every ``polling.reload_check``: new feeds start polling,
removed ones stop, changed intervals apply, changed tags re-tag the last 7 days. An invalid edit
is logged and the last good config keeps running. A reload is all or nothing: one that fails on
the database (locked, disk full) changes nothing, is logged as "config reload failed: …" and is
tried again at the next check.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Config, FeedConfig, keep_start_settings, load_config
from bot.errors import ConfigError, NewsbotError
from bot.observe.health import poll_freshness
from bot.observe.instruments import record_poll
from bot.pipeline.fetch.fetcher import Fetcher
from bot.pipeline.parse.prepare import Stages
from bot.pipeline.poll import Pipeline
from bot.pipeline.store import DbExecutor, health
from bot.pipeline.store import feeds as feed_store
from bot.pipeline.store.health import StorageHealth
from bot.pipeline.store.retention import apply_retention
from bot.pipeline.tagging import retag

log = logging.getLogger(__name__)

JOB_PREFIX = "poll:"
RETAG_WINDOW = 7 * 86400.0
ReloadListener = Callable[[Config], None]


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


async def _close_later(fetcher: Fetcher, delay: float) -> None:
    """Close a replaced fetcher once its in-flight fetches have had time to finish."""
    try:
        await asyncio.sleep(delay)
    finally:
        await fetcher.aclose()


class FeedScheduler:
    """Polls configured feeds on an AsyncIOScheduler (for example PTB's ``job_queue.scheduler``)."""

    def __init__(
        self,
        config: Config,
        executor: DbExecutor,
        scheduler: AsyncIOScheduler,
        *,
        clock: Callable[[], float] = time.time,
        first_poll_within: float = 5.0,
    ):
        self.executor = executor
        self.scheduler = scheduler
        self.clock = clock
        self.first_poll_within = first_poll_within
        self.fetcher = Fetcher(config.polling)
        self.pipeline = Pipeline(Stages.from_config(config), executor, self.fetcher, clock)
        self.listeners: list[ReloadListener] = []
        self._mtime = _mtime(config.path)
        self.last_reload_error: str = ""
        self.last_poll_at: float | None = None
        self.started_at: float | None = None    # set by start(), None again after shutdown()
        self._retiring: dict[asyncio.Task[None], Fetcher] = {}   # old fetchers closing after a reload

    @property
    def config(self) -> Config:
        return self.pipeline.config

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Schedule everything; the first polls are spread over the first few seconds."""
        self.executor.call_sync(feed_store.sync_feeds, self.config.feeds, self.clock())
        self._schedule_feeds(self.config)
        self.scheduler.add_job(
            self._check_reload, IntervalTrigger(seconds=self.config.polling.reload_check),
            id="config-reload", max_instances=1, coalesce=True, replace_existing=True,
            misfire_grace_time=60,
        )
        self.scheduler.add_job(
            self._prune, IntervalTrigger(hours=6), id="retention",
            next_run_time=datetime.now(UTC) + timedelta(seconds=30),
            max_instances=1, coalesce=True, replace_existing=True, misfire_grace_time=3600,
        )
        if not self.scheduler.running:
            self.scheduler.start()
        self.pipeline.dedup.start()       # also decides what a previous run left undecided
        self.started_at = self.clock()

    async def shutdown(self) -> None:
        self.started_at = None
        for job in self.scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) or job.id in ("config-reload", "retention"):
                job.remove()
        retiring = dict(self._retiring)
        for task in retiring:
            task.cancel()
        await asyncio.gather(*retiring, return_exceptions=True)
        for fetcher in retiring.values():        # a task cancelled before it ran closed nothing
            await fetcher.aclose()
        await self.pipeline.dedup.stop()
        await self.fetcher.aclose()

    def health_problem(self, now: float) -> str | None:
        """Why the poller is unhealthy (for /healthz), or None: it must be started, its scheduler
        running, and some poll job must have finished recently (``poll_freshness``). Another
        poller state that should fail the health check returns its one-line reason here."""
        if self.started_at is None or not self.scheduler.running:
            return "the feed scheduler is not running"
        if self.health.last_error_kind is not None:     # disk full, database locked or damaged
            return self.health.last_error
        limit = poll_freshness(self.config)
        if limit is None:
            return None                   # no enabled feed: nothing to be late for
        last = self.last_poll_at or self.started_at + self.first_poll_within
        if now - last > limit:
            return f"no poll finished for {now - last:.0f} s (expected within {limit:.0f} s)"
        return None

    # -- jobs --------------------------------------------------------------------------------
    def _job_id(self, feed: FeedConfig) -> str:
        return JOB_PREFIX + feed.name

    def _schedule_feeds(self, config: Config) -> None:
        wanted = {self._job_id(f): f for f in config.feeds if f.enabled}
        for job in self.scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
                job.remove()
                log.info("stopped polling %s", job.id[len(JOB_PREFIX):])
        for job_id, feed in wanted.items():
            existing = self.scheduler.get_job(job_id)
            trigger = IntervalTrigger(seconds=feed.interval)   # jitter is in next_due_at
            if existing is not None:
                if existing.trigger.interval.total_seconds() != feed.interval:
                    existing.reschedule(trigger)
                continue
            self.scheduler.add_job(
                self._poll_job, trigger, args=[feed.name], id=job_id, max_instances=1,
                coalesce=True, misfire_grace_time=int(max(60, feed.interval)),
                next_run_time=datetime.now(UTC)
                + timedelta(seconds=random.uniform(0, self.first_poll_within)),
            )

    async def _poll_job(self, name: str) -> None:
        feed = self.config.feed(name)
        if feed is None or not feed.enabled:
            return
        await self.fetcher.open()
        try:
            outcome = await self.pipeline.poll_feed(feed)
        except asyncio.CancelledError:
            # Shutdown while polling: the feed's transaction was not committed and its state says
            # when to poll it next; nothing to report as an error.
            log.info("poll of %s cancelled by shutdown", name)
            return
        self.last_poll_at = self.clock()
        record_poll(outcome)
        if outcome.storage:
            # Its state could not be written: try again after an interval, not at once.
            self._move_job(feed, self.clock() + feed.interval)
        elif outcome.error != "already polling":    # that run re-arms the job itself
            await self._rearm(feed)
        if outcome.status not in ("skipped",):
            log.info("polled %s: %s new=%d updated=%d %s", name, outcome.status, outcome.new,
                     outcome.updated, outcome.error)

    async def _rearm(self, feed: FeedConfig) -> None:
        """Move the feed's next run to its due time (never into the past)."""
        try:
            state = await self.executor.call(feed_store.feed_state, feed.name)
        except Exception as exc:
            if health.error_kind(exc) is None:
                raise
            self.health.failed(exc)
            state = None                      # the job's interval trigger fires it again
        if state is not None:
            self._move_job(feed, float(state["next_due_at"]))

    def _move_job(self, feed: FeedConfig, due: float) -> None:
        """Next run in ``due - clock()`` seconds (never in the past). Relative, because the
        scheduler runs on the wall clock and ``self.clock`` may be another (tests)."""
        job = self.scheduler.get_job(self._job_id(feed))
        if job is not None:
            delay = max(0.0, due - self.clock())
            job.modify(next_run_time=datetime.now(UTC) + timedelta(seconds=delay))

    @property
    def health(self) -> StorageHealth:
        """The poller's storage health (``last_error_kind``: None, "disk-full", "locked",
        "corrupt", "io-error"; ``status()``): for /stats and a health check."""
        return self.pipeline.health

    async def _prune(self) -> None:
        cutoff = self.clock() - self.config.storage.retention_days * 86400
        deleted = await self.executor.call(apply_retention, cutoff)
        if deleted:
            log.info("retention: pruned %d articles", deleted)

    # -- reload ------------------------------------------------------------------------------
    async def _check_reload(self) -> None:
        mtime = _mtime(self.config.path)
        if mtime is None or mtime == self._mtime:
            return
        await self.reload_now()

    async def reload_now(self) -> str:
        """Re-read the config file; returns a one-line summary (or the error, config kept).

        All or nothing: the database work (feeds table, re-tag) comes first, and the new config
        is swapped in only once it all worked. An invalid file is reported once and waits for
        the next edit; any other failure (the database locked or full) leaves the running config
        untouched and the file's mtime unrecorded, so the next check tries again. The mtime is
        read before the file, so the mtime check need not reload what this call applied.
        """
        mtime = _mtime(self.config.path)
        try:
            config = load_config(self.config.path)
        except ConfigError as exc:
            self._mtime = mtime
            self.last_reload_error = str(exc)
            log.error("config reload failed, keeping the running config:\n%s", exc)
            return "config not reloaded: " + "; ".join(exc.problems)
        config, needs_restart = keep_start_settings(self.config, config)
        try:
            stages, count = await self._apply_to_store(config)
        except Exception as exc:
            known = isinstance(exc, NewsbotError | sqlite3.Error)    # a traceback only for a bug
            self.last_reload_error = str(exc) if known else f"{type(exc).__name__}: {exc}"
            log.error("config reload failed: %s; keeping the running config, retrying at the next "
                      "check", self.last_reload_error, exc_info=not known)
            return f"config not reloaded: {self.last_reload_error}"
        self._swap_in(config, stages)
        self._mtime = mtime
        if needs_restart:
            log.warning("config reload: %s changed; restart newsbot for it to apply (still using "
                        "the values it started with)", ", ".join(needs_restart))
        self.last_reload_error = ""
        if count is not None:
            log.info("tags changed: re-tagged %d articles of the last 7 days", count)
        for listener in self.listeners:
            listener(config)
        summary = f"config reloaded: {len(config.feeds)} feeds, {len(config.tags)} tags"
        log.info(summary)
        return summary

    async def _apply_to_store(self, config: Config) -> tuple[Stages, int | None]:
        """The reload's database work (idempotent, so a retry redoes it safely): the feeds table
        made to match, and a re-tag of the last 7 days when tags changed. Returns the new stages
        and the re-tag count (None when no re-tag was needed)."""
        old = self.config
        stages = Stages.from_config(config)
        now = self.clock()
        await self.executor.call(feed_store.sync_feeds, config.feeds, now)
        feed_tags = {f.name: f.tags for f in config.feeds}
        if old.tags == config.tags and feed_tags == {f.name: f.tags for f in old.feeds}:
            return stages, None
        count = await self.executor.call(
            retag.retag_articles, stages.tagger, now - RETAG_WINDOW, now, feed_tags,
        )
        return stages, count

    def _swap_in(self, config: Config, stages: Stages) -> None:
        """Install a config whose database work is done (nothing here can fail on the store)."""
        old = self.config
        self.pipeline.stages = stages
        self.pipeline.preparer.processes = config.polling.parse_processes
        if old.polling != config.polling:
            # New timeouts and limits need a new client; in-flight fetches finish on the old one.
            old_fetcher, self.fetcher = self.fetcher, Fetcher(config.polling)
            self.pipeline.fetcher = self.fetcher
            task = asyncio.create_task(_close_later(old_fetcher, old.polling.timeout + 1))
            self._retiring[task] = old_fetcher     # keep a reference until it is done
            task.add_done_callback(lambda done: self._retiring.pop(done, None))
        self._schedule_feeds(config)
