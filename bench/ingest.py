"""Ingest throughput: parse + normalise + tag + store, beside feedparser alone on the same bytes.

Generates feeds of realistic entries (HTML summaries, tracking parameters, French and English),
then measures, in the same run:
  baseline  feedparser.parse on the bytes (what any feedparser-based reader pays)
  parse     bot.pipeline.parse.feed.parse_feed (feedparser + normalisation into Article records)
  pipeline  parse + tag + store (save_articles and dedup in one transaction per feed) into a
            real SQLite file

Run: .venv/bin/python bench/ingest.py [--feeds 40] [--entries 100]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import feedparser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import load_config  # noqa: E402
from bot.models import FetchResult  # noqa: E402
from bot.pipeline.dedup import decide_pending  # noqa: E402
from bot.pipeline.parse.prepare import Stages, prepare_articles  # noqa: E402
from bot.pipeline.poll import store_parsed  # noqa: E402
from bot.pipeline.store import open_database  # noqa: E402
from bot.pipeline.store.feeds import sync_feeds  # noqa: E402

WORDS = (
    "Ukraine", "Russie", "Kiev", "Moscou", "OTAN", "sommet", "frappe", "drone", "missile", "Corée",
    "Séoul", "Pyongyang", "troupes", "ceasefire", "talks", "sanctions", "European", "Union", "minister",
    "president", "election", "Gaza", "Israel", "Iran", "Taiwan", "China", "economy", "inflation",
    "energy", "gas", "oil", "border", "army", "soldiers", "report", "officials", "said",
)


SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "bra", "dor", "fen", "gul", "har")


def vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    """Made-up names and words: distinct stories share few rare terms, as real news does."""
    words = {"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(size)}
    return sorted(words)


def sentence(rng: random.Random, rare: list[str], n: int) -> str:
    return " ".join(rng.choice(rare) if rng.random() < 0.5 else rng.choice(WORDS) for _ in range(n))


def make_feed(feed_no: int, entries: int, rng: random.Random, rare: list[str]) -> bytes:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    items = []
    for i in range(entries):
        title = sentence(rng, rare, rng.randint(6, 12))
        body = sentence(rng, rare, rng.randint(30, 80))
        date = format_datetime(now - timedelta(minutes=feed_no * 7 + i * 3))
        items.append(
            f"<item><title>{title.capitalize()} ({feed_no}-{i})</title>"
            f"<link>https://news{feed_no}.example/article/{i}?utm_source=rss&amp;xtor=RSS-{i}</link>"
            f"<guid>https://news{feed_no}.example/article/{i}</guid><pubDate>{date}</pubDate>"
            f"<description><![CDATA[<p>{body}</p><p><a href='/x'>Lire aussi</a></p>]]></description>"
            f"</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>News {feed_no}</title><link>https://news{feed_no}.example/</link>"
        + "".join(items) + "</channel></rss>"
    ).encode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=40)
    ap.add_argument("--entries", type=int, default=100)
    args = ap.parse_args()
    rng = random.Random(7)
    rare = vocabulary(rng)
    bodies = [make_feed(n, args.entries, rng, rare) for n in range(args.feeds)]
    total = args.feeds * args.entries
    config = load_config(Path(__file__).resolve().parent.parent / "config.example.toml")
    stages = Stages.from_config(config)
    feed_cfg = config.feeds[0]
    headers = {"content-type": "application/rss+xml; charset=utf-8"}

    t0 = time.perf_counter()
    for body in bodies:
        feedparser.parse(body, response_headers=headers)
    baseline = time.perf_counter() - t0

    results = [FetchResult(url=f"https://news{n}.example/rss", status=200, body=b, headers=headers,
                           final_url=f"https://news{n}.example/rss") for n, b in enumerate(bodies)]
    now = time.time()
    t0 = time.perf_counter()
    parsed = [prepare_articles(r, feed_cfg, stages.cleaner, stages.tagger, now) for r in results]
    parse_time = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(Path(tmp) / "bench.db")
        feed_ids = sync_feeds(db, config.feeds, now)
        feed_id = feed_ids[feed_cfg.name]
        save_time = dedup_time = 0.0
        for p, r in zip(parsed, results, strict=True):
            t0 = time.perf_counter()
            store_parsed(db, feed_id, p, r, now + 600, now)
            t1 = time.perf_counter()
            while decide_pending(db, now, 64):
                pass
            save_time, dedup_time = save_time + t1 - t0, dedup_time + time.perf_counter() - t1
        store_time = save_time + dedup_time
        stored = db.execute("SELECT count(*) FROM articles").fetchone()[0]

    print(f"entries: {total} in {args.feeds} feeds; stored {stored}")
    print(f"feedparser alone          : {total / baseline:8.0f} entries/s")
    print(f"parse + normalise + tag   : {total / parse_time:8.0f} entries/s "
          f"({parse_time / baseline:.2f}x feedparser's time)")
    print(f"store + dedup             : {total / store_time:8.0f} entries/s "
          f"(store {total / save_time:.0f}/s, dedup {total / dedup_time:.0f}/s)")
    print(f"whole ingest path         : {total / (parse_time + store_time):8.0f} entries/s "
          f"({(parse_time + store_time) / baseline:.2f}x feedparser's time)")


if __name__ == "__main__":
    main()
