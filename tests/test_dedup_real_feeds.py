"""Clustering on real captured feeds (tests/data/feeds-real, 2026-02-18 captures of BBC, Al Jazeera,
ABC, DW, NPR, NYT, Washington Post): what the labelled corpus cannot show."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot import dedup
from bot.config import FeedConfig
from bot.normalize import Cleaner
from bot.parse import parse_feed
from bot.store import open_database
from bot.store.articles import save_articles
from bot.store.feeds import sync_feeds

FEEDS = Path(__file__).parent / "data" / "feeds-real"
# The order one `newsbot poll --once` happened to store them in (concurrent fetches).
SAME_DAY = ["aljazeera-all-rss.xml", "cerclepsy-fr-iso-8859-1-no-xml-decl.xml", "bbc-news-world-rss.xml",
            "abcnews-international-rss.xml", "googlenews-search-en-gb-brent-crude-trimmed.xml",
            "dw-english-all-rss1-rdf.xml", "lemonde-une-rss-2018.xml",
            "jornaldenoticias-pt-iso-8859-1-rss.xml",
            "guardian-us-rss-2018.xml", "washingtonpost-world-rss.xml", "npr-world-rss.xml",
            "nyt-world-rss.xml", "intertwingly-atom-xhtml-content.atom", "tpm-atom-relative-links.atom"]


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[str]]:
    db = open_database(tmp_path_factory.mktemp("real") / "news.db")
    now = time.time()
    configs = [FeedConfig(name=n, url=f"https://x.example/{n}", interval=600) for n in SAME_DAY]
    ids = sync_feeds(db, configs, now)
    cleaner = Cleaner()
    for name in SAME_DAY:
        parsed = parse_feed((FEEDS / name).read_bytes(), url=f"https://x.example/{name}", headers={},
                            cleaner=cleaner, now=now)
        with db.atomic():
            new, _, _ = save_articles(db, ids[name], parsed.articles, now)
            dedup.process_articles(db, new, now)
    groups: dict[int, list[str]] = {}
    for cluster_id, title in db.execute("SELECT cluster_id, title FROM articles"):
        groups.setdefault(cluster_id, []).append(title)
    return groups


def test_some_stories_are_folded_across_outlets(clusters: dict[int, list[str]]) -> None:
    assert sum(len(titles) >= 3 for titles in clusters.values()) >= 3


def test_iran_talks_and_ukraine_talks_stay_apart(clusters: dict[int, list[str]]) -> None:
    for titles in clusters.values():
        iran = [t for t in titles if "Iran" in t and "Ukrain" not in t]
        ukraine = [t for t in titles if "Ukrain" in t and "Iran" not in t]
        assert not (iran and ukraine), titles
