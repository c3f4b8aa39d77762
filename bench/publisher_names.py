"""What naming a feed's publisher costs (bot/pipeline/parse/publisher.py), once per parsed feed.

    .venv/bin/python bench/publisher_names.py [--rounds 2000]

Titles and site links of the real captures (tests/data/feeds-real, plus ../shared/feeds-real
when present), then a worst case: a 200-character title (the cap parse.py applies) that names
nothing, so every span of every segment is compared with the domain and a subdomain. Prints the
time per call (median of 5 runs), the one-off cost of loading the bundled suffix list, and the
names found. Then the one-off upgrade migration (``m002_publisher_names``) on a generated store
of ``--upgrade-articles`` articles in 100 feeds, all still named by their feed's title (a real
SQLite file in a temporary folder; FTS triggers included, as in production).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402  (bench only: reads the captures' titles)

from bot.pipeline.parse import publisher  # noqa: E402


def captures() -> list[tuple[str, str, str]]:
    found = {}
    for folder in (ROOT / "tests" / "data" / "feeds-real", ROOT.parent / "shared" / "feeds-real"):
        for path in sorted(folder.glob("*")) if folder.exists() else []:
            if path.suffix in (".xml", ".atom") and path.name not in found:
                feed = feedparser.parse(path.read_bytes()).feed
                found[path.name] = (path.name, feed.get("title", ""), feed.get("link", ""))
    return list(found.values())


def per_call(calls: list[tuple[str, str]], rounds: int) -> float:
    """Median seconds per call over 5 runs of ``rounds`` passes."""
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(rounds):
            for title, site in calls:
                publisher.publisher_name(title, site)
        runs.append((time.perf_counter() - start) / (rounds * len(calls)))
    return statistics.median(runs)


def upgrade(articles: int) -> None:
    from bot.pipeline.store import open_database
    from bot.pipeline.store.schema import m002_publisher_names

    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(Path(tmp) / "upgrade.db")
        db.conn.executemany(
            "INSERT INTO feeds (id, name, url, title, created_at) VALUES (?, ?, ?, ?, 0)",
            [(i, f"feed{i}", f"https://www.site{i}.com/rss", f"Site{i} - World News") for i in range(100)],
        )
        rows = ((n, n % 100, f"g{n}", f"Headline number {n}", f"Site{n % 100} - World News",
                 f"https://www.site{n % 100}.com/", "summary text " * 10) for n in range(1, articles + 1))
        with db.atomic():
            db.conn.executemany(
                "INSERT INTO articles (id, feed_id, guid, title, source, source_url, published_at,"
                " fetched_at, updated_at, summary) VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, ?)", rows)
        start = time.perf_counter()
        with db.atomic():
            m002_publisher_names(db)
        renamed = db.execute(
            "SELECT COUNT(*) FROM articles WHERE source NOT LIKE '% - World News'").fetchone()[0]
        print(f"upgrade: {renamed:,} of {articles:,} stored articles renamed in "
              f"{time.perf_counter() - start:.1f} s (once)")
        db.conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--upgrade-articles", type=int, default=100_000)
    args = parser.parse_args()
    publisher._extractor.cache_clear()
    start = time.perf_counter()
    publisher.publisher_name("x", "https://www.example.com/")
    print(f"suffix list snapshot loaded in {1000 * (time.perf_counter() - start):.0f} ms (once per process)")
    real = captures()
    for name, title, site in real:
        print(f"  {name:48} {publisher.publisher_name(title, site)!r}")
    calls = [(title, site) for _, title, site in real]
    print(f"{len(real)} captures: {1e6 * per_call(calls, args.rounds):.0f} µs per call (median of 5)")
    worst = (" ".join(f"word{i}" for i in range(40))[:200], "https://www.some-long-name.example.co.uk/")
    print(f"worst case, 200-char title naming nothing: "
          f"{1e3 * per_call([worst], max(1, args.rounds // 20)):.2f} ms per call (median of 5)")
    if args.upgrade_articles:
        upgrade(args.upgrade_articles)


if __name__ == "__main__":
    main()
