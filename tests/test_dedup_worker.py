"""Dedup behind polling: articles are stored undecided and the DedupWorker decides them.

The decisions must be the ones the old in-transaction path made (each article decided, in
arrival order, from what was decided before it), a crash must leave nothing undecided for good,
and readers of clusters (digests) must only ever see decided articles.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.models import Article, RelatedLink
from bot.pipeline.dedup import decide_pending, process_articles
from bot.pipeline.dedup.worker import DedupWorker
from bot.pipeline.store import DbExecutor, open_database
from bot.pipeline.store.articles import count_undecided, save_articles
from bot.pipeline.store.clusters import list_clusters

CORPUS = Path(__file__).parent / "data" / "dedup" / "corpus.jsonl"
NOW = 1_790_000_000.0


def corpus_articles(limit: int = 160) -> list[tuple[str, Article]]:
    """(feed name, article) in the corpus' time order: copies, Google News pairs, hard negatives."""
    records = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    records.sort(key=lambda r: (float(r["published"]), str(r["id"])))
    out = []
    for rec in records[:limit]:
        out.append((rec.get("feed") or rec["source"], Article(
            guid=str(rec["id"]), link=rec.get("url", ""), canonical_url=rec.get("url", ""),
            title=rec["title"], source=rec.get("source", ""), published_at=float(rec["published"]),
            fetched_at=float(rec["published"]) + 60, summary=rec.get("summary", ""),
            language=rec.get("language", ""), is_google_news=bool(rec.get("is_google_news")),
            related=[RelatedLink(**r) for r in rec.get("related", [])],
        )))
    return out


def feed_id(db, name: str, feeds: dict[str, int]) -> int:
    if name not in feeds:
        feeds[name] = int(db.execute(
            "INSERT INTO feeds (name, url, created_at) VALUES (?, ?, 0)", (name, f"http://x/{name}")
        ).lastrowid)
    return feeds[name]


async def until_decided(worker: DedupWorker, count: int) -> None:
    """Wait (up to 4 s) until the worker has decided ``count`` articles; the caller asserts."""
    for _ in range(200):
        if worker.decided == count:
            return
        await asyncio.sleep(0.02)


def decisions(db) -> dict[str, tuple[str | None, str]]:
    """guid -> (guid of duplicate_of, guid of the cluster's first article): comparable across DBs."""
    guid = dict(db.execute("SELECT id, guid FROM articles"))
    first = dict(db.execute("SELECT cluster_id, MIN(id) FROM articles GROUP BY cluster_id"))
    return {
        guid[aid]: (guid.get(dup), guid[first[cid]])
        for aid, dup, cid in db.execute("SELECT id, duplicate_of, cluster_id FROM articles")
    }


def test_backlog_decides_exactly_as_deciding_on_arrival(tmp_path: Path) -> None:
    articles = corpus_articles()
    inline = open_database(tmp_path / "inline.db")
    feeds: dict[str, int] = {}
    for name, article in articles:          # the old path: stored and decided in one transaction
        with inline.atomic():
            new, _, _ = save_articles(inline, feed_id(inline, name, feeds), [article], NOW)
            process_articles(inline, new, NOW)
    behind = open_database(tmp_path / "behind.db")
    feeds = {}
    for name, article in articles:          # the new path: everything stored first ...
        with behind.atomic():
            save_articles(behind, feed_id(behind, name, feeds), [article], NOW)
    assert count_undecided(behind) == len(articles)
    assert list_clusters(behind, since=0) == []   # ... nothing a digest could pick up yet ...
    batches = 0
    while decide_pending(behind, NOW, 16):  # ... then decided behind, batch by batch
        batches += 1
    assert batches == -(-len(articles) // 16)
    assert count_undecided(behind) == 0
    expected = decisions(inline)
    assert decisions(behind) == expected
    assert sum(dup is not None for dup, _ in expected.values()) >= 10      # copies were found
    assert len({c for _, c in expected.values()}) < len(articles) - 20     # stories were folded


def test_a_batch_interrupted_by_a_crash_is_decided_after_restart(tmp_path: Path) -> None:
    db = open_database(tmp_path / "n.db")
    feeds: dict[str, int] = {}
    for name, article in corpus_articles(40):
        with db.atomic():
            save_articles(db, feed_id(db, name, feeds), [article], NOW)
    with pytest.raises(RuntimeError), db.atomic():
        decide_pending(db, NOW, 20)
        raise RuntimeError("killed mid-batch")       # the batch's transaction is rolled back
    assert count_undecided(db) == 40
    db.conn.close()
    db = open_database(tmp_path / "n.db")                # "restart"
    while decide_pending(db, NOW, 20):
        pass
    assert count_undecided(db) == 0


async def test_worker_wakes_on_notify_and_stops_cleanly(tmp_path: Path) -> None:
    executor = DbExecutor(tmp_path / "w.db")
    try:
        worker = DedupWorker(executor, clock=lambda: NOW, batch=8)
        worker.start()
        feeds: dict[str, int] = {}

        def store(db, items):
            with db.atomic():
                for name, article in items:
                    save_articles(db, feed_id(db, name, feeds), [article], NOW)

        items = corpus_articles(30)
        await executor.call(store, items[:10])
        worker.notify()
        await until_decided(worker, 10)
        assert worker.decided == 10
        await executor.call(store, items[10:])
        worker.notify()
        await until_decided(worker, 30)
        assert await worker.pending() == 0 and worker.running
        await worker.stop()
        assert not worker.running
    finally:
        executor.close()


async def test_worker_started_late_takes_what_was_left_undecided(tmp_path: Path) -> None:
    db = open_database(tmp_path / "late.db")
    feeds: dict[str, int] = {}
    for name, article in corpus_articles(12):
        with db.atomic():
            save_articles(db, feed_id(db, name, feeds), [article], NOW)
    db.conn.close()
    executor = DbExecutor(tmp_path / "late.db")
    try:
        worker = DedupWorker(executor, clock=lambda: NOW)
        progress: list[tuple[int, int]] = []
        assert await worker.drain(lambda done, left: progress.append((done, left))) == 12
        assert progress[-1] == (12, 0)
    finally:
        executor.close()


def test_undecided_articles_are_invisible_to_dedup(tmp_path: Path) -> None:
    """A (undecided) must not find B (stored after it, undecided) by URL and stop there: it
    must go on to find the earlier decided copy X by its title."""
    db = open_database(tmp_path / "u.db")
    feeds: dict[str, int] = {}
    title = "North Korean troops reach the Kursk front, Seoul says"

    def article(guid: str, url: str, at: float) -> Article:
        return Article(guid=guid, link=url, canonical_url=url, title=title, source=guid,
                       published_at=at, fetched_at=at, summary="", language="en")

    with db.atomic():
        x, _, _ = save_articles(db, feed_id(db, "x", feeds), [article("x", "https://x.example/a", NOW)], NOW)
        process_articles(db, x, NOW)
    with db.atomic():
        url = "https://a.example/k"
        a, _, _ = save_articles(db, feed_id(db, "a", feeds), [article("a", url, NOW + 60)], NOW)
        b, _, _ = save_articles(db, feed_id(db, "b", feeds), [article("b", url, NOW + 90)], NOW)
    while decide_pending(db, NOW, 8):
        pass
    dup = dict(db.execute("SELECT id, duplicate_of FROM articles"))
    assert dup[a[0]] == x[0]
    assert dup[b[0]] == x[0]          # B is a copy of A by URL, and A's root is X


async def test_a_database_error_leaves_the_backlog_stored_and_is_retried(tmp_path: Path, caplog) -> None:
    """SQLite refuses the decisions (a trigger raising, as a full disk or a corrupt page would):
    the batch is rolled back, the error recorded and logged, nothing lost; once the store
    accepts writes again the worker decides everything by itself."""
    executor = DbExecutor(tmp_path / "e.db")
    try:
        feeds: dict[str, int] = {}

        def store(db):
            with db.atomic():
                for name, article in corpus_articles(10):
                    save_articles(db, feed_id(db, name, feeds), [article], NOW)
            db.execute("CREATE TEMP TRIGGER refuse BEFORE UPDATE OF cluster_id ON articles "
                       "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")

        await executor.call(store)
        worker = DedupWorker(executor, clock=lambda: NOW, retry_delay=0.2)
        worker.start()
        for _ in range(100):
            if worker.last_error:
                break
            await asyncio.sleep(0.02)
        assert "database or disk is full" in worker.last_error
        assert await worker.pending() == 10 and worker.decided == 0
        assert any("dedup backlog" in r.getMessage() for r in caplog.records)
        await executor.call(lambda db: db.execute("DROP TRIGGER temp.refuse"))
        await until_decided(worker, 10)
        assert await worker.pending() == 0 and worker.running
        await worker.stop()
    finally:
        executor.close()
