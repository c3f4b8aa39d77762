"""`newsbot backup PATH`: a checked copy of the live database, taken while `newsbot poll` writes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.feedserver import FeedServer
from tests.running import SAMPLES, clean_env, poller_config, running, wait_until

ROOT = Path(__file__).resolve().parent.parent
NEWSBOT = [sys.executable, "-m", "bot"]


def _newsbot(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(NEWSBOT + ["--config", str(config), *args], cwd=ROOT, env=clean_env(),
                          capture_output=True, text=True, timeout=60)


def _articles(db: Path) -> int:
    try:
        with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_backup_while_polling_passes_integrity_check(tmp_path: Path, feed_server: FeedServer) -> None:
    # Many feeds (the sample files under several paths), so the poller keeps writing meanwhile.
    files = sorted(p.name for p in SAMPLES.iterdir() if p.suffix in (".xml", ".rdf"))
    urls = []
    for copy in range(6):
        for name in files:
            feed_server.route_file(f"/{copy}/{name}", SAMPLES / name)
            urls.append(feed_server.url(f"/{copy}/{name}"))
    config = poller_config(tmp_path, urls, None)
    live = tmp_path / "news.db"
    results = []
    with running(NEWSBOT + ["--config", str(config), "poll"], cwd=ROOT, env=clean_env()) as proc:
        wait_until(lambda: _articles(live) > 0, 30, "the first stored articles")
        for i in range(3):
            results.append((_newsbot(config, "backup", str(tmp_path / f"b{i}.db")), _articles(live)))
        assert proc.poll() is None                                 # the poller ran all along
    assert proc.returncode == 0, proc.err                            # type: ignore[attr-defined]
    for i, (result, live_after) in enumerate(results):
        assert result.returncode == 0, result.stderr
        assert "integrity ok" in result.stdout
        with sqlite3.connect(tmp_path / f"b{i}.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            copied = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        assert 0 < copied <= live_after
    assert not list(tmp_path.glob(".*.partial"))


def test_backup_refuses_to_overwrite_and_says_why_in_one_line(tmp_path: Path) -> None:
    config = poller_config(tmp_path, ["http://127.0.0.1:9/x.xml"], None)
    missing = _newsbot(config, "backup", str(tmp_path / "b.db"))
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    assert "no database at" in missing.stderr and not (tmp_path / "b.db").exists()
    # the one feed is refused, so poll --once exits 4 (every feed failed); the database now exists
    assert _newsbot(config, "poll", "--once").returncode == 4
    target = tmp_path / "b.db"
    target.write_bytes(b"an older backup")
    refused = _newsbot(config, "backup", str(target))
    assert refused.returncode == 1 and "already exists" in refused.stderr
    assert target.read_bytes() == b"an older backup"
    itself = _newsbot(config, "backup", str(tmp_path / "news.db"), "--force")
    assert itself.returncode == 1 and "live database itself" in itself.stderr
    forced = _newsbot(config, "backup", str(target), "--force")
    assert forced.returncode == 0, forced.stderr
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
