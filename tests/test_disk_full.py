"""A full disk under the database (a real, small tmpfs): said once per change of state as
"disk full: …", visible in `newsbot feeds` and the poller's health, `poll --once` exits 1, and
everything resumes by itself once space is freed. Needs root (mount); skipped otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import load_config
from bot.pipeline.schedule.scheduler import FeedScheduler
from bot.pipeline.store import DbExecutor
from bot.pipeline.telegram.handlers.admin import storage_problem
from tests.feedserver import FeedServer
from tests.helpers import rss, wait_for, write_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Take every free byte of the disk; returns the filler file (delete it to free the space)."""
    filler = disk / "filler"
    with filler.open("wb") as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    return filler


def feeds_with_entries(feed_server: FeedServer, generation: int, count: int = 3) -> dict[str, str]:
    urls = {}
    for i in range(count):
        items = [(f"g{generation}-f{i}-{n}-{uuid.uuid4().hex}", f"Story {n} {uuid.uuid4().hex} " * 8)
                 for n in range(40)]
        feed_server.route(f"/f{i}.xml", rss(items))
        urls[f"feed{i}"] = feed_server.url(f"/f{i}.xml")
    return urls


def stored_feeds(db_path: str | Path) -> int:
    """Feeds whose first poll has been stored (read from another connection)."""
    with contextlib.closing(sqlite3.connect(db_path, timeout=5)) as conn:
        try:
            return conn.execute("SELECT COUNT(*) FROM feeds WHERE last_success_at IS NOT NULL").fetchone()[0]
        except sqlite3.OperationalError:              # not created yet
            return 0


def newsbot(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "--config", str(cfg), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def config_on(disk: Path, tmp_path: Path, urls: dict[str, str]) -> Path:
    cfg = write_config(tmp_path, urls, polling="parse_processes = 0")
    cfg.write_text(cfg.read_text().replace(str(tmp_path / "news.db"), str(disk / "news.db")))
    return cfg


def test_poll_once_on_a_full_disk_says_it_once_and_exits_1(
    small_disk: Path, feed_server: FeedServer, tmp_path: Path
) -> None:
    cfg = config_on(small_disk, tmp_path, feeds_with_entries(feed_server, 0))
    assert newsbot(cfg, "poll", "--once").returncode == 0
    filler = fill(small_disk)
    feeds_with_entries(feed_server, 1)                    # new entries need room
    result = newsbot(cfg, "poll", "--once")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    said = [line for line in result.stderr.splitlines() if "disk full:" in line]
    assert 1 <= len(said) <= 2, result.stderr             # at most: the log line once, the exit line
    assert result.stderr.strip().splitlines()[-1].startswith("newsbot: disk full:")
    shown = newsbot(cfg, "feeds")
    assert shown.returncode == 0 and shown.stdout.startswith("disk full:")
    assert shown.stdout.count("disk full ") >= 3          # every enabled feed's state
    filler.unlink()
    again = newsbot(cfg, "poll", "--once")
    assert again.returncode == 0 and "3 feeds: 3 ok" in again.stdout, again.stdout + again.stderr
    assert "disk full" not in newsbot(cfg, "feeds").stdout


async def test_the_running_poller_reports_a_full_disk_once_and_recovers(
    small_disk: Path, feed_server: FeedServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    cfg = config_on(small_disk, tmp_path, feeds_with_entries(feed_server, 0))
    config = load_config(cfg)
    executor = DbExecutor(config.storage.path)
    scheduler = AsyncIOScheduler(timezone=UTC)
    feeds = FeedScheduler(config, executor, scheduler, first_poll_within=0.0)
    feeds.start()
    try:
        await wait_for(lambda: stored_feeds(config.storage.path) == 3, timeout=20)
        # The scheduled first polls are done (next due in 15 min): only our polls run from here.
        filler = await asyncio.to_thread(fill, small_disk)
        feeds_with_entries(feed_server, 1)
        for _ in range(3):                                # three rounds of polls, all failing
            hits = feed_server.hits("/f0.xml")
            await asyncio.gather(*(feeds.pipeline.poll_feed(f, force=True) for f in config.feeds))
            assert feed_server.hits("/f0.xml") == hits + 1
        assert feeds.health.last_error_kind == "disk-full"
        assert feeds.health.status()["failures"] >= 9
        assert storage_problem(feeds, config.storage.path).startswith("disk full:")
        assert (feeds.health_problem(time.time()) or "").startswith("disk full:")   # /healthz: 503
        said = [r for r in caplog.records if "disk full:" in r.getMessage() and r.levelno >= logging.WARNING]
        assert len(said) == 1 and said[0].levelno == logging.ERROR
        assert not [r for r in caplog.records if r.exc_info], "no traceback for a full disk"
        filler.unlink()
        outcomes = await asyncio.gather(*(feeds.pipeline.poll_feed(f, force=True) for f in config.feeds))
        assert [o.status for o in outcomes] == ["ok"] * 3 and all(o.new == 40 for o in outcomes)
        assert feeds.health.last_error_kind is None and storage_problem(feeds, config.storage.path) == ""
        assert feeds.health_problem(time.time()) is None
        assert any("storage recovered" in r.getMessage() for r in caplog.records)
    finally:
        scheduler.shutdown(wait=False)
        await feeds.shutdown()
        executor.close()
