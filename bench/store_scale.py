"""newsbot on a store of a million articles: poll, dedup, tag and digest still work, and cost.

A child process fills a fresh SQLite file with ``--size`` synthetic articles, their dedup index
rows, clusters and tags (bulk SQL; see bench/dedup_cost.py). This process, whose memory is what
we report, then runs the real code on it:
  poll    the bundled sample feeds (data/samples/, 73 entries) served over local HTTP, through
          fetch → parse → tag → store → dedup (bot.pipeline.poll.poll_once)
  digest  building the first digest of one chat that follows five tags (select + rank + render)
  search  one FTS query, as /search runs it
and prints the start-up check's cost (``PRAGMA quick_check``, run before every writing command),
articles/s, digest build time, database size and peak resident memory.

Run: .venv/bin/python bench/store_scale.py [--size 1000000] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dedup_cost import fill  # noqa: E402
from bot.cli.demo import demo_config, serve_directory  # noqa: E402
from bot.cli.packaged import samples_dir  # noqa: E402
from bot.config import StorageConfig, load_config  # noqa: E402
from bot.pipeline.parse.prepare import worker_pids  # noqa: E402
from bot.pipeline.poll import poll_once  # noqa: E402
from bot.pipeline.store import DbExecutor, open_database  # noqa: E402
from bot.pipeline.store.chats import search_stories, set_chat_tags, upsert_chat  # noqa: E402
from bot.pipeline.store.db import check_database  # noqa: E402
from bot.pipeline.telegram.delivery import build_dry_run  # noqa: E402

FOLLOWED = ["ukraine", "russia", "north-korea", "nato", "eu"]


def fill_store(path: Path, size: int) -> None:
    """Articles + dedup rows (bench/dedup_cost.fill), then 1–3 tags per article."""
    fill(path, size)
    tags = [t.id for t in load_config(ROOT / "config.example.toml").tags]
    db = open_database(path)
    db.execute("PRAGMA synchronous = OFF")
    rng = random.Random(3)
    with db.atomic():
        rows = ((aid, tag, "filler") for aid in range(1, size + 1)
                for tag in rng.sample(tags, rng.randint(1, 3)))
        db.conn.executemany("INSERT OR IGNORE INTO article_tags VALUES (?, ?, ?)", rows)
    db.execute("ANALYZE")
    db.conn.close()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "big.db"
        started = time.perf_counter()
        child = multiprocessing.Process(target=fill_store, args=(path, args.size))
        child.start()
        child.join()
        print(f"store: {args.size:,} articles filled in {time.perf_counter() - started:.0f} s, "
              f"{path.stat().st_size / 1e6:,.0f} MB")
        started = time.perf_counter()
        check_database(path)        # what run and poll do before starting
        print(f"start-up check (PRAGMA quick_check, page cache warm): {time.perf_counter() - started:.2f} s")
        with serve_directory(samples_dir()) as base:
            config = demo_config(base, path)
            config = dataclasses.replace(config, storage=StorageConfig(path=path))
            executor = DbExecutor(path)
            try:
                started = time.perf_counter()
                outcomes = asyncio.run(poll_once(config, executor))
                spent = time.perf_counter() - started
                new = sum(o.new for o in outcomes)
                errors = sum(o.status == "error" for o in outcomes)
                print(f"poll    : {new} new articles from {len(outcomes)} feeds ({errors} errors) "
                      f"in {spent:.2f} s = {new / spent:,.0f} articles/s (fetch+parse+tag+store+dedup)")
                now = time.time()

                def digest(db):
                    upsert_chat(db, 42, type="private", title="bench", language="fr",
                                times=["08:00"], timezone="Europe/Paris", now=now)
                    set_chat_tags(db, 42, FOLLOWED)
                    start = time.perf_counter()
                    text = build_dry_run(db, config, 42, now)
                    return time.perf_counter() - start, text

                spent, text = executor.call_sync(digest)
                print(f"digest  : built in {spent * 1000:.0f} ms for a chat following {len(FOLLOWED)} tags "
                      f"({text.count(chr(10)) + 1} lines)")
                start = time.perf_counter()
                hits = executor.call_sync(search_stories, "Corée du Nord", 10)
                print(f"search  : {len(hits)} hits in {(time.perf_counter() - start) * 1000:.0f} ms")
                integrity = executor.call_sync(lambda db: db.execute("PRAGMA quick_check").fetchone()[0])
                workers = [worker_rss_mb(pid) for pid in worker_pids()]
            finally:
                executor.close()
        print(f"database: {path.stat().st_size / 1e6:,.0f} MB, quick_check {integrity}")
        print(f"memory  : peak resident {rss_mb():.0f} MB in the measuring process, plus "
              f"{len(workers)} parse worker processes resident {sum(workers):.0f} MB in all "
              f"(now): {rss_mb() + sum(workers):.0f} MB (target <= 300 MB)")


def worker_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    main()
