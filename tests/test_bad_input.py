"""Input that used to end in a traceback: each is now one line and a non-zero exit (real
processes, real SQLite files, one of them with a damaged page)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.feedserver import FeedServer
from tests.helpers import rss, write_config

ROOT = Path(__file__).resolve().parent.parent


def newsbot(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "--config", str(cfg), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.strip().splitlines()      # argparse's usage block aside
             if not line.startswith(("usage:", " "))]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("command", [["check"], ["poll", "--once"], ["feeds"], ["export"]])
def test_an_unclosed_ipv6_bracket_in_a_feed_url(tmp_path: Path, command: list[str]) -> None:
    cfg = write_config(tmp_path, {"v6": "http://[::1/feed"})
    line = one_line_error(newsbot(cfg, *command))
    assert "feeds[0].url: is not a valid URL (Invalid IPv6 URL)" in line


def test_toml_nested_five_thousand_deep(tmp_path: Path) -> None:
    cfg = tmp_path / "deep.toml"
    cfg.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested too deeply" in one_line_error(newsbot(cfg, "check"))


@pytest.mark.parametrize("command", [["explain", "99999999999999999999"],
                                     ["digest", "--chat", "99999999999999999999", "--dry-run"],
                                     ["clusters", "--limit", "99999999999999999999"]])
def test_numbers_too_large_for_sqlite(tmp_path: Path, command: list[str]) -> None:
    cfg = write_config(tmp_path, {})
    assert "too large" in one_line_error(newsbot(cfg, *command))


def damage_one_page(db_path: Path, marker: bytes) -> None:
    """Overwrite the page holding ``marker`` (an article's text) with garbage."""
    data = bytearray(db_path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    at = data.index(marker)
    start = at - at % page_size
    data[start:start + page_size] = b"\xa5" * page_size
    db_path.write_bytes(bytes(data))


def test_a_damaged_data_page(feed_server: FeedServer, tmp_path: Path) -> None:
    """Before: `export` and `clusters` printed part, then a traceback; `poll --once` exited 0
    and wrote on into the damaged file; `poll` and `run` started on it."""
    feed_server.route("/a.xml", rss([(f"a{n}", f"Summit talks day {n} " + "x" * 300) for n in range(60)]))
    cfg = write_config(tmp_path, {"A": feed_server.url("/a.xml")}, polling="parse_processes = 0")
    assert newsbot(cfg, "poll", "--once").returncode == 0
    db = tmp_path / "news.db"
    assert not (tmp_path / "news.db-wal").exists()        # checkpointed at close
    damage_one_page(db, b"Summit talks day 30")
    for command in (["export"], ["clusters"]):
        line = one_line_error(newsbot(cfg, *command))
        assert "database damaged" in line and "newsbot backup" in line, line
    before = db.read_bytes()
    for command in (["poll"], ["run"]):                   # long-running: quick_check at start
        line = one_line_error(newsbot(cfg, *command))
        assert "database damaged" in line and "newsbot backup" in line, line
    assert db.read_bytes() == before                      # nothing written into it
    polled = newsbot(cfg, "poll", "--once")               # one-shot: stops at the damaged page
    assert polled.returncode == 1 and "Traceback" not in polled.stderr
    last = polled.stderr.strip().splitlines()[-1]
    assert last.startswith("newsbot: database damaged") and "newsbot backup" in last
    assert polled.stderr.count("database damaged") <= 2   # the log line once, the exit line
