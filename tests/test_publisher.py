"""Publisher names: drawn from a feed's title and site when the config gives no ``source``.

The names of all 18 real captures are pinned in tests/test_feeds_real.py (``Case.source``); here
the rule itself, its offline public-suffix list, and the names a digest shows after a real poll.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.pipeline.parse import publisher
from bot.pipeline.parse.publisher import publisher_name
from bot.pipeline.poll import poll_once
from bot.pipeline.store import DbExecutor, open_database
from bot.pipeline.telegram.delivery import preview_new_subscriber
from tests.feedserver import FeedServer
from tests.helpers import load, write_config

REAL = Path(__file__).parent / "data" / "feeds-real"


@pytest.mark.parametrize(("title", "site", "name"), [
    ("Al Jazeera – Breaking News, World News and Video from Al Jazeera", "https://www.aljazeera.com",
     "Al Jazeera"),
    ("NYT > World News", "https://www.nytimes.com/section/world", "NYT"),           # abbreviation
    ("World", "https://www.washingtonpost.com", "washingtonpost.com"),              # nothing matches
    ("Deutsche Welle", "https://www.dw.com/english/", "Deutsche Welle"),            # initials
    ("Jornal de Notícias - Últimas Notícias", "http://www.jn.pt", "Jornal de Notícias"),
    ("Le Monde.fr - Actualités et Infos", "https://www.lemonde.fr/rss/une.xml", "Le Monde"),
    ("Flux RSS du magazine Le Cercle Psy", "https://le-cercle-psy.scienceshumaines.com/rss",
     "Le Cercle Psy"),                                                               # a subdomain's name
    ("Latest - Example Herald", "https://feeds.example.co.uk/all", "Example Herald"),  # co.uk is a suffix
    ("My own feed", "http://127.0.0.1:8080/feed.xml", "My own feed"),               # no domain: the title
    ("", "https://www.bbc.co.uk/news", "bbc.co.uk"),
    ("Some title", "not a url", "Some title"),
])
def test_publisher_name(title: str, site: str, name: str) -> None:
    assert publisher_name(title, site) == name


def test_public_suffix_list_is_the_bundled_snapshot(tmp_path: Path, monkeypatch) -> None:
    """No fetch of the suffix list and no cache file, whatever the environment says."""
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("tldextract tried the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("TLDEXTRACT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "https://publicsuffix.invalid/list.dat")
    publisher._extractor.cache_clear()
    try:
        assert publisher_name("BBC News - World", "https://www.bbc.co.uk/news") == "BBC News"
        assert publisher_name("Blog", "https://someone.github.io/") == "someone.github.io"  # private suffix
    finally:
        publisher._extractor.cache_clear()
    assert not (tmp_path / "cache").exists()


def _poll(cfg: Path) -> None:
    config = load(cfg)
    executor = DbExecutor(config.storage.path)
    try:
        asyncio.run(poll_once(config, executor))
    finally:
        executor.close()


def test_digest_names_publishers_and_source_overrides(feed_server: FeedServer, tmp_path: Path) -> None:
    """Three real captures over HTTP into a real database: the digest names Al Jazeera and NYT
    (not their feed titles), and the Washington Post by its ``source`` key."""
    for name in ("aljazeera-all-rss.xml", "nyt-world-rss.xml", "washingtonpost-world-rss.xml"):
        feed_server.route_file(f"/{name}", REAL / name)
    cfg = write_config(tmp_path, {
        "aljazeera": feed_server.url("/aljazeera-all-rss.xml"),
        "nyt": feed_server.url("/nyt-world-rss.xml"),
    }, extra=f'[[feeds]]\nname = "wapo"\nurl = "{feed_server.url("/washingtonpost-world-rss.xml")}"\n'
             'source = "The Washington Post"\n[digest]\nmax_stories = 100\n')
    _poll(cfg)
    db = open_database(load(cfg).storage.path)
    by_feed = dict(db.execute(
        "SELECT f.name, group_concat(DISTINCT a.source) FROM articles a JOIN feeds f ON f.id = a.feed_id "
        "GROUP BY f.name"
    ).fetchall())
    assert by_feed == {"aljazeera": "Al Jazeera", "nyt": "NYT", "wapo": "The Washington Post"}
    digest = preview_new_subscriber(db, load(cfg), time.time(), language="en")
    assert "Al Jazeera" in digest and "The Washington Post" in digest
    assert "Breaking News, World News" not in digest and "NYT > World News" not in digest


@settings(max_examples=200, deadline=None)
@given(title=st.text(max_size=200), host=st.text(max_size=40))
def test_any_title_and_site_give_a_name_without_error(title: str, host: str) -> None:
    name = publisher_name(title, f"https://{host}/feed")
    assert isinstance(name, str)
    if title.strip():
        assert name.strip()


def test_upgrade_renames_articles_stored_under_feed_titles(feed_server: FeedServer, tmp_path: Path) -> None:
    """A database from before publisher names: ordinary feeds' articles carry the feed title.
    Opening it applies m002_publisher_names once; a configured source and Google News
    publishers are left as they were."""
    names = ("aljazeera-all-rss.xml", "nyt-world-rss.xml", "washingtonpost-world-rss.xml",
             "googlenews-search-en-gb-brent-crude-trimmed.xml")
    for name in names:
        feed_server.route_file(f"/{name}", REAL / name)
    cfg = write_config(tmp_path, {
        "aljazeera": feed_server.url("/aljazeera-all-rss.xml"),
        "nyt": feed_server.url("/nyt-world-rss.xml"),
        "gnews": feed_server.url("/googlenews-search-en-gb-brent-crude-trimmed.xml"),
    }, extra=f'[[feeds]]\nname = "wapo"\nurl = "{feed_server.url("/washingtonpost-world-rss.xml")}"\n'
             'source = "The Washington Post"\n')
    _poll(cfg)
    path = load(cfg).storage.path
    db = open_database(path)
    gn_before = db.execute("SELECT id, source FROM articles WHERE is_google_news = 1 ORDER BY id").fetchall()
    # what the old parse.py stored: the feed's cleaned title as every ordinary article's source
    db.execute("UPDATE articles SET source = (SELECT title FROM feeds f WHERE f.id = feed_id) "
               "WHERE is_google_news = 0 AND feed_id <> (SELECT id FROM feeds WHERE name = 'wapo')")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm002_publisher_names'")
    old = dict(db.execute("SELECT f.name, group_concat(DISTINCT a.source) FROM articles a "
                          "JOIN feeds f ON f.id = a.feed_id WHERE a.is_google_news = 0 GROUP BY f.name"))
    assert old["nyt"] == "NYT > World News" and old["aljazeera"].startswith("Al Jazeera – Breaking")
    db.conn.close()
    db = open_database(path)
    now = dict(db.execute("SELECT f.name, group_concat(DISTINCT a.source) FROM articles a "
                          "JOIN feeds f ON f.id = a.feed_id WHERE a.is_google_news = 0 GROUP BY f.name"))
    assert now == {"aljazeera": "Al Jazeera", "nyt": "NYT", "wapo": "The Washington Post"}
    assert db.execute("SELECT id, source FROM articles WHERE is_google_news = 1 ORDER BY id").fetchall() \
        == gn_before
