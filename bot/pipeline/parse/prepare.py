"""Parse, normalise and tag one fetched body: the CPU-heavy step, kept off the event loop.

It runs in worker processes (``polling.parse_processes``, default one per CPU up to 4), not in
threads: feedparser is pure Python, so in a thread it holds the GIL that fetching, storing and
the Telegram bot need (a first poll of 1,000 feeds spent about half its time parsing), and a
hostile body (a 5 MB title, deeply nested markup) would stall the whole bot. A worker has a
memory limit, and if one dies (killed, out of memory) the feeds it was parsing are retried each
in a fresh process of its own, so only a feed that kills its parser again gets an error.
``parse_processes = 0`` parses in a thread of the main process instead.

The pool is shared by everything in the process (started on first use, reused across config
reloads): the workers receive the cleaning rules and tags as a pickled spec with each job and
rebuild their :class:`Stages` only when the spec changes.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import os
import pickle
import resource
import signal
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from bot.config import Config, FeedConfig
from bot.errors import FeedError, ParseError
from bot.models import FetchResult, ParsedFeed
from bot.pipeline.parse.feed import parse_feed
from bot.pipeline.parse.normalize import Cleaner
from bot.pipeline.tagging import Tagger

WORKER_MEMORY_LIMIT = 2 * 1024**3   # address space of one parse worker, bytes


@dataclass
class Stages:
    """What a poll needs besides I/O, rebuilt together when the config is reloaded."""

    config: Config
    cleaner: Cleaner
    tagger: Tagger
    _spec: tuple[bytes, bytes] | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, config: Config) -> Stages:
        return cls(
            config=config,
            cleaner=Cleaner(config.cleaning.extra_boilerplate),
            tagger=Tagger.from_config(config.tags),
        )

    def spec(self) -> tuple[bytes, bytes]:
        """(key, pickled cleaning rules and tags): what a worker needs to rebuild the stages."""
        if self._spec is None:
            blob = pickle.dumps((self.config.cleaning.extra_boilerplate, self.config.tags))
            self._spec = (hashlib.blake2b(blob, digest_size=16).digest(), blob)
        return self._spec


def prepare_articles(
    result: FetchResult, feed: FeedConfig, cleaner: Cleaner, tagger: Tagger, now: float
) -> ParsedFeed:
    """Parse, normalise and tag one fetched body. CPU-bound and pure."""
    parsed = parse_feed(
        result.body,
        url=result.final_url or result.url,
        headers=result.headers,
        cleaner=cleaner,
        fallback_language=feed.language,
        now=now,
    )
    for article in parsed.articles:
        if feed.source and not article.is_google_news:
            article.source = feed.source
        article.tags = tagger.tag(article.title, article.summary)
        for tag in feed.tags:
            article.tags.setdefault(tag, f"feed:{feed.name}")
    return parsed


# -- worker side ------------------------------------------------------------------------------

_worker_stages: dict[bytes, tuple[Cleaner, Tagger]] = {}


def _exit_with_parent(parent: int) -> None:
    """A worker whose parent died (SIGKILL leaves no time to stop the pool) exits too, instead
    of waiting forever on a queue its siblings still hold open."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C is the parent's to handle
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = WORKER_MEMORY_LIMIT if hard == resource.RLIM_INFINITY else min(hard, WORKER_MEMORY_LIMIT)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _prepare_in_worker(
    key: bytes, blob: bytes, result: FetchResult, feed: FeedConfig, now: float
) -> ParsedFeed | str:
    """A job: the parsed feed, or the text of the feed's error (exceptions with extra fields
    do not survive pickling whole)."""
    tools = _worker_stages.get(key)
    if tools is None:
        extra_boilerplate, tags = pickle.loads(blob)
        tools = (Cleaner(extra_boilerplate), Tagger.from_config(tags))
        _worker_stages.clear()
        _worker_stages[key] = tools
    try:
        return prepare_articles(result, feed, *tools, now)
    except FeedError as exc:
        return str(exc)
    except MemoryError:
        return f"the feed needs more than {WORKER_MEMORY_LIMIT >> 20} MB to parse"
    except RecursionError:
        return "the feed is nested too deeply to parse"


# -- parent side ------------------------------------------------------------------------------

_lock = threading.Lock()
_shared: ProcessPoolExecutor | None = None
_shared_size = 0


def _new_pool(processes: int) -> ProcessPoolExecutor:
    # spawn, not fork: the parent has threads (DB, asyncio executors) a fork would copy mid-state.
    return ProcessPoolExecutor(
        max_workers=processes, mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
    )


def _pool(processes: int) -> ProcessPoolExecutor:
    global _shared, _shared_size
    with _lock:
        if _shared is None or _shared_size != processes:
            if _shared is not None:
                _shared.shutdown(wait=False)
            _shared, _shared_size = _new_pool(processes), processes
        return _shared


def _discard(pool: ProcessPoolExecutor) -> None:
    """Forget a broken pool (once, however many jobs saw it break)."""
    global _shared
    with _lock:
        if _shared is pool:
            _shared = None
    pool.shutdown(wait=False)


def worker_pids() -> list[int]:
    """Process ids of the shared parse workers now running (for `ps`-style reports and tests)."""
    with _lock:
        pool = _shared
    processes = getattr(pool, "_processes", None) or {}
    return sorted(pid for pid, proc in dict(processes).items() if proc.is_alive())


def shutdown_workers() -> None:
    """Stop the shared worker processes (they also exit by themselves with this process)."""
    global _shared
    with _lock:
        pool, _shared = _shared, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


class Preparer:
    """Runs :func:`prepare_articles` for the pipeline, in worker processes or in a thread."""

    def __init__(self, processes: int):
        self.processes = processes

    async def prepare(self, result: FetchResult, feed: FeedConfig, stages: Stages, now: float) -> ParsedFeed:
        if self.processes <= 0:
            return await asyncio.to_thread(prepare_articles, result, feed, stages.cleaner, stages.tagger, now)
        key, blob = stages.spec()
        pool = _pool(self.processes)
        try:
            outcome = await self._run(pool, key, blob, result, feed, now)
        except BrokenProcessPool:
            _discard(pool)
            outcome = await self._isolated(key, blob, result, feed, now)
        if isinstance(outcome, str):
            raise ParseError(outcome, result.url)
        return outcome

    @staticmethod
    async def _run(pool: Executor, key: bytes, blob: bytes, result: FetchResult, feed: FeedConfig,
                   now: float) -> ParsedFeed | str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool, _prepare_in_worker, key, blob, result, feed, now)

    async def _isolated(self, key: bytes, blob: bytes, result: FetchResult, feed: FeedConfig,
                        now: float) -> ParsedFeed | str:
        """A worker died while this feed was in the pool: try it again alone, so that a feed
        that kills its parser is found out and the others it shared the pool with are not."""
        single = _new_pool(1)
        try:
            return await self._run(single, key, blob, result, feed, now)
        except BrokenProcessPool:
            return "the parser process died on this feed (out of memory or crashed)"
        finally:
            single.shutdown(wait=False)
