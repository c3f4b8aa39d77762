"""The command line, run in-process through ``bot.cli.main`` with real files and HTTP."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.feedserver import FeedServer
from tests.helpers import rss, write_config

REPO = Path(__file__).resolve().parent.parent


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_ok_prints_summary(capsys) -> None:
    code, out, _ = run(capsys, "--config", str(REPO / "config.example.toml"), "check")
    assert code == 0 and ": OK" in out and "feeds:" in out


def test_check_prints_every_problem_and_exits_1(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[polling]\ninterval = "0s"\nfoo = 1\n[[feeds]]\nname = "x"\nurl = "file:///etc/passwd"\n')
    code, out, err = run(capsys, "--config", str(bad), "check")
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 3
    assert all(line.startswith(str(bad)) for line in lines)
    assert "Traceback" not in err


def test_missing_config_is_one_line(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "--config", str(tmp_path / "none.toml"), "check")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "not found" in err


def test_poll_once_feeds_and_export(capsys, feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.route("/a.xml", rss([("a1", "Talks in Geneva"), ("a2", "Storm in Manila")]), etag='"1"')
    feed_server.route("/b.xml", "nope", status=500, content_type="text/plain")
    cfg = write_config(tmp_path, {"A": feed_server.url("/a.xml"), "B": feed_server.url("/b.xml")})
    code, out, _ = run(capsys, "--config", str(cfg), "poll", "--once")
    assert code == 3                                         # some feeds failed
    assert "2 feeds: 1 ok, 0 not modified, 1 error; 2 new" in out
    code, out, _ = run(capsys, "--config", str(cfg), "poll", "--once")
    assert "1 not modified" in out
    code, out, _ = run(capsys, "--config", str(cfg), "feeds")
    assert code == 0 and "failing×2" in out and "HTTP 500" in out
    code, out, _ = run(capsys, "--config", str(cfg), "export")
    records = [json.loads(line) for line in out.splitlines()]
    assert {r["title"] for r in records} == {"Talks in Geneva", "Storm in Manila"}
    for field in ("id", "feed", "url", "canonical_url", "source", "published", "language", "summary",
                  "cluster_id", "duplicate_of", "tags", "tag_matches"):
        assert field in records[0]
    code, out, _ = run(capsys, "--config", str(cfg), "export", "--format", "csv", "--since", "1h")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 2 and rows[0]["feed"] == "A"


def test_bad_arguments_are_one_line(capsys, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {"A": "https://example.org/rss"})
    code, _, err = run(capsys, "--config", str(cfg), "poll", "--once", "--feed", "Z")
    assert code == 1 and "no feed named 'Z'" in err
    code, _, err = run(capsys, "--config", str(cfg), "export", "--since", "yesterday")
    assert code == 1 and "--since" in err and "Traceback" not in err


def test_python_dash_m_entry_point() -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, text=True,
                            cwd=REPO, timeout=60)
    assert result.returncode == 0 and "poll" in result.stdout


FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+SUM(A1:A9)", "-2+3 Tanks cross",
            "@cmd|' /C calc'!A0"]


def test_csv_export_neutralises_formulas_and_jsonl_stays_verbatim(capsys, feed_server: FeedServer,
                                                                 tmp_path: Path) -> None:
    feed_server.route("/f.xml", rss([(f"g{i}", title) for i, title in enumerate(FORMULAS)]))
    cfg = write_config(tmp_path, {"=cmd|' /C calc'!A0": feed_server.url("/f.xml")})
    assert run(capsys, "--config", str(cfg), "poll", "--once")[0] == 0
    code, out, _ = run(capsys, "--config", str(cfg), "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and sorted(r["title"] for r in rows) == sorted("'" + f for f in FORMULAS)
    assert {r["feed"] for r in rows} == {"'=cmd|' /C calc'!A0"}
    assert {r["summary"][:1] for r in rows} == {"S"}                     # "Summary of =…": untouched
    for row in rows:
        assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values())
    code, out, _ = run(capsys, "--config", str(cfg), "export")
    assert sorted(json.loads(line)["title"] for line in out.splitlines()) == sorted(FORMULAS)
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert "formula" in " ".join(capsys.readouterr().out.split())


def test_csv_cell_covers_tab_and_carriage_return() -> None:
    from bot.cli.reports import csv_cell

    assert [csv_cell(v) for v in ("\tx", "\rx", "a=b", "", 12, -3, None)] == \
        ["'\tx", "'\rx", "a=b", "", 12, -3, None]
