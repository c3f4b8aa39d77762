"""The tagger: every keyword and exclude phrase of every tag in one Aho-Corasick automaton.

Built once per config load (:meth:`Tagger.from_config`); :meth:`Tagger.tag` then makes a single
pass of the automaton over the normalised article text, whatever the number of keywords.

Rules, in the order they are applied to the raw automaton hits:

1. Whole words only: keys are padded with spaces (``" iran "``) and so is the folded text, so
   ``Iran`` never fires inside ``Iranian``; a ``*`` keyword has no trailing space (``" iran"``).
2. Acronym keywords (``OTAN``, ``US``) must read exactly so in the original text.
3. Longest match wins, across all tags: ``Guinée équatoriale`` hides ``Guinée`` at that place,
   ``Corée du Nord`` hides ``Corée``. Hits on the very same span all count.
4. Exclude phrases of a tag cancel that tag's matches they overlap (``Jordan Bardella`` cancels
   the ``Jordan`` inside it only). An exclude phrase that contains none of its tag's keywords
   (``Atlanta`` for georgia) cancels the tag for the whole article.
5. A tag needs ``min_mentions`` surviving matches.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import ahocorasick

from bot.pipeline.tagging.keywords import Keyword, keyword_problem, parse_keyword, sample_text
from bot.pipeline.tagging.normalize import normalize_article, strip_accents

if TYPE_CHECKING:
    from bot.config.models import TagConfig

KEYWORD, LOCAL_EXCLUDE, GLOBAL_EXCLUDE = 0, 1, 2


@dataclass(frozen=True)
class _Entry:
    tag: int            # index into Tagger.tags
    kind: int           # KEYWORD, LOCAL_EXCLUDE or GLOBAL_EXCLUDE
    cased: str | None   # acronym: the exact (accent-stripped) text required


@dataclass(frozen=True)
class _Key:
    length: int
    prefix: bool
    entries: tuple[_Entry, ...]


@dataclass(frozen=True)
class Match:
    """One surviving keyword match: ``start``/``stop`` index the original (cleaned) text."""

    tag: str
    start: int
    stop: int
    text: str


def _contains(phrase: str, keyword: Keyword) -> bool:
    return keyword.key in f" {phrase} "


def _exclude_kind(exclude: Keyword, keywords: list[Keyword]) -> int:
    return LOCAL_EXCLUDE if any(_contains(exclude.folded, k) for k in keywords) else GLOBAL_EXCLUDE


def _word_end(folded: str, stop: int) -> int:
    end = folded.find(" ", stop)
    return len(folded) if end < 0 else end


class Tagger:
    """Compiled taxonomy. Immutable after construction; safe to share between threads."""

    def __init__(self, tags: tuple[TagConfig, ...], automaton: ahocorasick.Automaton | None):
        self.tags = tags
        self._automaton = automaton
        self._min_mentions = [t.min_mentions for t in tags]
        self._order = {t.id: i for i, t in enumerate(tags)}

    # -- building --------------------------------------------------------------------------------
    @classmethod
    def from_config(cls, tags: tuple[TagConfig, ...]) -> Tagger:
        """Compile ``tags`` (already validated by the config reader; bad keywords are skipped)."""
        grouped: dict[str, list[_Entry]] = {}
        prefixes: dict[str, bool] = {}
        for index, tag in enumerate(tags):
            keywords = [parse_keyword(k) for k in tag.keywords if keyword_problem(k) is None]
            excludes = [parse_keyword(e) for e in tag.exclude if keyword_problem(e) is None]
            items = [(k, KEYWORD) for k in keywords]
            items += [(e, _exclude_kind(e, keywords)) for e in excludes]
            for word, kind in items:
                grouped.setdefault(word.key, []).append(_Entry(index, kind, word.cased))
                prefixes[word.key] = word.prefix
        if not grouped:
            return cls(tuple(tags), None)
        automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
        for key, entries in grouped.items():
            automaton.add_word(key, _Key(len(key), prefixes[key], tuple(dict.fromkeys(entries))))
        automaton.make_automaton()
        return cls(tuple(tags), automaton)

    # -- matching --------------------------------------------------------------------------------
    def tag(self, title: str, summary: str) -> dict[str, str]:
        """Tag id → the text that matched first (for ``newsbot explain``), in config order."""
        result: dict[str, str] = {}
        for match in self.matches(title, summary):
            result.setdefault(match.tag, match.text)
        return dict(sorted(result.items(), key=lambda item: self._order[item[0]]))

    def matches(self, title: str, summary: str) -> list[Match]:
        """Every surviving keyword match of every tag that passed, in text order."""
        if self._automaton is None:
            return []
        original, folded = normalize_article(title, summary)
        spans, excludes = self._hits(original, folded)
        kept = _longest_first(spans)
        per_tag: dict[int, list[tuple[int, int]]] = {}
        for (start, stop), tag_indexes in kept:
            for index in tag_indexes:
                per_tag.setdefault(index, []).append((start, stop))
        out: list[Match] = []
        for index, found in per_tag.items():
            found = _apply_excludes(found, excludes.get(index, []))
            if found is None or len(found) < self._min_mentions[index]:
                continue
            tag_id = self.tags[index].id
            for start, stop in found:
                out.append(Match(tag_id, start, stop, _display(original[start:stop])))
        out.sort(key=lambda m: (m.start, m.tag))
        return out

    def _hits(
        self, original: str, folded: str
    ) -> tuple[dict[tuple[int, int], set[int]], dict[int, list[tuple[int, int]] | None]]:
        """Raw automaton hits: keyword spans → tag indexes; excludes per tag (None = global)."""
        assert self._automaton is not None
        spans: dict[tuple[int, int], set[int]] = {}
        excludes: dict[int, list[tuple[int, int]] | None] = {}
        for end, key in self._automaton.iter(f" {folded} "):
            # The key spans padded[end - length + 1 : end + 1]; padded index i is text index i - 1.
            start = end - key.length + 1
            stop = _word_end(folded, end) if key.prefix else end - 1
            for entry in key.entries:
                if entry.cased is not None and not _reads(original, start, entry.cased):
                    continue
                if entry.kind == KEYWORD:
                    spans.setdefault((start, stop), set()).add(entry.tag)
                elif entry.kind == GLOBAL_EXCLUDE:
                    excludes[entry.tag] = None
                elif (listed := excludes.setdefault(entry.tag, [])) is not None:
                    listed.append((start, stop))
        return spans, excludes


def _display(text: str) -> str:
    """Matched text as shown by explain: a newline or tab inside a phrase shown as a space."""
    return " ".join(text.split()) if not text.isprintable() else text


def _reads(original: str, start: int, cased: str) -> bool:
    span = original[start:start + len(cased)]
    return span == cased or strip_accents(span) == cased


def _longest_first(
    spans: dict[tuple[int, int], set[int]]
) -> list[tuple[tuple[int, int], set[int]]]:
    """Keep the longest spans, dropping every shorter one that overlaps a kept one."""
    if len(spans) <= 1:
        return list(spans.items())
    items = sorted(spans.items())
    if all(items[i][0][1] <= items[i + 1][0][0] for i in range(len(items) - 1)):
        return items                      # the common case: nothing overlaps
    ordered = sorted(spans.items(), key=lambda item: (item[0][0] - item[0][1], item[0][0]))
    kept: list[tuple[tuple[int, int], set[int]]] = []
    for (start, stop), tags in ordered:
        if all(stop <= s or start >= e for (s, e), _ in kept):
            kept.append(((start, stop), tags))
    return kept


def _apply_excludes(
    found: list[tuple[int, int]], excluded: list[tuple[int, int]] | None
) -> list[tuple[int, int]] | None:
    """Matches left after the tag's excludes; None when a global exclude cancelled the tag."""
    if excluded is None:
        return None
    if not excluded:
        return sorted(found)
    return sorted(
        (start, stop) for start, stop in found
        if all(stop <= s or start >= e for s, e in excluded)
    )


def tag_problems(tag: TagConfig) -> list[tuple[str, str]]:
    """(key path inside the tag, message) for keywords that are malformed or can never match.

    A keyword can never match when it is malformed, or when the tag's own exclude phrases cancel
    it even in the plainest text that contains it (the keyword itself).
    """
    problems: list[tuple[str, str]] = []
    for field_name, values in (("keywords", tag.keywords), ("exclude", tag.exclude)):
        for i, raw in enumerate(values):
            if (why := keyword_problem(raw)) is not None:
                problems.append((f"{field_name}[{i}]", f"{raw!r} {why}"))
    if problems:
        return problems
    alone = Tagger.from_config((replace(tag, min_mentions=1),))
    for i, raw in enumerate(tag.keywords):
        if not alone.tag(sample_text(raw), ""):
            problems.append((
                f"keywords[{i}]",
                f"{raw!r} can never match: the tag's exclude phrases cancel it wherever it appears",
            ))
    return problems
