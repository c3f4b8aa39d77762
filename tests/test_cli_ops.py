"""The operator's commands as a person runs them: real processes, real HTTP on 127.0.0.1, real
SQLite files (``feeds`` durations, ``poll --once`` exit statuses and order, ``--version``)."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.cli.commands import EXIT_ALL_FEEDS_FAILED, EXIT_SOME_FEEDS_FAILED, main
from bot.cli.reports import human_duration
from tests.feedserver import FeedServer
from tests.helpers import rss, write_config

REPO = Path(__file__).resolve().parent.parent


def newsbot(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` in a child process, as cron or a shell would run it."""
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (45, "45s"), (59.6, "1m"), (753, "13m"), (900, "15m"), (3570, "1h"), (5400, "2h"),
    (86000, "1d"), (3 * 86400 + 100, "3d"), (-753, "13m"),
])
def test_human_duration_is_one_unit(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_feeds_shows_durations_in_one_unit(feed_server: FeedServer, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    feed_server.route("/a.xml", rss([("a1", "Talks in Geneva")]))
    cfg = write_config(tmp_path, {"A": feed_server.url("/a.xml")})
    assert main(["--config", str(cfg), "poll", "--once"]) == 0
    now = time.time()
    with sqlite3.connect(tmp_path / "news.db") as db:
        db.execute("UPDATE feeds SET last_success_at = ?, next_due_at = ?", (now - 753, now + 897))
    capsys.readouterr()
    assert main(["--config", str(cfg), "feeds"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("A "))
    assert "13m ago" in row and "in 15m" in row, row
    assert not re.search(r"\d{3,}s\b", row), row


def test_poll_once_exit_status_tells_how_many_feeds_failed(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.route("/ok.xml", rss([("a1", "Talks in Geneva")]))
    feed_server.route("/down.xml", "nope", status=500, content_type="text/plain")
    feed_server.route("/gone.xml", "nope", status=404, content_type="text/plain")
    feeds = {"zeta": feed_server.url("/ok.xml"), "Beta": feed_server.url("/down.xml"),
             "alpha": feed_server.url("/gone.xml")}
    cfg = write_config(tmp_path, feeds, polling="parse_processes = 0")
    some = newsbot("--config", str(cfg), "poll", "--once")
    assert some.returncode == EXIT_SOME_FEEDS_FAILED, some.stderr
    names = [line.split()[0] for line in some.stdout.splitlines()[2:5]]
    assert names == ["alpha", "Beta", "zeta"]                  # case-insensitive order
    everything = newsbot("--config", str(cfg), "poll", "--once", "--feed", "alpha", "--feed", "Beta")
    assert everything.returncode == EXIT_ALL_FEEDS_FAILED, everything.stderr
    assert "2 feeds: 0 ok, 0 not modified, 2 errors" in everything.stdout
    fine = newsbot("--config", str(cfg), "poll", "--once", "--feed", "zeta")
    assert fine.returncode == 0, fine.stderr
    assert {EXIT_SOME_FEEDS_FAILED, EXIT_ALL_FEEDS_FAILED}.isdisjoint({0, 1, 2})   # not usage/config
    help_text = " ".join(newsbot("poll", "--help").stdout.split())
    assert f"{EXIT_SOME_FEEDS_FAILED} some feeds failed" in help_text
    assert f"{EXIT_ALL_FEEDS_FAILED} every feed failed" in help_text
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"`{EXIT_SOME_FEEDS_FAILED}`" in readme and f"`{EXIT_ALL_FEEDS_FAILED}`" in readme


def test_version() -> None:
    result = newsbot("--version")
    assert result.returncode == 0 and re.fullmatch(r"newsbot \d+\.\d+\.\d+.*\n", result.stdout)


BAD_CONFIG = '''# every line below that is marked ✗ is a problem, found at once
[polling]
interval = 15                       # ✗ line 3: seconds or minutes?
jitter = "1h30m"
max_backoff = "3w"                  # ✗ line 5: a duration, but over the 7d maximum
dead_after = "2w"

[[feeds]]
name = "spaces"
url = "http://exa mple.com/feed"    # ✗ line 10

[[feeds]]
name = "port"
interval = "1h 30m"
url = "https://news.example:99999/rss"   # ✗ line 15

[[feeds]]
url = "https://c.example/rss"       # no name: ✗ line 17, its [[feeds]]
interval = 600                      # ✗ line 19

[cleaning]
extra_boilerplate = [
    "^fine$",
    "([",                            # ✗ line 24
]
'''


def test_check_finds_what_polling_would_reject_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(BAD_CONFIG, encoding="utf-8")
    result = newsbot("--config", str(path), "check")
    assert result.returncode == 1 and result.stdout == ""
    found = {}
    for line in result.stderr.splitlines():
        match = re.match(rf"{re.escape(str(path))}:(\d+): (\S+): (.*)", line)
        assert match, f"no line number: {line}"
        found[match.group(2)] = (int(match.group(1)), match.group(3))
    assert found["polling.interval"][0] == 3 and '"15s" for 15 seconds' in found["polling.interval"][1]
    assert found["polling.max_backoff"][0] == 5 and "'3w'" in found["polling.max_backoff"][1]
    assert found["feeds[0].url"][0] == 10 and "space" in found["feeds[0].url"][1]
    assert found["feeds[1].url"][0] == 15 and "out of range" in found["feeds[1].url"][1]
    assert found["feeds[2].name"][0] == 17
    assert found["feeds[2].interval"][0] == 19 and '"600s"' in found["feeds[2].interval"][1]
    assert found["cleaning.extra_boilerplate[1]"][0] == 24
    assert set(found) == {"polling.interval", "polling.max_backoff", "feeds[0].url", "feeds[1].url",
                          "feeds[2].name", "feeds[2].interval", "cleaning.extra_boilerplate[1]"}


def test_check_accepts_compound_durations_and_weeks(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[polling]\ninterval = "1h30m"\ndead_after = "3w"\njitter = "1m 30s"\n'
                    '[[feeds]]\nname = "a"\nurl = "https://a.example/rss"\ninterval = "2h15m"\n',
                    encoding="utf-8")
    result = newsbot("--config", str(path), "check")
    assert result.returncode == 0, result.stderr
    assert "default interval 90m" in result.stdout


def test_syntax_error_has_its_line_too(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[polling]\ninterval = "5m"\nconcurrency = = 3\n', encoding="utf-8")
    result = newsbot("--config", str(path), "check")
    assert result.returncode == 1 and result.stderr.startswith(f"{path}:3: TOML syntax error")


def run_on_terminal(*args: str, timeout: float = 120) -> tuple[int, str, str]:
    """``python -m bot ARGS`` with stderr on a pseudo-terminal (as in a shell), stdout a pipe."""
    import fcntl
    import os
    import pty
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))   # 120 columns
    proc = subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=REPO, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:            # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        out = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))[0]
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out.decode(), b"".join(chunks).decode(errors="replace")


def _many_feeds(feed_server: FeedServer, tmp_path: Path, count: int = 12) -> Path:
    feeds = {}
    for i in range(count):
        feed_server.route(f"/f{i}.xml", rss([(f"f{i}-{j}", f"Story {j} of desk {i} on Iran talks")
                                             for j in range(5)], title=f"Desk {i}"))
        feeds[f"desk-{i:02d}"] = feed_server.url(f"/f{i}.xml")
    tags = '[tags.iran]\nkeywords = ["Iran"]\n'
    return write_config(tmp_path, feeds, extra=tags, polling="parse_processes = 0")


def test_progress_bar_on_a_terminal(feed_server: FeedServer, tmp_path: Path) -> None:
    cfg = _many_feeds(feed_server, tmp_path)
    code, out, term = run_on_terminal("--config", str(cfg), "poll", "--once")
    assert code == 0, term
    assert "12 feeds: 12 ok" in out and "\r" not in out            # the table on stdout stays plain
    assert "\r" in term and "polling:" in term and "12/12 feeds" in term, term
    assert "12 ok, 0 not modified, 0 errors" in term
    assert "deciding duplicates and stories:" in term and "60/60 articles" in term
    assert "polled desk-" not in term                               # no per-feed lines under a bar
    code, out, term = run_on_terminal("--config", str(cfg), "retag", "--since", "30d")
    assert code == 0, term
    assert "re-tagging:" in term and "60/60 articles" in term and "\r" in term, term
    assert "0 changed" in out


def test_plain_lines_when_not_a_terminal(feed_server: FeedServer, tmp_path: Path) -> None:
    cfg = _many_feeds(feed_server, tmp_path)
    polled = newsbot("--config", str(cfg), "poll", "--once")
    assert polled.returncode == 0, polled.stderr
    lines = polled.stderr.splitlines()
    assert sorted(line for line in lines if line.startswith("polled ")) == [
        f"polled desk-{i:02d}: ok" for i in range(12)]
    assert "decided 60 articles (duplicates and stories)" in lines
    retagged = newsbot("--config", str(cfg), "retag", "--since", "30d")
    assert retagged.returncode == 0 and retagged.stderr.splitlines() == ["re-tagging: 60/60 articles"]
    for stream in (polled.stderr, polled.stdout, retagged.stderr, retagged.stdout):
        assert "\r" not in stream and "\x1b" not in stream


@pytest.mark.parametrize("args", [
    ["clusters", "--explain", "99999999999999999999"],
    ["clusters", "--min-sources", "99999999999999999999"],
    ["explain", "99999999999999999999"],
    ["digest", "--chat", "-99999999999999999999", "--dry-run"],
])
def test_ids_beyond_64_bits_are_usage_errors(args: list[str], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, {"A": "http://127.0.0.1:9/a.xml"})
    with pytest.raises(SystemExit) as stopped:           # was: OverflowError from the SQLite driver
        main(["--config", str(cfg), *args])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "is out of range" in err and "Traceback" not in err, err


@pytest.mark.parametrize("option", ["--limit", "--min-sources"])
def test_negative_counts_are_usage_errors(option: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, {"A": "http://127.0.0.1:9/a.xml"})
    with pytest.raises(SystemExit) as stopped:           # was: LIMIT -1, i.e. every cluster
        main(["--config", str(cfg), "clusters", option, "-1"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "is negative" in err and "Traceback" not in err, err


def test_folders_that_cannot_be_made_are_one_line_errors(feed_server: FeedServer, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    feed_server.route("/a.xml", rss([("a1", "Talks in Geneva")]))
    cfg = write_config(tmp_path, {"A": feed_server.url("/a.xml")})
    assert main(["--config", str(cfg), "poll", "--once"]) == 0
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    capsys.readouterr()
    # was: a FileNotFoundError/NotADirectoryError traceback from mkdir
    assert main(["--config", str(cfg), "backup", str(blocker / "sub" / "x.db")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("newsbot: cannot write the backup") and len(err.splitlines()) == 1, err
    assert main(["demo", "--keep", str(blocker / "demo")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("newsbot: cannot keep the demo database in") and len(err.splitlines()) == 1, err
