"""Several processes on one database: one long-running newsbot per file (a lock next to it),
one-shot writers waiting or refused cleanly, and writers waiting for SQLite's write lock
instead of failing. Real processes, real HTTP, real SQLite files."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import load_config
from bot.errors import StorageError
from bot.pipeline.store import feeds as feed_store
from bot.pipeline.store import open_database
from bot.pipeline.store.lock import lock_path
from tests.feedserver import FeedServer
from tests.helpers import hold_write_lock, rss, write_config

ROOT = Path(__file__).resolve().parent.parent


def newsbot(cfg: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "bot", "--config", str(cfg), *args]


def run(cfg: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(newsbot(cfg, *args), cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def wait_until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def feeds_config(feed_server: FeedServer, tmp_path: Path, count: int, items: int = 20) -> Path:
    urls = {}
    for i in range(count):
        feed_server.route(f"/f{i}.xml", rss([(f"f{i}-{n}", f"Story {n} of feed {i} on the summit")
                                             for n in range(items)]))
        urls[f"feed{i}"] = feed_server.url(f"/f{i}.xml")
    return write_config(tmp_path, urls, polling="parse_processes = 0")


@pytest.fixture
def running_poller(feed_server: FeedServer, tmp_path: Path):
    cfg = feeds_config(feed_server, tmp_path, 2)
    proc = subprocess.Popen(newsbot(cfg, "poll"), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lock = lock_path(tmp_path / "news.db")
    try:
        wait_until(lambda: lock.exists() and lock.read_text().startswith(f"{proc.pid} "))
        yield cfg, proc
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def test_a_second_long_running_instance_exits_at_once_naming_the_holder(running_poller) -> None:
    cfg, first = running_poller
    for command in (["poll"], ["run"]):
        started = time.monotonic()
        result = run(cfg, *command)
        assert time.monotonic() - started < 10
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert f"pid {first.pid}" in lines[0] and "`newsbot poll`" in lines[0] and "stop it first" in lines[0]
    assert first.poll() is None                      # the first one runs on, untouched


def test_one_shot_writers_are_refused_cleanly_while_an_instance_runs(running_poller) -> None:
    cfg, first = running_poller
    for command in (["poll", "--once"], ["retag"]):
        result = run(cfg, *command)
        assert result.returncode == 1
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert f"pid {first.pid}" in result.stderr and "by itself" in result.stderr
        assert "Traceback" not in result.stderr


def test_the_lock_goes_with_a_killed_instance(running_poller) -> None:
    cfg, first = running_poller
    first.kill()
    first.wait(timeout=10)
    result = run(cfg, "poll", "--once")
    assert result.returncode == 0, result.stderr
    assert "2 feeds: 2 ok" in result.stdout


def test_two_concurrent_poll_once_both_store_every_feed(feed_server: FeedServer, tmp_path: Path) -> None:
    """Before: 1-2 of 50 feeds "internal error: database is locked" in each of the two runs.
    Now the second waits for the first (the lock) and both see every feed ok."""
    cfg = feeds_config(feed_server, tmp_path, 50)
    procs = [subprocess.Popen(newsbot(cfg, "poll", "--once"), cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "50 feeds: 50 ok" in out or "50 feeds: 0 ok, 50 not modified" in out, out
        assert "locked" not in out + err and "Traceback" not in err
    db = open_database(tmp_path / "news.db")
    assert db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 50 * 20
    assert db.execute("SELECT COUNT(*) FROM feeds WHERE error_count > 0").fetchone()[0] == 0


def test_a_writer_waits_for_another_process_write_lock(feed_server: FeedServer, tmp_path: Path) -> None:
    """A read-then-write transaction (sync_feeds) while another process holds the write lock:
    deferred, it failed at once with "database is locked" (busy_timeout never applied);
    IMMEDIATE, it waits for the lock and succeeds."""
    config = load_config(feeds_config(feed_server, tmp_path, 3))
    db = open_database(config.storage.path)
    feed_store.sync_feeds(db, config.feeds[:2], time.time())
    db.execute("SELECT COUNT(*) FROM feeds").fetchone()              # a read snapshot, as in real use
    holder = hold_write_lock(tmp_path / "news.db", 1.0)
    started = time.monotonic()
    ids = feed_store.sync_feeds(db, config.feeds, time.time())     # reads, then inserts feed2
    assert time.monotonic() - started >= 0.5                          # it did wait
    assert set(ids) == {"feed0", "feed1", "feed2"}
    holder.wait(timeout=10)


def test_a_lock_outlasting_the_busy_timeout_is_one_clear_error(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    config = load_config(feeds_config(feed_server, tmp_path, 2))
    feed_store.sync_feeds(open_database(config.storage.path), config.feeds, time.time())
    db = open_database(config.storage.path, busy_timeout=0.3)
    holder = hold_write_lock(tmp_path / "news.db", 2.0)
    with pytest.raises(StorageError) as caught:
        feed_store.sync_feeds(db, config.feeds, time.time())
    holder.wait(timeout=10)
    assert caught.value.kind == "locked"
    message = str(caught.value)
    assert "\n" not in message and "database locked" in message and "0.3 s" in message
