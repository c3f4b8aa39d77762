"""Dedup's in-memory view of its store (bot/pipeline/dedup/view.py): decisions equal to reading SQLite
cold, and the view dropped whenever it could be stale. Real SQLite files throughout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.models import Article, RelatedLink
from bot.pipeline.dedup import process_articles, view
from bot.pipeline.dedup.similarity import Doc
from bot.pipeline.store import open_database
from bot.pipeline.store.articles import prune_articles, save_articles
from bot.pipeline.store.clusters import get_df

CORPUS = Path(__file__).parent / "data" / "dedup" / "corpus.jsonl"
T = 1729670400.0


def _feed(db: Database, name: str) -> int:
    row = db.execute("SELECT id FROM feeds WHERE name = ?", (name,)).fetchone()
    if row:
        return int(row[0])
    return int(db.execute("INSERT INTO feeds (name, url, created_at) VALUES (?, ?, 0)",
                          (name, f"http://x/{name}")).lastrowid)


def _store(db: Database, article: Article, feed: str) -> list[int]:
    with db.atomic():
        new_ids, _, _ = save_articles(db, _feed(db, feed), [article], article.fetched_at)
        process_articles(db, new_ids, article.fetched_at)
    return new_ids


def _article(guid: str, title: str, summary: str = "", at: float = T) -> Article:
    url = f"https://example.org/{guid}"
    return Article(guid=guid, link=url, canonical_url=url, title=title, source="Example",
                   published_at=at, fetched_at=at + 60, summary=summary)


def _decide_corpus(path: Path, cold: bool) -> list[tuple]:
    records = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    records.sort(key=lambda r: (float(r["published"]), str(r["id"])))
    db = open_database(path)
    for r in records:
        if cold:
            view.view_of(db).drop()            # every read goes to SQLite
        _store(db, Article(
            guid=str(r["id"]), link=r["url"], canonical_url=r["url"], title=r["title"], source=r["source"],
            published_at=float(r["published"]), fetched_at=float(r["published"]) + 60, summary=r["summary"],
            is_google_news=r["is_google_news"], related=[RelatedLink(**x) for x in r["related"]],
        ), r["feed"])
    out = db.execute("SELECT a.duplicate_of, a.cluster_id, c.representative_id, c.size, d.layer, d.compared,"
                     " d.score, d.features FROM articles a JOIN dedup_decisions d ON d.article_id = a.id "
                     "JOIN clusters c ON c.id = a.cluster_id ORDER BY a.id").fetchall()
    db.conn.close()
    return out


def test_decisions_read_from_the_view_equal_decisions_read_cold(tmp_path: Path) -> None:
    """The labelled corpus decided with the view kept warm, and with it dropped before every
    article: the same copies, clusters, representatives, scores and features."""
    warm = _decide_corpus(tmp_path / "warm.db", cold=False)
    assert len(warm) > 300
    assert _decide_corpus(tmp_path / "cold.db", cold=True) == warm


def test_the_view_lives_while_only_this_connection_writes(tmp_path: Path) -> None:
    db = open_database(tmp_path / "news.db")
    first = view.view_of(db)
    _store(db, _article("a", "Russian strike on Kharkiv kills five"), "f")
    assert view.view_of(db) is first


def test_another_connection_committing_drops_the_view(tmp_path: Path) -> None:
    db = open_database(tmp_path / "news.db")
    (aid,) = _store(db, _article("a", "Russian strike on Kharkiv kills five"), "f")
    first = view.view_of(db)
    assert first.docs([aid])[0].tags == frozenset()
    other = open_database(tmp_path / "news.db")        # a shell's `newsbot retag`, say
    other.execute("INSERT INTO article_tags (article_id, tag, matched) VALUES (?, 'russia', 'Russian')",
                  (aid,))
    fresh = view.view_of(db)
    assert fresh is not first
    assert fresh.docs([aid])[0].tags == frozenset({"russia"})


def test_a_rolled_back_transaction_drops_the_view(tmp_path: Path) -> None:
    """Dedup's writes inside a transaction that fails later (the feed's, say) are undone: the
    view, which applied them too, must not survive them."""
    db = open_database(tmp_path / "news.db")
    _store(db, _article("a", "Russian strike on Kharkiv kills five"), "f")
    with pytest.raises(RuntimeError), db.atomic():
        save = save_articles(db, _feed(db, "f"), [_article("b", "Sbarro files for bankruptcy again")], T)
        process_articles(db, save[0], T + 60)
        kept = view.view_of(db)
        assert kept.frequencies(["sbarro"]) == {"sbarro": 1}
        raise RuntimeError("the feed's transaction fails after dedup")
    fresh = view.view_of(db)
    assert fresh is not kept
    assert fresh.frequencies(["sbarro"]) == {"sbarro": 0}
    assert get_df(db, ["sbarro"]) == {}


def test_an_updated_article_and_pruning_drop_the_view(tmp_path: Path) -> None:
    db = open_database(tmp_path / "news.db")
    (aid,) = _store(db, _article("a", "Russian strike on Kharkiv kills five"), "f")
    first = view.view_of(db)
    assert first.docs([aid])[0].title.endswith("five")
    with db.atomic():
        save_articles(db, _feed(db, "f"), [_article("a", "Russian strike on Kharkiv kills six")], T + 600)
    second = view.view_of(db)
    assert second is not first and second.docs([aid])[0].title.endswith("six")
    prune_articles(db, older_than=T + 61)
    third = view.view_of(db)
    assert third is not second and third.docs([aid]) == []


def test_a_failed_decision_drops_the_view(tmp_path: Path, monkeypatch) -> None:
    import bot.pipeline.dedup.engine as engine

    db = open_database(tmp_path / "news.db")
    _store(db, _article("a", "Russian strike on Kharkiv kills five"), "f")
    first = view.view_of(db)

    def broken(*args, **kwargs):
        raise ValueError("unexpected input")

    monkeypatch.setattr(engine, "find_duplicate", broken)
    _store(db, _article("b", "A poison headline nobody foresaw"), "f")
    assert view.view_of(db) is not first


def test_the_view_is_bounded_in_articles_and_bytes(tmp_path: Path) -> None:
    held = view.StoreView(open_database(tmp_path / "news.db"))
    for i in range(view.MAX_DOCS + 500):
        held.remember(Doc(i, f"title {i}", summary="x"))
    assert len(held._docs) == view.MAX_DOCS
    held = view.StoreView(open_database(tmp_path / "news.db"))
    for i in range(200):
        held.remember(Doc(i, "t", summary="y" * 20_000))      # ~500 KB each by the estimate
    assert held._doc_bytes <= view.MAX_DOC_BYTES and len(held._docs) < 60
    held.remember(Doc(999, "t", summary="z" * view.MAX_DOC_BYTES))   # bigger than the budget: not held
    assert 999 not in held._docs


def test_recent_originals_kept_as_sqlite_orders_them(tmp_path: Path) -> None:
    """A story with more originals than it is compared through, arriving out of time order and
    with equal times: the view's newest-first list is the one SQLite returns."""
    import random

    from bot.pipeline.dedup.story import RECENT
    from bot.pipeline.store import clusters as store

    db = open_database(tmp_path / "news.db")
    held = view.view_of(db)
    cid = store.create_cluster(db, 0, "story", T)
    assert held.recent_originals([cid], RECENT) == {cid: []}
    times = [T + 60 * (i // 2) for i in range(3 * RECENT)]      # pairs of equal times
    random.Random(4).shuffle(times)
    for n, at in enumerate(times):
        (aid,), _, _ = save_articles(db, _feed(db, "f"), [_article(f"g{n}", f"headline {n}", at=at)], at)
        store.mark_article(db, aid, cid, None)
        held.joined(cid, Doc(aid, f"headline {n}", published_at=at, cluster_id=cid), RECENT)
        assert held.recent_originals([cid], RECENT) == store.recent_originals(db, [cid], RECENT)


def test_a_collected_database_takes_its_view_with_it(tmp_path: Path) -> None:
    """The registry must not keep a closed database (and its view) alive: a process that opens
    many stores (tests, benches) would otherwise grow without bound."""
    import gc
    import weakref

    db = open_database(tmp_path / "news.db")
    _store(db, _article("a", "Russian strike on Kharkiv kills five"), "f")
    assert db in view._VIEWS
    gone = weakref.ref(db)
    db.conn.close()
    del db
    gc.collect()
    assert gone() is None
