"""Digest planning on a large store: how long selecting one chat's digest takes.

A store of N clusters (one article each, tags russia/usa/china in turn, one every 10 s of
history) and a chat following Russia (and muting USA where the code has mutes) whose cursor is
500 changes behind. Times `select_stories` as a scheduled digest and as `/digest` (which also
offers the chat's unseen cut stories), best of 5. Nothing is sent.

Run: .venv/bin/python bench/digest_plan.py [--clusters 50000]
"""

from __future__ import annotations

import argparse
import inspect
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlite_utils import Database  # noqa: E402

from bot.config.models import Config, DigestConfig  # noqa: E402
from bot.pipeline.store import chats as chat_store  # noqa: E402
from bot.pipeline.store import open_database  # noqa: E402
from bot.pipeline.telegram import delivery  # noqa: E402

TAGS = ("russia", "usa", "china")


def build_store(db: Database, n: int, now: float) -> int:
    """N one-article clusters; returns the last change seq."""
    with db.atomic():
        db.execute("INSERT INTO feeds (name, url, created_at) VALUES ('f', 'https://f.example/rss', 0)")
        for i in range(n):
            at = now - (n - i) * 10
            cid = db.execute(
                "INSERT INTO clusters (title, first_seen, last_seen, size, source_count, updated_at) "
                "VALUES (?, ?, ?, 1, ?, ?)", (f"story {i}", at, at, 1 + i % 7, at)).lastrowid
            aid = db.execute(
                "INSERT INTO articles (feed_id, guid, link, title, source, published_at, fetched_at, "
                "updated_at, cluster_id) VALUES (1, ?, ?, ?, 's', ?, ?, ?, ?)",
                (f"g{i}", f"https://news.example/{i}", f"story {i}", at, at, at, cid)).lastrowid
            db.execute("INSERT INTO article_tags (article_id, tag, matched) VALUES (?, ?, 'x')",
                       (aid, TAGS[i % 3]))
            db.execute("UPDATE clusters SET representative_id = ? WHERE id = ?", (aid, cid))
    return int(db.execute("SELECT MAX(seq) FROM cluster_changes").fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=50_000)
    args = parser.parse_args()
    now = time.time()
    db = open_database(Path(tempfile.mkdtemp(prefix="digest-plan-")) / "bench.db")
    t0 = time.perf_counter()
    seq = build_store(db, args.clusters, now)
    print(f"store: {args.clusters} clusters built in {time.perf_counter() - t0:.1f} s")
    chat_store.upsert_chat(db, 1, type="private", title="t", language="fr", times=["08:00"],
                           timezone="UTC", now=now - 86400)
    db.execute("UPDATE chats SET first_digest_done = 1, cursor_seq = ? WHERE chat_id = 1", (seq - 500,))
    if hasattr(chat_store, "set_tag_choice"):
        chat_store.set_tag_choice(db, 1, follows={"russia"}, mutes={"usa"})
    else:                                                   # older code: no mutes
        chat_store.set_chat_tags(db, 1, {"russia"})
    config = Config(path=Path("bench.toml"), digest=DigestConfig(max_stories=12))
    chat = chat_store.get_chat(db, 1)
    backlog = {"backlog": True} if "backlog" in inspect.signature(delivery.select_stories).parameters else {}
    for label, kwargs in (("scheduled", {}), ("/digest", backlog)):
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            stories, _cut = delivery.select_stories(db, config, chat, now, seq, **kwargs)
            best = min(best, time.perf_counter() - start)
        print(f"{label:10s} {len(stories):2d} stories chosen of 500 changes: best of 5 {best * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
