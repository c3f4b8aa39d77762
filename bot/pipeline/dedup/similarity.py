"""What one article looks like to dedup, and IDF-weighted title similarity (pure).

IDF comes from document frequencies kept in SQLite; here it is just a mapping term -> df plus
the document count, so the functions stay pure and testable.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import repeat
from operator import add, truediv
from typing import Any

from bot.pipeline.dedup import minhash
from bot.pipeline.dedup.keys import clean_title, source_key, title_key
from bot.pipeline.dedup.text import STOPWORDS, capitalised, content_words, is_number, lowercase_words, stem


@dataclass
class Doc:
    """The parts of a stored article every dedup layer compares."""

    id: int
    title: str
    source: str = ""
    summary: str = ""
    published_at: float = 0.0
    canonical_url: str = ""
    is_google_news: bool = False
    related: list[dict[str, str]] = field(default_factory=list)
    tags: frozenset[str] = frozenset()
    cluster_id: int | None = None
    duplicate_of: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Doc:
        try:
            related = json.loads(row.get("related_json") or "[]")
        except ValueError:
            related = []
        return cls(
            id=int(row["id"]),
            title=row.get("title") or "",
            source=row.get("source") or "",
            # A Google News description only echoes the headline and publisher: not article text.
            summary="" if row.get("is_google_news") else (row.get("summary") or ""),
            published_at=float(row.get("published_at") or 0.0),
            canonical_url=row.get("canonical_url") or "",
            is_google_news=bool(row.get("is_google_news")),
            related=related if isinstance(related, list) else [],
            tags=frozenset(row.get("tags") or ()),
            cluster_id=row.get("cluster_id"),
            duplicate_of=row.get("duplicate_of"),
        )

    @cached_property
    def clean_title(self) -> str:
        return clean_title(self.title, self.source)

    @cached_property
    def title_key(self) -> int | None:
        return title_key(self.title, self.source)

    @cached_property
    def source_key(self) -> str:
        return source_key(self.source)

    @cached_property
    def title_terms(self) -> frozenset[str]:
        return frozenset(content_words(self.clean_title))

    @cached_property
    def title_numbers(self) -> frozenset[str]:
        return frozenset(t for t in self.title_terms if is_number(t))

    @cached_property
    def title_entities(self) -> frozenset[str]:
        return capitalised(self.title) & self.title_terms

    @cached_property
    def text_terms(self) -> frozenset[str]:
        """Title and summary terms (the summary capped so a full-text copy does not dominate)."""
        return self.title_terms | frozenset(content_words(self.summary[:1200]))

    @cached_property
    def title_stems(self) -> frozenset[str]:
        """Stemmed title terms: what clustering and document frequencies work on."""
        return frozenset(stem(t) for t in self.title_terms)

    @cached_property
    def text_stems(self) -> frozenset[str]:
        return frozenset(stem(t) for t in self.text_terms)

    @cached_property
    def entities(self) -> frozenset[str]:
        return self.title_entities | (capitalised(self.summary[:1200]) - STOPWORDS)

    @cached_property
    def summary_words(self) -> int:
        return len(self.summary.split())

    @cached_property
    def shingles(self) -> frozenset[int]:
        """The summary's hashed word 3-grams (empty when too short to compare as text)."""
        return minhash.shingles(self.summary)

    @cached_property
    def lsh_keys(self) -> list[int]:
        """The summary's LSH buckets: looked up, then indexed, computed once per article."""
        return minhash.keys_of(self.shingles)


class Idf:
    """IDF of stemmed terms from stored document frequencies: log((N + 1) / (df + 1)) + 1.

    ``lookup`` (terms -> {term: df}) fetches frequencies not yet known, in batches via
    :meth:`prefetch`; without it unknown terms count as never seen.

    One instance serves one article's decision (the frequencies do not change meanwhile), so
    each term's weight and each term set's norm is computed once and memoised: the clustering
    score compares the article with many candidates, term by term.
    """

    def __init__(
        self, df: Mapping[str, int], docs: int,
        lookup: Callable[[list[str]], Mapping[str, int]] | None = None,
    ):
        self.df: dict[str, int] = dict(df)
        self.docs = docs
        self._lookup = lookup
        self._idf: dict[str, float] = {}
        self._idf2: dict[str, float] = {}
        self._norms: dict[frozenset[str], float] = {}

    def prefetch(self, terms: Iterable[str]) -> None:
        df = self.df
        missing = [t for t in set(terms) if t not in df]
        if missing and self._lookup is not None:
            found = self._lookup(missing)
            for t in missing:
                df[t] = found.get(t, 0)

    def _get(self, term: str) -> int:
        if term not in self.df:
            self.prefetch([term])
        return self.df.get(term, 0)

    def __call__(self, term: str) -> float:
        value = self._idf.get(term)
        if value is None:
            value = self._idf[term] = math.log((self.docs + 1) / (self._get(term) + 1)) + 1.0
        return value

    def squared(self, term: str) -> float:
        """``self(term) ** 2``, memoised."""
        value = self._idf2.get(term)
        if value is None:
            value = self._idf2[term] = self(term) ** 2
        return value

    def _weigh(self, terms: frozenset[str]) -> dict[str, float]:
        """Make sure every term's squared IDF is memoised (one batched lookup); the memo.

        Computed in bulk with C-level map()s, the very same float operations as
        :meth:`__call__` and :meth:`squared`: ``log((N + 1) / (df + 1)) + 1.0``, then ``** 2``.
        """
        idf2 = self._idf2
        missing = terms.difference(idf2)
        if missing:
            df = self.df
            unknown = missing.difference(df)
            if unknown:
                self.prefetch(unknown)
            idf = self._idf
            fresh = list(missing.difference(idf))
            if fresh:
                dfs = map(add, map(df.get, fresh, repeat(0)), repeat(1))
                ratios = map(truediv, repeat(self.docs + 1), dfs)
                idf.update(zip(fresh, map(add, map(math.log, ratios), repeat(1.0)), strict=True))
            needed = list(missing)
            idf2.update(zip(needed, map(pow, map(idf.__getitem__, needed), repeat(2)), strict=True))
        return idf2

    def sum_squared(self, terms: frozenset[str]) -> float:
        """Sum of the squared IDFs of ``terms``, in sorted term order: a set's iteration order
        follows string hashing (PYTHONHASHSEED), and a float sum taken in another order may
        differ in its last bits and tip a decision."""
        return sum(map(self._weigh(terms).__getitem__, sorted(terms)))

    def norm(self, terms: frozenset[str]) -> float:
        """Euclidean norm of the IDF-weighted binary vector of ``terms``, memoised per set."""
        value = self._norms.get(terms)
        if value is None:
            value = self._norms[terms] = math.sqrt(self.sum_squared(terms))
        return value

    def distinctive(self, term: str) -> bool:
        """In at most 5 % of articles (or 10, while the store is small: a story's own name is in
        every one of its articles): a capitalised word this rare names a place or a person."""
        return self._get(term) <= max(10, 0.05 * self.docs)

    def rare(self, term: str) -> bool:
        """Rare enough to name a story (a place, a person, a company), not a topic word."""
        return self._get(term) <= max(2, 0.01 * self.docs)


def weighted_cosine(a: frozenset[str], b: frozenset[str], idf: Idf) -> float:
    """Cosine of binary term vectors weighted by IDF squared (a shared rare word counts a lot)."""
    if not a or not b:
        return 0.0
    shared = idf.sum_squared(a & b)
    if not shared:
        return 0.0
    return shared / (idf.norm(a) * idf.norm(b))


def same_headline(a: Doc, b: Doc, idf: Idf) -> bool:
    """Fuzzy-title duplicate: the same headline edited, never a templated sibling.

    Numbers must match exactly and every word that differs must be a minor one: not a number,
    not a capitalised name, not a rare word. "Russian strike on Kharkiv kills 5" and "... on Odesa
    kills 5" differ by a name, so they stay apart however similar the rest is.
    """
    ta, tb = a.title_terms, b.title_terms
    if len(ta) < 3 or len(tb) < 3 or a.title_numbers != b.title_numbers:
        return False
    if weighted_cosine(a.title_stems, b.title_stems, idf) < 0.8:     # cheap test first
        return False
    names = capitalised(a.title) | capitalised(b.title)
    common = lowercase_words(a.title) | lowercase_words(b.title)
    return not any(
        is_number(term) or term in names or (term not in common and idf.rare(stem(term)))
        for term in ta ^ tb
    )
