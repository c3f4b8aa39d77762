"""What dedup keeps in memory of its own store between decisions (exact, bounded, per connection).

Deciding one article used to read, every time, the same recent articles' rows and tags, the
document frequencies of its words, the document count, the candidate stories' recent
originals, their representatives and whether a publisher is one Google News cites: about 20
statements per article for data that only dedup itself changes. A :class:`StoreView` holds
those values for one connection and keeps them equal to the tables by applying dedup's own
writes to them as it makes them, so a decision read from the view is the decision read from
SQLite (a restart, which starts with an empty view, decides the same).

The view is dropped and rebuilt lazily when it could be stale:

* another connection committed (``PRAGMA data_version`` changed: a shell's ``newsbot retag``,
  a second process);
* this connection rolled a transaction back or changed stored articles outside dedup (an
  updated text, new tags, pruning): ``generation`` on the database (bot/pipeline/store/db.py);
* a decision failed half-way (the engine calls :meth:`StoreView.drop`).

Every part is bounded (least recently used first out), so memory levels off however big the
store is; what falls out is read again from SQLite when needed.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from sqlite_utils import Database

from bot.pipeline.dedup.similarity import Doc
from bot.pipeline.store import clusters as store

MAX_DOCS = 2048            # articles, with their derived text features ...
MAX_DOC_BYTES = 24_000_000  # ... estimated at 6 KB + 25 bytes per character of text (tracemalloc)
MAX_CLUSTERS = 10_000      # clusters: their recent originals (up to 30 each) and representatives
MAX_TERMS = 400_000        # document frequencies (~100 bytes each: ~40 MB at most)
MAX_PUBLISHERS = 20_000

_VIEWS: weakref.WeakKeyDictionary[Database, StoreView] = weakref.WeakKeyDictionary()


def view_of(db: Database) -> StoreView:
    """The connection's view, fresh: rebuilt (empty) if anything could have made it stale."""
    view = _VIEWS.get(db)
    version = _data_version(db)
    if view is None or view.generation != getattr(db, "generation", 0) or view.data_version != version:
        view = _VIEWS[db] = StoreView(db, version)
    return view


def _data_version(db: Database) -> int:
    return int(db.conn.execute("PRAGMA data_version").fetchone()[0])


class StoreView:
    """Cached articles (as :class:`Doc`), document frequencies, the document count, clusters'
    recent originals and representatives, known publishers: read through, written through."""

    def __init__(self, db: Database, data_version: int = 0):
        # Weakly: the registry's entry (keyed weakly by the database) must not keep it alive.
        self._db = weakref.ref(db)
        self.generation = getattr(db, "generation", 0)
        self.data_version = data_version
        self._docs: OrderedDict[int, tuple[Doc, int]] = OrderedDict()
        self._doc_bytes = 0
        self._df: dict[str, int] = {}
        self._documents: int | None = None
        self._recent: OrderedDict[int, list[tuple[float, int]]] = OrderedDict()
        self._representative: OrderedDict[int, int | None] = OrderedDict()
        self._publishers: OrderedDict[str, bool] = OrderedDict()

    @property
    def db(self) -> Database:
        db = self._db()
        if db is None:
            raise RuntimeError("the database of this StoreView was closed and collected")
        return db

    def drop(self) -> None:
        """Forget everything (after a failed decision whose writes were rolled back)."""
        db = self._db()
        if db is not None:
            _VIEWS.pop(db, None)

    # -- articles ---------------------------------------------------------------------------------

    def docs(self, ids: Sequence[int]) -> list[Doc]:
        """The decided articles among ``ids`` as Docs, in the order given (missing ids left out);
        the ones not held are read in one batch."""
        held = self._docs
        missing = [i for i in dict.fromkeys(ids) if i not in held]
        if missing:
            rows = store.load_articles(self.db, missing)
            for i in missing:
                if i in rows and rows[i]["cluster_id"] is not None:
                    self.remember(Doc.from_row(rows[i]))
        out = []
        for i in ids:
            entry = held.get(i)
            if entry is not None:
                held.move_to_end(i)
                out.append(entry[0])
        return out

    def remember(self, doc: Doc) -> None:
        """Hold a decided article (its cluster and ``duplicate_of`` as stored)."""
        weight = 6000 + 25 * (len(doc.title) + len(doc.summary))
        old = self._docs.pop(doc.id, None)
        if old is not None:
            self._doc_bytes -= old[1]
        if weight > MAX_DOC_BYTES:
            return
        self._docs[doc.id] = (doc, weight)
        self._doc_bytes += weight
        while len(self._docs) > MAX_DOCS or self._doc_bytes > MAX_DOC_BYTES:
            _, (_, dropped) = self._docs.popitem(last=False)
            self._doc_bytes -= dropped

    # -- document frequencies ---------------------------------------------------------------------

    def frequencies(self, terms: Iterable[str]) -> dict[str, int]:
        known = self._df
        wanted = list(terms)
        missing = [t for t in wanted if t not in known]
        if missing:
            if len(known) + len(missing) > MAX_TERMS:
                known.clear()
                missing = wanted
            found = store.get_df(self.db, missing)
            for t in missing:
                known[t] = found.get(t, 0)
        return {t: known[t] for t in wanted}

    def documents(self) -> int:
        if self._documents is None:
            self._documents = store.doc_count(self.db)
        return self._documents

    def add_document(self, terms: frozenset[str]) -> None:
        """Count one more document holding ``terms`` (written to SQLite and to the view)."""
        store.add_document(self.db, terms)
        known = self._df
        for t in terms:
            if t in known:
                known[t] += 1
        if self._documents is not None:
            self._documents += 1

    # -- clusters ---------------------------------------------------------------------------------

    def recent_originals(self, cluster_ids: Sequence[int], limit: int) -> dict[int, list[int]]:
        """cluster id -> its ``limit`` most recent originals, newest first (as
        :func:`bot.pipeline.store.clusters.recent_originals`, which reads the ones not held)."""
        held = self._recent
        missing = [c for c in dict.fromkeys(cluster_ids) if c not in held]
        found = store.recent_originals(self.db, missing, limit) if missing else {}
        if found:
            times = {d.id: d.published_at for d in self.docs([a for ids in found.values() for a in ids])}
            for cid, ids in found.items():
                if all(a in times for a in ids):
                    self._hold(held, cid, [(times[a], a) for a in ids])
        out: dict[int, list[int]] = {}
        for cid in cluster_ids:
            if cid in found:
                out[cid] = found[cid]
            elif cid in held:
                held.move_to_end(cid)
                out[cid] = [a for _, a in held[cid][:limit]]
        return out

    def joined(self, cluster_id: int, doc: Doc, limit: int) -> None:
        """``doc`` (an original) joined ``cluster_id``: keep its ``limit`` most recent."""
        recent = self._recent.get(cluster_id)
        if recent is None:
            return
        recent.append((doc.published_at, doc.id))
        recent.sort(reverse=True)          # newest first; ties: the higher id, as SQLite orders
        del recent[limit:]

    def new_cluster(self, cluster_id: int, doc: Doc) -> None:
        """A cluster was created with ``doc`` as its representative (:meth:`joined` adds it to
        the recent originals, as it does for every original)."""
        self._hold(self._recent, cluster_id, [])
        self._hold(self._representative, cluster_id, doc.id)

    def representative(self, cluster_id: int) -> int | None:
        held = self._representative
        if cluster_id not in held:
            cluster = store.get_cluster(self.db, cluster_id)
            if cluster is None:
                return None
            self._hold(held, cluster_id, cluster["representative_id"])
        held.move_to_end(cluster_id)
        return held[cluster_id]

    def set_representative(self, cluster_id: int, doc: Doc) -> None:
        store.set_representative(self.db, cluster_id, doc.id, doc.title)
        self._hold(self._representative, cluster_id, doc.id)

    # -- publishers -------------------------------------------------------------------------------

    def known_publisher(self, source_key: str) -> bool:
        held = self._publishers
        if source_key not in held:
            self._hold(held, source_key, store.is_known_publisher(self.db, source_key), MAX_PUBLISHERS)
        return held[source_key]

    def note_google_news_source(self, source_key: str) -> None:
        store.note_google_news_source(self.db, source_key)
        if source_key:
            self._hold(self._publishers, source_key, True, MAX_PUBLISHERS)

    @staticmethod
    def _hold(cache: OrderedDict, key, value, limit: int = MAX_CLUSTERS) -> None:  # type: ignore[type-arg]
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > limit:
            cache.popitem(last=False)
