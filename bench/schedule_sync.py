"""Digest schedule upkeep with many subscribers: how long the event loop is held.

N chats with two digest times each are written to a real SQLite file, then, on a real
Application's JobQueue (APScheduler), in the same run:
  start-up   rebuild every job from SQLite (before the scheduler runs, as post_init does)
  baseline   remove every digest job and add them all again on the running scheduler
             (what a naive resync would do on each config reload)
  resync     sync_schedules on the running scheduler with nothing changed (config reload)
  one chat   reschedule_chat after a /time (the common case)

Run: .venv/bin/python bench/schedule_sync.py [--chats 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlite_utils import Database  # noqa: E402

from bot.config import parse_config  # noqa: E402
from bot.pipeline.store import DbExecutor  # noqa: E402
from bot.pipeline.store import chats as chat_store  # noqa: E402
from bot.pipeline.telegram import schedule  # noqa: E402
from bot.pipeline.telegram.app import build_application  # noqa: E402
from bot.pipeline.telegram.delivery import PacedRateLimiter  # noqa: E402

TOKEN = "1:bench-token"


def seed(db: Database, n: int) -> None:
    zones = ("Europe/Paris", "Europe/London", "America/New_York", "Asia/Tokyo")
    with db.atomic():
        for i in range(n):
            chat_store.upsert_chat(db, 1000 + i, type="private", title="t", language="fr",
                                   times=["08:00", "19:00"], timezone=zones[i % len(zones)], now=1.0)


def timed(label: str, seconds: float, base: float | None = None) -> None:
    ratio = f"  ({base / seconds:.1f}× faster than baseline)" if base else ""
    print(f"  {label:<10} {seconds * 1000:9.1f} ms{ratio}")


async def run(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        text = f'[storage]\npath = "{Path(tmp) / "b.db"}"\n[telegram]\napi_base_url = "http://127.0.0.1:9/bot"\n'
        config = parse_config(text, path)
        executor = DbExecutor(config.storage.path)
        executor.call_sync(seed, n)
        app = build_application(config, TOKEN, executor, rate_limiter=PacedRateLimiter(), poll_feeds=False)
        jq = app.job_queue
        assert jq is not None
        t0 = time.perf_counter()
        jobs = await schedule.sync_schedules(app)
        startup = time.perf_counter() - t0
        await jq.start()
        rows = await executor.call(schedule.load_schedules)
        t0 = time.perf_counter()
        for job in schedule._digest_aps_jobs(jq):            # noqa: SLF001 - the naive baseline
            job.remove()
        for chat_id, tz, times in rows:
            schedule._add_jobs(jq, chat_id, tz, times)       # noqa: SLF001
        baseline = time.perf_counter() - t0
        t0 = time.perf_counter()
        await schedule.sync_schedules(app)
        resync = time.perf_counter() - t0
        await executor.call(chat_store.set_chat_times, 1000 + n // 2, ["07:30"])
        t0 = time.perf_counter()
        await schedule.reschedule_chat(app, 1000 + n // 2)
        one = time.perf_counter() - t0
        assert len(schedule.digest_job_ids(jq)) == jobs - 1
        await jq.stop(wait=False)
        executor.close()
    print(f"{n} chats, {jobs} daily digest jobs")
    timed("start-up", startup)
    timed("baseline", baseline)
    timed("resync", resync, baseline)
    timed("one chat", one)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(run(args.chats))


if __name__ == "__main__":
    main()
