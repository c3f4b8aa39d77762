"""Small builders shared by the pipeline and CLI tests."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from bot.config import Config, load_config

BASE_TIME = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def rss(items: list[tuple[str, str]], *, title: str = "Test feed", ttl: int | None = None) -> str:
    """An RSS 2.0 document; each item is (guid, title), its summary and link derived."""
    parts = []
    for i, (guid, item_title) in enumerate(items):
        date = format_datetime(BASE_TIME - timedelta(minutes=10 * i))
        parts.append(
            f"<item><title>{escape(item_title)}</title><link>https://news.example/{guid}</link>"
            f"<guid>{guid}</guid><pubDate>{date}</pubDate>"
            f"<description>&lt;p&gt;Summary of {escape(item_title)}.&lt;/p&gt;</description></item>"
        )
    ttl_xml = f"<ttl>{ttl}</ttl>" if ttl else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://news.example/</link>{ttl_xml}"
        + "".join(parts) + "</channel></rss>"
    )


def write_config(tmp_path: Path, feeds: dict[str, str], extra: str = "", polling: str = "") -> Path:
    """A config file with the given feeds (name → URL) and a database in tmp_path."""
    lines = [f'[storage]\npath = "{tmp_path / "news.db"}"\n',
             f'[polling]\ntimeout = "2s"\nconnect_timeout = "1s"\njitter = "0s"\n{polling}\n']
    for name, url in feeds.items():
        lines.append(f'[[feeds]]\nname = "{name}"\nurl = "{url}"\n')
    lines.append(extra)
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def load(path: Path) -> Config:
    return load_config(path)


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (without blocking the event loop) until ``predicate()`` holds, or fail."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


HOLD_WRITE_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


def hold_write_lock(db_path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the database's write lock for ``seconds`` (returns once held)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD_WRITE_LOCK, str(db_path), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    return proc
