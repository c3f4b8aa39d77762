"""``newsbot clusters``: largest first, sources, first seen; filters and bad input."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.pipeline.store import open_database
from tests.helpers import write_config
from tests.test_dedup_store import add


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = write_config(tmp_path, {"A": "http://127.0.0.1:9/a.xml"})
    db = open_database(tmp_path / "news.db")
    now = time.time() - 3600
    add(db, "Sbarro files for bankruptcy protection for the second time", source="Reuters", at=now)
    add(db, "Sbarro files for bankruptcy protection for the second time - CNBC", source="CNBC", gn=True,
        at=now + 60)
    add(db, "Pizza chain Sbarro files for second bankruptcy in three years", source="CNN Money", at=now + 120)
    add(db, "Sbarro files for bankruptcy protection for the second time", source="Reuters.com - Business",
        at=now + 180)
    add(db, "Magnitude 5.4 earthquake shakes southern Peru, no tsunami warning", source="AP", at=now)
    db.conn.close()
    return path


def test_lists_largest_first_with_ids_sources_and_articles(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(cfg), "clusters"]) == 0
    out = capsys.readouterr().out.splitlines()
    big = re.fullmatch(r"cluster (\d+): Sbarro files for bankruptcy protection for the second time", out[0])
    assert big, out[0]
    assert out[1].strip().startswith("4 articles from 3 sources, first seen ")
    assert out[2].strip() == "sources: Reuters, CNBC, CNN Money"          # one name per publisher
    ids = [int(i) for i in out[3].strip().removeprefix("articles: ").split(", ")]
    assert len(ids) == 4
    assert re.fullmatch(r"cluster \d+: Magnitude 5.4 earthquake .*", out[4])
    assert out[5].strip().startswith("1 article from 1 source, first seen ")  # singular
    # the ids printed are the ones `newsbot explain` takes
    assert main(["--config", str(cfg), "explain", str(ids[0])]) == 0
    assert "Sbarro" in capsys.readouterr().out


def test_min_sources_filters(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(cfg), "clusters", "--min-sources", "2"]) == 0
    out = capsys.readouterr().out
    assert "Sbarro" in out and "Peru" not in out
    assert main(["--config", str(cfg), "clusters", "--min-sources", "9"]) == 0
    assert capsys.readouterr().out.strip() == "no cluster matches"


def test_since_window(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(cfg), "clusters", "--since", "1m"]) == 0
    assert capsys.readouterr().out.strip() == "no cluster matches"


@pytest.mark.parametrize("args", [["--since", "soon"], ["--min-sources", "0"]])
def test_bad_input_is_one_line_and_exit_1(cfg: Path, capsys: pytest.CaptureFixture[str],
                                          args: list[str]) -> None:
    assert main(["--config", str(cfg), "clusters", *args]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("newsbot:") and "\n" not in err


def test_explain_shows_each_article_its_story_features_and_score(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = open_database(cfg.parent / "news.db")
    (cluster_id,) = db.execute("SELECT id FROM clusters ORDER BY size DESC LIMIT 1").fetchone()
    db.conn.close()
    assert main(["--config", str(cfg), "clusters", "--explain", str(cluster_id)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"cluster {cluster_id}: ") and "join threshold" in out
    assert "started the story" in out                          # the first article
    assert "copy (same title key) of article #" in out          # the copies, and of what
    assert f"joined story {cluster_id}: score " in out          # the other outlet's headline
    assert "features: title_story " in out and "gap " in out


def test_explain_unknown_cluster_is_one_line_and_exit_1(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(cfg), "clusters", "--explain", "999"]) == 1
    assert "no cluster 999" in capsys.readouterr().err
