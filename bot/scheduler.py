"""Run the poller unattended: one APScheduler job per feed, config hot reload, retention.

Each feed has its own interval job (jitter, ``max_instances=1``, coalescing, a generous misfire
grace time). The job asks the database whether the feed is due: backoff after failures, a
feed's ``<ttl>`` and ``Retry-After`` all live in ``feeds.next_due_at``, not in the scheduler, so
a restart keeps them.

New articles are decided (duplicates, story clusters) by the pipeline's dedup worker, a
background task started here, which first takes whatever a previous run left undecided.

The config file's mtime is checked every ``polling.reload_check``: new feeds start polling,
removed ones stop, changed intervals apply, changed tags re-tag the last 7 days. An invalid edit
is logged and the last good config keeps running.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot import retag
from bot.config import Config, FeedConfig, keep_start_settings, load_config
from bot.errors import ConfigError
from bot.fetch import Fetcher
from bot.observe.health import poll_freshness
from bot.observe.instruments import record_poll
from bot.pipeline import Pipeline
from bot.prepare import Stages
from bot.store import DbExecutor
from bot.store import feeds as feed_store
from bot.store.retention import apply_retention

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
        self._retiring: set[asyncio.Task[None]] = set()   # old fetchers closing after a reload

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
        retiring = list(self._retiring)
        for task in retiring:
            task.cancel()
        await asyncio.gather(*retiring, return_exceptions=True)
        await self.pipeline.dedup.stop()
        await self.fetcher.aclose()

    def health_problem(self, now: float) -> str | None:
        """Why the poller is unhealthy (for /healthz), or None: it must be started, its scheduler
        running, and some poll job must have finished recently (``poll_freshness``). Another
        poller state that should fail the health check returns its one-line reason here."""
        if self.started_at is None or not self.scheduler.running:
            return "the feed scheduler is not running"
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
            trigger = IntervalTrigger(seconds=feed.interval, jitter=int(config.polling.jitter) or None)
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
        if outcome.status not in ("skipped",):
            log.info("polled %s: %s new=%d updated=%d %s", name, outcome.status, outcome.new,
                     outcome.updated, outcome.error)

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
        self._mtime = mtime
        await self.reload_now()

    async def reload_now(self) -> str:
        """Re-read the config file; returns a one-line summary (or the error, config kept)."""
        self._mtime = _mtime(self.config.path)     # read now: the mtime check need not do it again
        try:
            config = load_config(self.config.path)
        except ConfigError as exc:
            self.last_reload_error = str(exc)
            log.error("config reload failed, keeping the running config:\n%s", exc)
            return "config not reloaded: " + "; ".join(exc.problems)
        old = self.config
        config, needs_restart = keep_start_settings(old, config)
        if needs_restart:
            log.warning("config reload: %s changed; restart newsbot for it to apply (still using "
                        "the values it started with)", ", ".join(needs_restart))
        self.pipeline.stages = Stages.from_config(config)
        self.pipeline.preparer.processes = config.polling.parse_processes
        if old.polling != config.polling:
            # New timeouts and limits need a new client; in-flight fetches finish on the old one.
            old_fetcher, self.fetcher = self.fetcher, Fetcher(config.polling)
            self.pipeline.fetcher = self.fetcher
            task = asyncio.create_task(_close_later(old_fetcher, old.polling.timeout + 1))
            self._retiring.add(task)             # keep a reference until it is done
            task.add_done_callback(self._retiring.discard)
        await self.pipeline.sync_feeds()
        self._schedule_feeds(config)
        self.last_reload_error = ""
        feed_tags = {f.name: f.tags for f in config.feeds}
        if old.tags != config.tags or feed_tags != {f.name: f.tags for f in old.feeds}:
            count = await self.executor.call(
                retag.retag_articles, self.pipeline.stages.tagger, self.clock() - RETAG_WINDOW,
                self.clock(), feed_tags,
            )
            log.info("tags changed: re-tagged %d articles of the last 7 days", count)
        for listener in self.listeners:
            listener(config)
        summary = f"config reloaded: {len(config.feeds)} feeds, {len(config.tags)} tags"
        log.info(summary)
        return summary
