"""Poll one feed end to end: fetch → parse + normalise + tag (worker processes) → store.

Whatever happens, the feed's polling state (last attempt, status, errors, next due time) is
recorded, and a failure in one feed never touches another: each feed is its own task, and an
unexpected exception is caught at this boundary and recorded as that feed's error.

Dedup is not part of a poll: new articles are stored undecided and the pipeline's
:class:`~bot.pipeline.dedup.worker.DedupWorker` decides them behind the polls, in arrival order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from sqlite_utils import Database

from bot.config import Config, FeedConfig
from bot.errors import FeedError, FetchError
from bot.models import FeedPollOutcome, FetchResult, ParsedFeed
from bot.pipeline import dedup
from bot.pipeline.dedup.worker import DedupWorker
from bot.pipeline.dedup.worker import Progress as DedupProgress
from bot.pipeline.fetch.fetcher import Fetcher
from bot.pipeline.parse.prepare import Preparer, Stages
from bot.pipeline.schedule import backoff
from bot.pipeline.store import DbExecutor, health
from bot.pipeline.store import feeds as feed_store
from bot.pipeline.store.articles import save_articles
from bot.pipeline.store.health import StorageHealth

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Progress = Callable[[FeedPollOutcome], None]


def store_parsed(
    db: Database, feed_id: int, parsed: ParsedFeed, result: FetchResult, next_due_at: float, now: float
) -> tuple[list[int], list[int], int]:
    """One transaction: articles in (new ones undecided), changed ones re-indexed for dedup,
    feed state updated."""
    with db.atomic():
        new_ids, updated_ids, unchanged = save_articles(db, feed_id, parsed.articles, now)
        dedup.reindex_articles(db, updated_ids)
        feed_store.record_success(
            db, feed_id, now=now, status=result.status, next_due_at=next_due_at,
            etag=result.etag, last_modified=result.last_modified, title=parsed.title or None,
            ttl_seconds=parsed.ttl_seconds,
            bozo=parsed.bozo_message if parsed.bozo else None,
            permanent_url=result.permanent_url,
        )
    return new_ids, updated_ids, unchanged


class Pipeline:
    """Polls feeds with one shared Fetcher, parse workers and one DB thread; new articles go to
    ``self.dedup`` (woken after each poll that stored some; started by whoever runs it)."""

    def __init__(self, stages: Stages, executor: DbExecutor, fetcher: Fetcher, clock: Clock = time.time):
        self.stages = stages
        self.executor = executor
        self.fetcher = fetcher
        self.clock = clock
        self.preparer = Preparer(stages.config.polling.parse_processes)
        self.health = StorageHealth(executor.path, clock)
        self.dedup = DedupWorker(executor, clock, health=self.health)
        self._running: set[str] = set()

    @property
    def config(self) -> Config:
        return self.stages.config

    async def sync_feeds(self) -> dict[str, int]:
        return await self.executor.call(feed_store.sync_feeds, self.config.feeds, self.clock())

    async def poll_feed(self, feed: FeedConfig, *, force: bool = False) -> FeedPollOutcome:
        """Poll ``feed`` if it is due (or ``force``); never raises for a feed's own failure."""
        if feed.name in self._running:
            return FeedPollOutcome(feed=feed.name, status="skipped", error="already polling")
        if self.health.last_error_kind == health.CORRUPT:     # write nothing more into it
            return FeedPollOutcome(feed=feed.name, status="error", error=self.health.last_error,
                                   storage=health.CORRUPT)
        self._running.add(feed.name)
        started = time.monotonic()
        try:
            try:
                outcome = await self._poll(feed, force=force, started=started)
            except Exception as exc:  # a bug must not take other feeds down: record it on this feed
                if health.error_kind(exc) is not None:
                    raise
                log.exception("internal error while polling %s", feed.name)
                return await self._fail(feed, None, f"internal error: {type(exc).__name__}: {exc}", started)
        except Exception as exc:
            if (kind := health.classify(exc, self.executor.path)) is None:
                raise
            # The database itself failed (disk full, damaged, locked too long): the same for every
            # feed, so it is said once per change of state, and not recorded on the feed (that
            # write would fail too). Nothing is lost: the feed is polled again next time.
            return FeedPollOutcome(feed=feed.name, status="error", error=self.health.failed(exc),
                                   storage=kind, elapsed=time.monotonic() - started)
        finally:
            self._running.discard(feed.name)
        if outcome.status != "skipped":
            self.health.ok()                       # this poll's writes went through
        return outcome

    async def _poll(self, feed: FeedConfig, *, force: bool, started: float) -> FeedPollOutcome:
        state = await self.executor.call(feed_store.feed_state, feed.name)
        if state is None:
            await self.sync_feeds()
            state = await self.executor.call(feed_store.feed_state, feed.name)
        now = self.clock()
        if not force and state["next_due_at"] > now:
            return FeedPollOutcome(feed=feed.name, status="skipped", error="not due")
        try:
            result = await self.fetcher.fetch(
                state["permanent_url"] or feed.url,
                etag=state["etag"], last_modified=state["last_modified"],
            )
        except FetchError as exc:
            return await self._fail(feed, state, str(exc), started, exc.status, exc.retry_after)
        if result.not_modified:
            return await self._not_modified(feed, state, result, started, now)
        try:
            parsed = await self.preparer.prepare(result, feed, self.stages, now)
        except FeedError as exc:
            return await self._fail(feed, state, str(exc), started, result.status)
        # From the poll's start, not its end: the scheduler re-arms the feed's job at this time,
        # so a feed with a 10 s interval is polled every 10 s however long a poll takes.
        due = backoff.next_due_after_success(
            now, feed.interval, self.config.polling.jitter, parsed.ttl_seconds
        )
        new_ids, updated_ids, unchanged = await self.executor.call(
            store_parsed, state["id"], parsed, result, due, now
        )
        if new_ids:
            self.dedup.notify()
        return FeedPollOutcome(
            feed=feed.name, status="ok", http_status=result.status, new=len(new_ids),
            updated=len(updated_ids), unchanged=unchanged,
            bozo=parsed.bozo_message if parsed.bozo else "",
            elapsed=time.monotonic() - started, article_ids=tuple(new_ids),
        )

    async def _not_modified(
        self, feed: FeedConfig, state: dict, result: FetchResult, started: float, polled_at: float
    ) -> FeedPollOutcome:
        now = self.clock()
        due = backoff.next_due_after_success(
            polled_at, feed.interval, self.config.polling.jitter, state["ttl_seconds"]
        )
        await self.executor.call(
            lambda db: feed_store.record_success(
                db, state["id"], now=now, status=304, next_due_at=due, etag=result.etag,
                last_modified=result.last_modified, permanent_url=result.permanent_url,
            )
        )
        return FeedPollOutcome(
            feed=feed.name, status="not-modified", http_status=304,
            elapsed=time.monotonic() - started,
        )

    async def _fail(
        self,
        feed: FeedConfig,
        state: dict | None,
        error: str,
        started: float,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> FeedPollOutcome:
        now = self.clock()
        if state is None:
            state = await self.executor.call(feed_store.feed_state, feed.name)
        if state is not None:
            polling = self.config.polling
            decision = backoff.after_failure(
                now, feed.interval, state["error_count"], state["first_error_at"],
                polling.max_backoff, polling.dead_after, retry_after,
            )
            await self.executor.call(
                lambda db: feed_store.record_failure(
                    db, state["id"], now=now, status=status, error=error, decision=decision
                )
            )
        log.warning("feed %s: %s", feed.name, error)
        return FeedPollOutcome(
            feed=feed.name, status="error", http_status=status, error=error,
            elapsed=time.monotonic() - started,
        )

    async def poll_many(
        self, feeds: Iterable[FeedConfig], *, force: bool = True, progress: Progress | None = None
    ) -> list[FeedPollOutcome]:
        """Poll feeds concurrently (the Fetcher's limits bound the parallelism)."""

        async def one(feed: FeedConfig) -> FeedPollOutcome:
            outcome = await self.poll_feed(feed, force=force)
            if progress is not None:
                progress(outcome)
            return outcome

        return list(await asyncio.gather(*(one(f) for f in feeds)))


async def poll_once(
    config: Config,
    executor: DbExecutor,
    *,
    feed_names: Iterable[str] | None = None,
    progress: Progress | None = None,
    dedup_progress: DedupProgress | None = None,
    clock: Clock = time.time,
) -> list[FeedPollOutcome]:
    """Poll every enabled feed (or the named ones) once now, regardless of due times, then
    decide every undecided article (dedup runs after the polls, not between them)."""
    feeds = [f for f in config.feeds if f.enabled]
    if feed_names is not None:
        wanted = set(feed_names)
        feeds = [f for f in config.feeds if f.name in wanted]
    async with Fetcher(config.polling) as fetcher:
        pipeline = Pipeline(Stages.from_config(config), executor, fetcher, clock)
        await pipeline.sync_feeds()
        outcomes = await pipeline.poll_many(feeds, force=True, progress=progress)
    if pipeline.health.healthy:        # else the articles stay undecided until the store works
        await pipeline.dedup.drain(dedup_progress)
    return outcomes
