"""`newsbot run` while the Bot API is unreachable: one line per change, feeds polled, retried.

Real processes: `python -m bot run` against a closed port, and against the fake Bot API server
stopped and started again on the same port; feeds on tests/feedserver.py.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.bot_harness import TOKEN
from tests.fakebotapi import FakeBotAPI
from tests.feedserver import FeedServer
from tests.helpers import rss

ROOT = Path(__file__).resolve().parent.parent
DOWN = "Telegram Bot API unreachable"
BACK = "Telegram Bot API reachable again"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Run:
    """``newsbot run`` in a child process, its stderr collected line by line."""

    def __init__(self, tmp_path: Path, api_port: int, feed_url: str):
        config = tmp_path / "config.toml"
        config.write_text(
            f'[storage]\npath = "{tmp_path / "bot.db"}"\n'
            f'[polling]\njitter = "0s"\n'
            f'[telegram]\ntoken_env = "NEWSBOT_TEST_TOKEN"\napi_base_url = "http://127.0.0.1:{api_port}/bot"\n'
            f'[[feeds]]\nname = "local"\nurl = "{feed_url}"\ninterval = "10s"\n', encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k != "NEWSBOT_TEST_TOKEN"}
        env["NEWSBOT_TEST_TOKEN"] = TOKEN
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(config), "run"], cwd=ROOT,
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    def wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert self.proc.poll() is None, f"newsbot run exited ({self.proc.returncode}): {self.lines}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {self.lines}"
            time.sleep(0.05)

    def stop(self) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=15)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        return code, time.monotonic() - started

    def check_output(self) -> None:
        text = "\n".join(self.lines)
        assert "Traceback" not in text, text
        assert TOKEN not in text and TOKEN.split(":")[1] not in text


def test_unreachable_telegram_is_one_line_and_feeds_are_still_polled(feed_server: FeedServer,
                                                                   tmp_path: Path) -> None:
    feed_server.route("/f.xml", rss([("a1", "Talks in Geneva")]))
    run = Run(tmp_path, free_port(), feed_server.url("/f.xml"))
    try:
        run.wait(lambda: feed_server.hits("/f.xml") >= 1, 30, "a poll of the feed")
        time.sleep(3)                                   # several getMe retries (1 s, 1.5 s, …)
    finally:
        code, stopped_in = run.stop()
    assert code == 0 and stopped_in < 5, run.lines
    run.check_output()
    assert run.count(DOWN) == 1, run.lines
    assert not [line for line in run.lines if "WARNING" in line or "ERROR" in line
                if DOWN not in line], run.lines


def test_telegram_down_then_up_twice_is_a_line_per_change_and_commands_are_answered(
        feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.route("/f.xml", rss([("a1", "Talks in Geneva")]))
    port = free_port()
    fake = FakeBotAPI(token=TOKEN, port=port)
    run = Run(tmp_path, port, feed_server.url("/f.xml"))
    try:
        run.wait(lambda: run.count(DOWN) == 1 and feed_server.hits("/f.xml") >= 1, 30, "down, polling")
        fake.start()                                    # Telegram comes up: the bot starts
        run.wait(lambda: run.count(BACK) == 1, 30, "reachable again")
        fake.push_command(42, "/start")
        fake.wait_for_sync(lambda: len(fake.sent_to(42)) == 1, timeout=15, what="welcome")
        fake.stop()                                     # … goes away while the bot polls it
        run.wait(lambda: run.count(DOWN) == 2, 30, "down again")
        time.sleep(4)                                   # PTB retries getUpdates 1 s, 1.5 s, 2.25 s…
        assert run.count(DOWN) == 2 and run.count("ERROR") == 0, run.lines
        fake.start()                                    # … and comes back on the same port
        run.wait(lambda: run.count(BACK) == 2, 40, "reachable again, twice")
        fake.push_command(42, "/help")
        fake.wait_for_sync(lambda: len(fake.sent_to(42)) == 2, timeout=15, what="help")
    finally:
        code, _ = run.stop()
        fake.stop()
    assert code == 0, run.lines
    run.check_output()


def test_health_logs_each_change_once_and_a_summary_every_five_minutes(caplog) -> None:
    import logging

    from bot.pipeline.telegram.health import TelegramHealth

    now = [0.0]
    health = TelegramHealth(clock=lambda: now[0])
    caplog.set_level(logging.WARNING, logger="bot.pipeline.telegram.health")
    for _ in range(700):                                 # one failed request a second, 700 s
        health.failed("httpx.ConnectError: All connection attempts failed")
        now[0] += 1
    health.ok()
    health.ok()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4, lines
    assert lines[0].startswith(DOWN)
    assert lines[1].startswith("Telegram Bot API still unreachable after 5m (301 failed requests")
    assert lines[2].startswith("Telegram Bot API still unreachable after 10m (601 failed requests")
    assert lines[3] == "Telegram Bot API reachable again after 12m (700 failed requests)"
