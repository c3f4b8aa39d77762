"""[metrics]: /healthz and /metrics over real HTTP, against a running `newsbot poll` / `run`."""

from __future__ import annotations

import asyncio
import socket
import sys
from datetime import UTC
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram.error import InvalidToken

from bot.config import MetricsConfig, load_config
from bot.models import FeedPollOutcome
from bot.observe.health import Health
from bot.observe.instruments import error_kind
from bot.observe.server import MetricsServer, ask_health
from bot.pipeline.schedule.scheduler import FeedScheduler
from bot.pipeline.store import DbExecutor
from bot.pipeline.telegram.app import FATAL_KEY, build_application, health_checks
from tests.bot_harness import TOKEN, make_config
from tests.fakebotapi import FakeBotAPI
from tests.feedserver import FeedServer
from tests.running import (
    clean_env,
    free_port,
    get,
    healthy,
    poller_config,
    running,
    scrape,
    serve_samples,
    wait_until,
)

ROOT = Path(__file__).resolve().parent.parent
NEWSBOT = [sys.executable, "-m", "bot"]


def test_poll_serves_health_and_metrics(tmp_path: Path, feed_server: FeedServer) -> None:
    urls = serve_samples(feed_server) + [feed_server.url("/gone.xml")]       # the last one is a 404
    port = free_port()
    config = poller_config(tmp_path, urls, port)
    with running(NEWSBOT + ["--config", str(config), "poll"], cwd=ROOT, env=clean_env()) as proc:
        wait_until(lambda: healthy(port), 20, "/healthz 200")
        wait_until(lambda: scrape(port).get(("newsbot_polls_total", (("status", "ok"),)), 0) >= 3, 20,
                   "three ok polls")
        wait_until(lambda: scrape(port).get(("newsbot_poll_errors_total", (("kind", "http_4xx"),)), 0) >= 1,
                   20, "the 404 counted")
        wait_until(lambda: scrape(port).get(("newsbot_dedup_backlog", ()), 1) == 0, 20, "dedup done")
        status, body = get(f"http://127.0.0.1:{port}/healthz")
        metrics = scrape(port)
        missing = get(f"http://127.0.0.1:{port}/nothing")
    assert proc.returncode == 0, proc.err
    assert (status, body) == (200, "ok\n")
    assert metrics[("newsbot_feeds", (("state", "ok"),))] == 3
    assert metrics[("newsbot_feeds", (("state", "failing"),))] == 1
    assert metrics[("newsbot_poll_errors_total", (("kind", "http_4xx"),))] >= 1
    assert metrics[("newsbot_articles_stored", ())] >= 30          # 12 + 10 + 15 sample items
    assert 0 < metrics[("newsbot_clusters_stored", ())] <= metrics[("newsbot_articles_stored", ())]
    assert metrics[("newsbot_last_poll_timestamp_seconds", ())] > 1e9
    assert metrics[("newsbot_last_digest_timestamp_seconds", ())] == 0       # no digest without Telegram
    assert missing[0] == 404


async def _serving(tmp_path: Path, feed_server: FeedServer, now: list[float]):
    config = load_config(poller_config(tmp_path, serve_samples(feed_server)[:1], port=free_port()))
    executor = DbExecutor(config.storage.path)
    scheduler = AsyncIOScheduler(timezone=UTC)
    feeds = FeedScheduler(config, executor, scheduler, clock=lambda: now[0], first_poll_within=0.1)
    health = Health()
    health.add("poller", feeds.health_problem)
    server = MetricsServer(config.metrics, health, config.storage.path, clock=lambda: now[0]).start()
    return executor, scheduler, feeds, server


async def test_healthz_says_503_with_the_reason_when_polls_stop(tmp_path: Path,
                                                                feed_server: FeedServer) -> None:
    now = [1_000_000.0]
    executor, scheduler, feeds, server = await _serving(tmp_path, feed_server, now)
    url = f"http://127.0.0.1:{server.port}/healthz"
    try:
        before = await asyncio.to_thread(get, url)
        feeds.start()
        for _ in range(200):
            if feeds.last_poll_at is not None:
                break
            await asyncio.sleep(0.05)
        fresh = await asyncio.to_thread(get, url)
        now[0] += 2 * 10 + 20 + 1                      # 2 × interval + timeout + jitter 0, and a second
        stale = await asyncio.to_thread(get, url)
        asked = await asyncio.to_thread(ask_health, server.config)          # `newsbot health`
        scheduler.shutdown(wait=False)
        await feeds.shutdown()
        stopped = await asyncio.to_thread(get, url)
    finally:
        server.stop()
        executor.close()
    assert before == (503, "poller: the feed scheduler is not running\n")
    assert fresh == (200, "ok\n")
    assert stale == (503, "poller: no poll finished for 41 s (expected within 40 s)\n")
    assert asked == (False, stale[1].strip())
    assert stopped[0] == 503 and "not running" in stopped[1]


def test_run_health_names_the_telegram_side(tmp_path: Path) -> None:
    with FakeBotAPI(token=TOKEN) as fake:
        config = make_config(tmp_path, fake)
        executor = DbExecutor(config.storage.path)
        try:
            application = build_application(config, TOKEN, executor)
            health = Health()
            health_checks(application, health)
            assert health.verdict(0) == (False, "telegram: the bot is not running (starting or stopping)")
            application.bot_data[FATAL_KEY] = InvalidToken(f"The token `{TOKEN}` was rejected")
            healthy, line = health.verdict(0)
        finally:
            executor.close()
    assert not healthy and line.startswith("telegram: polling Telegram stopped: The token")
    assert TOKEN.split(":")[1] not in line                                # redacted


def test_a_broken_check_fails_the_health_check_with_its_reason() -> None:
    health = Health()
    health.add("fine", lambda now: None)
    assert health.verdict(0) == (True, "ok")
    health.add("disk", lambda now: "the disk is full")
    health.add("bug", lambda now: 1 / 0)
    assert health.verdict(0) == (False, "disk: the disk is full")
    assert Health().verdict(0) == (True, "ok")
    only_bug = Health()
    only_bug.add("bug", lambda now: 1 / 0)
    assert only_bug.verdict(0) == (False, "bug: health check failed: ZeroDivisionError: division by zero")


def test_error_kinds_are_a_small_fixed_set() -> None:
    def kind(error: str, status: int | None = None) -> str:
        return error_kind(FeedPollOutcome(feed="f", status="error", http_status=status, error=error))

    assert kind("HTTP 404 Not Found", 404) == "http_4xx"
    assert kind("HTTP 503", 503) == "http_5xx"
    assert kind("HTTP 429", 429) == "http_429"
    assert kind("timed out after 20 s") == "timeout"
    assert kind("connection refused (127.0.0.1:1)") == "connection"
    assert kind("not a feed: got text/html", 200) == "not_a_feed"
    assert kind("response larger than 1024 bytes") == "too_large"
    assert kind("something new") == "other"


def test_busy_port_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = poller_config(tmp_path, ["http://127.0.0.1:9/x.xml"], port)
        with running(NEWSBOT + ["--config", str(config), "poll"], cwd=ROOT, env=clean_env()) as proc:
            proc.wait(timeout=20)
    assert proc.returncode == 1
    assert proc.err.strip().splitlines() == [                     # type: ignore[attr-defined]
        f"newsbot: metrics.listen 127.0.0.1:{port}: cannot listen: Address already in use"
    ]


def test_metrics_are_off_by_default_and_checked(tmp_path: Path) -> None:
    assert load_config(poller_config(tmp_path, ["http://127.0.0.1:9/x.xml"], None)).metrics == MetricsConfig()
    path = tmp_path / "bad.toml"
    for listen, ok in (("[::1]:9464", True), ("localhost:0", False), ("9464", False), (":9464", False)):
        path.write_text(f'[metrics]\nlisten = "{listen}"\n', encoding="utf-8")
        if ok:
            assert load_config(path).metrics.port == 9464
        else:
            with pytest.raises(Exception, match="metrics.listen: .* is not an address"):
                load_config(path)


def test_run_serves_health_and_counts_messages(tmp_path: Path) -> None:
    port = free_port()
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    with FakeBotAPI(token=TOKEN) as fake:
        make_config(tmp_path, fake, extra=f'[metrics]\nlisten = "127.0.0.1:{port}"\n')
        text = (tmp_path / "config.toml").read_text(encoding="utf-8")
        (tmp_path / "config.toml").write_text(
            text.replace('token_env = "NEWSBOT_TEST_TOKEN"', f'token_file = "{token_file.name}"'),
            encoding="utf-8")
        with running(NEWSBOT + ["--config", str(tmp_path / "config.toml"), "run"], cwd=ROOT,
                     env=clean_env()) as proc:
            wait_until(lambda: healthy(port), 30, "/healthz 200")
            fake.push_command(42, "/start")
            fake.wait_for_sync(lambda: len(fake.sent_to(42)) == 1, timeout=10, what="welcome")
            wait_until(lambda: scrape(port).get(("newsbot_messages_sent_total", ()), 0) >= 1, 10,
                       "the welcome counted")
            fake.fail_next("sendMessage", 429, retry_after=0.2)
            fake.push_command(42, "/help")
            fake.wait_for_sync(lambda: len(fake.sent_to(42)) == 2, timeout=10, what="help after a 429")
            wait_until(lambda: scrape(port).get(("newsbot_telegram_rate_limited_total", ()), 0) >= 1, 10,
                       "the 429 counted")
            metrics = scrape(port)
    assert proc.returncode == 0, proc.err                                     # type: ignore[attr-defined]
    assert metrics[("newsbot_telegram_retries_total", (("reason", "rate_limited"),))] >= 1
    assert metrics[("newsbot_messages_sent_total", ())] >= 2
    assert metrics[("newsbot_feeds", (("state", "ok"),))] == 0                 # no feeds configured
    assert metrics[("process_resident_memory_bytes", ())] > 10e6
