"""Long-running poller without Telegram (`newsbot poll`): the scheduler until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Config
from bot.observe.health import Health
from bot.observe.server import start_metrics
from bot.pipeline.schedule.scheduler import FeedScheduler
from bot.pipeline.store import DbExecutor

log = logging.getLogger(__name__)


async def serve_poller(config: Config, stop: asyncio.Event) -> None:
    """Poll on schedule until ``stop`` is set; then shut down cleanly."""
    executor = DbExecutor(config.storage.path)
    scheduler = AsyncIOScheduler(timezone=UTC)
    feeds = FeedScheduler(config, executor, scheduler)
    health = Health()
    health.add("poller", feeds.health_problem)
    metrics = None
    try:
        metrics = start_metrics(config, health)
        feeds.start()
        log.warning("polling %d feeds; Ctrl-C to stop", sum(f.enabled for f in config.feeds))
        await stop.wait()
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await feeds.shutdown()
        if metrics is not None:
            metrics.stop()
        executor.close()


def run_poller(config: Config) -> int:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve_poller(config, stop)

    asyncio.run(main())
    return 0
