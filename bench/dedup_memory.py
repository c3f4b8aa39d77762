"""Dedup's memory as articles arrive: where resident memory levels off (its caches are bounded).

Stores and decides ``--articles`` soak-like articles (40 feeds, made-up names in every headline,
the titles bench/soak.py's feed server serves) through ``save_articles`` + ``decide_pending`` in
one process, and prints the resident memory every ``--every`` articles. Dedup keeps bounded
caches of recent articles and text (bot/pipeline/dedup/view.py ``StoreView``, bot/pipeline/dedup/text.py);
this shows after how many articles they are full and what that costs, i.e. how long a soak's
warm-up must be before "flat" can be judged.

Run: .venv/bin/python bench/dedup_memory.py [--articles 16000] [--every 2000]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import entry_title, proc_status  # noqa: E402
from bot.models import Article  # noqa: E402
from bot.pipeline.dedup import decide_pending  # noqa: E402
from bot.pipeline.store import open_database  # noqa: E402
from bot.pipeline.store.articles import save_articles  # noqa: E402

FEEDS = 40


def batch(step: int, now: float) -> list[Article]:
    """One new entry per feed, as the soak's feed server adds them."""
    return [
        Article(
            guid=f"f{feed}-e{step}", link=f"https://feed{feed}.example/story/{step}",
            canonical_url=f"https://feed{feed}.example/story/{step}", title=entry_title(feed, step, 10),
            source=f"Feed {feed}", published_at=now + step, fetched_at=now + step,
            summary=f"Story {step} of feed {feed}: {entry_title(feed, step + 7)}.", language="en",
        )
        for feed in range(FEEDS)
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=16000)
    ap.add_argument("--every", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(Path(tmp) / "memory.db")
        feed_id = int(db.execute(
            "INSERT INTO feeds (name, url, created_at) VALUES ('soak', 'http://x/soak', 0)").lastrowid)
        now = time.time()
        started = time.perf_counter()
        print(f"{'articles':>8} {'RSS MB':>7} {'articles/s':>10}")
        for step in range(args.articles // FEEDS):
            with db.atomic():
                save_articles(db, feed_id, batch(step, now), now + step)
            while decide_pending(db, now + step, 32):
                pass
            done = (step + 1) * FEEDS
            if done % args.every == 0:
                gc.collect()
                rate = done / (time.perf_counter() - started)
                print(f"{done:8d} {proc_status()['rss_kb'] / 1024:7.1f} {rate:10.0f}", flush=True)
        db.conn.close()


if __name__ == "__main__":
    main()
