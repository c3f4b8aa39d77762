"""One story from three feeds over real HTTP ends as one cluster with three sources.

Publisher RSS (Euractiv France), a Google News topic feed (the publisher's item again, plus
Reuters' own article whose related coverage names the publisher's), and a content farm's
republished copy of the seed article with its boilerplate. Polled by the real pipeline into a
real SQLite file.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.pipeline.poll import poll_once
from bot.pipeline.store import DbExecutor, open_database
from tests.feedserver import FeedServer
from tests.helpers import load, write_config

E2E = Path(__file__).parent / "data" / "dedup" / "e2e"


def _poll(cfg: Path, names: list[str] | None = None) -> None:
    config = load(cfg)
    executor = DbExecutor(config.storage.path)
    try:
        asyncio.run(poll_once(config, executor, feed_names=names))
    finally:
        executor.close()


def _serve(feed_server: FeedServer, tmp_path: Path) -> Path:
    for name in ("publisher", "googlenews", "republisher"):
        feed_server.route_file(f"/{name}.xml", E2E / f"{name}.xml")
    return write_config(tmp_path, {
        "euractiv": feed_server.url("/publisher.xml"),
        "gnews": feed_server.url("/googlenews.xml"),
        "farm": feed_server.url("/republisher.xml"),
    })


def _story_rows(cfg: Path) -> list[tuple]:
    db = open_database(load(cfg).storage.path)
    return db.execute(
        "SELECT id, source, is_google_news, duplicate_of, cluster_id FROM articles "
        "WHERE title LIKE '%nord-cor%' OR title LIKE '%North Korean%' ORDER BY id"
    ).fetchall()


def test_three_feeds_one_cluster_three_sources(feed_server: FeedServer, tmp_path: Path) -> None:
    cfg = _serve(feed_server, tmp_path)
    _poll(cfg)
    rows = _story_rows(cfg)
    assert len(rows) == 4                       # publisher, its GN item, Reuters via GN, farm copy
    assert len({r[4] for r in rows}) == 1
    db = open_database(load(cfg).storage.path)
    cluster = db.execute(
        "SELECT size, source_count, representative_id FROM clusters WHERE id = ?", (rows[0][4],)
    ).fetchone()
    assert cluster[:2] == (4, 3)
    by_id = {r[0]: r for r in rows}
    rep = by_id[cluster[2]]
    # The publisher's own feed item: not the Google News item, not the farm's copy.
    assert rep[1] == "Euractiv France" and rep[2] == 0
    # The publisher's item, its Google News item and the farm's copy are one text: whichever
    # arrived first (the feeds are polled concurrently) is the original, the two others point
    # at it. Reuters' own article is no copy.
    same_text = [r for r in rows if r[1] != "Reuters"]
    originals = [r for r in same_text if r[3] is None]
    assert len(originals) == 1
    assert all(r[3] == originals[0][0] for r in same_text if r is not originals[0])
    assert [r[3] for r in rows if r[1] == "Reuters"] == [None]
    other = db.execute("SELECT cluster_id FROM articles WHERE title LIKE 'Moldavie%'").fetchone()
    assert other[0] != rows[0][4]


def test_farm_first_still_one_cluster_and_publisher_represents(feed_server: FeedServer,
                                                               tmp_path: Path) -> None:
    cfg = _serve(feed_server, tmp_path)
    for name in ("farm", "gnews", "euractiv"):          # the worst order: the copy arrives first
        _poll(cfg, [name])
    rows = _story_rows(cfg)
    assert len({r[4] for r in rows}) == 1
    db = open_database(load(cfg).storage.path)
    size, sources, rep_id = db.execute(
        "SELECT size, source_count, representative_id FROM clusters WHERE id = ?", (rows[0][4],)
    ).fetchone()
    assert (size, sources) == (4, 3)
    rep = db.execute("SELECT source, is_google_news FROM articles WHERE id = ?", (rep_id,)).fetchone()
    assert rep[0] == "Euractiv France" and rep[1] == 0
