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
from urllib.parse import urlsplit

import tldextract

MAX_SPAN_WORDS = 6
MAX_NAME_WORDS = 4
_PUNCT = " ,;.!?\"'()[]«»“”"
# Words an acronym skips: "Jornal de Notícias" is JN, "Frankfurter Allgemeine" is FA.
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
    return tldextract.TLDExtract(
        cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True,
        include_psl_private_domains=True,
    )


def _compact(text: str) -> str:
    """Lower-case letters and digits only, accents folded: "Al Jazeera" → "aljazeera"."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in folded if c.isascii() and c.isalnum())


def _initials(words: list[str], skip_stopwords: bool) -> str:
    return "".join(_compact(w)[:1] for w in words if not (skip_stopwords and w.casefold() in _STOPWORDS))


def _is_subsequence(short: str, long: str) -> bool:
    letters = iter(long)
    return all(c in letters for c in short)


def _strip_suffix(text: str, suffix: str) -> str:
    """"Le Monde.fr" → "Le Monde" when ``.fr`` is the site's public suffix."""
    if suffix and text.casefold().endswith("." + suffix.casefold()):
        return text[: -len(suffix) - 1]
    return text


def _spans(title: str, suffix: str) -> list[tuple[str, str]]:
    """(span, name) for every run of up to MAX_SPAN_WORDS words inside one segment of the title,
    longest first, left to right. The name is the span, or its whole segment when the span opens
    a short one ("Euractiv" in "Euractiv France - Europe de l'Est" names "Euractiv France", as the
    publisher calls itself and as Google News cites it)."""
    spans: list[tuple[str, str]] = []
    for segment in _SEGMENT_SPLIT.split(title):
        words = segment.split()
        whole = _strip_suffix(" ".join(words).strip(_PUNCT), suffix)
        for size in range(min(len(words), MAX_SPAN_WORDS), 0, -1):
            for start in range(len(words) - size + 1):
                span = " ".join(words[start:start + size]).strip(_PUNCT)
                for text in dict.fromkeys((_strip_suffix(span, suffix), span)):
                    if text:
                        opens = start == 0 and len(words) <= MAX_NAME_WORDS
                        spans.append((text, whole if opens else text))
    return spans


def _matches(span: str, key: str) -> int:
    """How well ``span`` names ``key`` (a domain label, compacted): 3 same letters, 2 its
    initials, 1 an abbreviation of it (an upper-case acronym or most of its letters, in order,
    starting with its first), 0 not at all."""
    compact = _compact(span)
    if not compact or not key:
        return 0
    if compact == key:
        return 3
    words = span.split()
    if len(words) > 1 and key in (_initials(words, True), _initials(words, False)):
        return 2
    if compact[0] == key[0] and _is_subsequence(compact, key):
        acronym = len(words) == 1 and span.isupper() and len(compact) >= 3
        if acronym or len(compact) * 3 >= len(key) * 2:
            return 1
    return 0


def _best_span(title: str, keys: list[str], suffix: str) -> str:
    spans = _spans(title, suffix)
    for key in keys:
        for level in (3, 2, 1):
            for span, name in spans:
                if _matches(span, key) == level:
                    return name
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
