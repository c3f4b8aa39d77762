"""A publisher's display name from a feed's title and site, for feeds without a ``source`` key.

Feed titles are rarely names: "Al Jazeera – Breaking News, World News and Video from Al
Jazeera", "NYT > World News", or just "World" (the Washington Post). The name is the part of the
title that matches the site's registrable domain (``aljazeera.com`` → "Al Jazeera",
``dw.com`` → "Deutsche Welle" by its initials, ``nytimes.com`` → "NYT" as an abbreviation),
else a subdomain that names a publication hosted by another (``le-cercle-psy.scienceshumaines.com``
→ "Le Cercle Psy"), else the registrable domain itself ("washingtonpost.com"). A host with no
public suffix (an IP address, ``localhost``) keeps the title.

The registrable domain comes from tldextract with its bundled Public Suffix List snapshot:
no suffix-list URL and no cache directory, so it never touches the network or the disk beyond
its own package data.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import tldextract

MAX_SPAN_WORDS = 6
MAX_NAME_WORDS = 4
_PUNCT = " ,;.!?\"'()[]«»“”"
# Words initials may skip: "Jornal de Notícias" is JN (jn.pt).
_STOPWORDS = frozenset({
    "a", "an", "and", "at", "de", "del", "des", "di", "do", "du", "da", "der", "die", "das", "et",
    "for", "la", "le", "les", "of", "on", "the", "und", "y",
})
# Separators between a name and a rubric: "NYT > World News", "BBC News - World", "X | Y", "A: B".
_SEGMENT_SPLIT = re.compile(r"\s+[-–—|>·•:]+\s+|\s*[|>–—·•]\s*|:\s+")
# Subdomain labels that name a service, not a publication.
_SERVICE_LABELS = frozenset({
    "www", "www2", "m", "rss", "feeds", "feed", "api", "static", "cdn", "news", "edition",
})


@functools.cache
def _extractor() -> tldextract.TLDExtract:
    import tldextract  # here, not at import time: it loads requests (~0.15 s), needed only to parse

    return tldextract.TLDExtract(
        cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True,
        include_psl_private_domains=True,
    )


def _compact(text: str) -> str:
    """Lower-case letters and digits only, accents folded: "Al Jazeera" → "aljazeera"."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in folded if c.isascii() and c.isalnum())


def _is_subsequence(short: str, long: str) -> bool:
    letters = iter(long)
    return all(c in letters for c in short)


def _strip_suffix(text: str, suffix: str) -> str:
    """"Le Monde.fr" → "Le Monde" when ``.fr`` is the site's public suffix."""
    if suffix and text.casefold().endswith("." + suffix.casefold()):
        return text[: -len(suffix) - 1]
    return text


@dataclass(frozen=True, slots=True)
class _Span:
    """A run of words of the title, reduced once for every comparison."""

    compact: str                 # "aljazeera"
    initials: tuple[str, ...]    # ("jn", "jdn") for "Jornal de Notícias"; () for one word
    acronym: bool                # one upper-case word of 3+ letters: "NYT"
    name: str                    # what is shown when it matches


def _spans(title: str, suffix: str) -> list[_Span]:
    """Every run of up to MAX_SPAN_WORDS words inside one segment of the title, longest first,
    left to right. Its name is the span, or its whole segment when the span opens a short one
    ("Euractiv" in "Euractiv France - Europe de l'Est" names "Euractiv France", as the publisher
    calls itself and as Google News cites it). Words are reduced once, spans join them."""
    spans: list[_Span] = []
    cut = len(_compact(suffix)) if suffix else 0
    for segment in _SEGMENT_SPLIT.split(title):
        words = [w for w in segment.split() if w.strip(_PUNCT)]
        compacts = [_compact(w) for w in words]
        stop = [w.casefold() in _STOPWORDS for w in words]
        whole = _strip_suffix(" ".join(words).strip(_PUNCT), suffix)
        for size in range(min(len(words), MAX_SPAN_WORDS), 0, -1):
            for start in range(len(words) - size + 1):
                end = start + size
                compact = "".join(compacts[start:end])
                if not compact:
                    continue
                initials: tuple[str, ...] = ()
                if size > 1:
                    firsts = [c[:1] for c in compacts[start:end]]
                    initials = ("".join(f for f, s in zip(firsts, stop[start:end], strict=True) if not s),
                                "".join(firsts))
                acronym = size == 1 and words[start].isupper() and len(compact) >= 3
                text = " ".join(words[start:end]).strip(_PUNCT)
                opens = start == 0 and len(words) <= MAX_NAME_WORDS
                stripped = _strip_suffix(text, suffix)
                if stripped != text and len(compact) > cut:      # "Le Monde.fr" also as "Le Monde"
                    spans.append(_Span(compact[:-cut], initials, acronym, whole if opens else stripped))
                spans.append(_Span(compact, initials, acronym, whole if opens else text))
    return spans


def _level(span: _Span, key: str) -> int:
    """How well ``span`` names ``key`` (a domain label, compacted): 3 same letters, 2 its
    initials, 1 an abbreviation of it (an upper-case acronym or most of its letters, in order,
    starting with its first), 0 not at all."""
    if span.compact == key:
        return 3
    if key in span.initials:
        return 2
    short = span.compact
    abbreviation = short[0] == key[0] and len(short) < len(key) and _is_subsequence(short, key)
    return 1 if abbreviation and (span.acronym or len(short) * 3 >= len(key) * 2) else 0


def _best_span(title: str, keys: list[str], suffix: str) -> str:
    spans = _spans(title, suffix)
    for key in keys:
        levels = [_level(span, key) for span in spans]
        for level in (3, 2, 1):
            if level in levels:
                return spans[levels.index(level)].name
    return ""


def publisher_name(title: str, site_url: str) -> str:
    """The display name of the publisher of a feed titled ``title`` whose site is ``site_url``."""
    title = " ".join(title.split())
    try:
        host = (urlsplit(site_url).hostname or "").rstrip(".")
    except ValueError:
        host = ""
    parts = _extractor()(host) if host else None
    if parts is None or not parts.suffix or not parts.domain:
        return title
    labels = [label for label in parts.subdomain.split(".") if label and label not in _SERVICE_LABELS]
    keys = [_compact(parts.domain)] + [_compact(label) for label in reversed(labels)]
    return _best_span(title, [k for k in keys if k], parts.suffix) or f"{parts.domain}.{parts.suffix}"
