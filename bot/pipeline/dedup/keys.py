"""Normalised title keys: the same headline however it was decorated (pure).

"EN DIRECT - Guerre en Ukraine : l’armée…" from one feed, "Guerre en Ukraine : l'armée… - Le
Monde" from Google News and "VIDÉO. Guerre en Ukraine: L'ARMÉE…" from a republisher all give
the same key: accents and case folded, elisions and typographic quotes normalised, rubric
prefixes and the " - Publisher" suffix removed, punctuation dropped.
"""

from __future__ import annotations

import hashlib
import re

from bot.pipeline.dedup.text import fold, words

# Rubric/boilerplate prefixes, matched on folded text at the start of a title and followed by
# a separator (". : - | —"). Repeated prefixes ("EN DIRECT. VIDÉO. ...") are all removed.
_PREFIXES = (
    r"en direct", r"direct", r"live", r"live updates?", r"video", r"videos", r"photos?",
    r"en images", r"infographie", r"carte", r"cartes", r"podcast", r"entretien", r"analyse",
    r"decryptage", r"reportage", r"temoignage", r"tribune", r"editorial", r"chronique",
    r"info [\w ]{1,20}", r"exclusif", r"exclusive", r"breaking(?: news)?", r"urgent",
    r"alerte", r"update(?: \d+)?", r"updated", r"mise a jour", r"watch", r"opinion",
    r"factbox", r"explainer", r"analysis", r"corrected", r"refile", r"wrapup \d+",
    r"global markets", r"recap", r"flash", r"le point", r"fact check",
    # Running-story rubrics: the story's topic, not its headline.
    r"guerre en ukraine", r"guerre au proche-orient", r"guerre israel-hamas", r"guerre a gaza",
    r"ukraine war", r"russia-ukraine war", r"israel-hamas war", r"war in ukraine",
)
_PREFIX_RE = re.compile(r"^\s*(?:" + "|".join(_PREFIXES) + r")\s*(?:[.:|>-]+|\s-)\s*")
# A pipe is nearly always followed by the site name; a dash only when it names the source.
_PIPE_SUFFIX = re.compile(r"\s+[|]\s+[^|]{1,60}$")
_DASH_SUFFIX = re.compile(r"\s+[-:|]\s+([^-|]{1,60})$")
_DOMAIN_TAIL = re.compile(r"\.(?:fr|com|org|net|co\.uk|info|eu|be|ch|ca|de|news|tv)$")


def source_key(source: str) -> str:
    """A publisher name reduced for comparison: "Le Monde.fr - International" / "lemonde.fr" /
    "Le Monde" all give "lemonde"."""
    s = fold(source).strip()
    # A feed title often names its section: "Le Monde.fr - International", "BBC News | World".
    s = re.split(r"\s+[-|:\u2013\u2014]\s+", s, maxsplit=1)[0]
    s = re.sub(r"^https?://", "", s)
    s = re.sub(r"^www\.", "", s).rstrip("/")
    s = _DOMAIN_TAIL.sub("", s)
    s = re.sub(r"\s*\((?:blog|video|opinion)\)$", "", s)
    return re.sub(r"[^a-z0-9]+", "", s)


def clean_title(title: str, source: str = "") -> str:
    """Folded title without rubric prefixes and without its publisher suffix."""
    text = fold(title).strip()
    while True:
        stripped = _PREFIX_RE.sub("", text, count=1)
        if stripped == text or not stripped:
            break
        text = stripped
    text = _PIPE_SUFFIX.sub("", text)
    match = _DASH_SUFFIX.search(text)
    if match and source and source_key(match.group(1)) == source_key(source):
        text = text[: match.start()]
    return text.strip()


def title_words(title: str, source: str = "") -> tuple[str, ...]:
    return words(clean_title(title, source))


def title_key_text(title: str, source: str = "") -> str:
    """The readable form of the key (all words, stopwords kept, punctuation dropped)."""
    return " ".join(title_words(title, source))


def hash64(text: str) -> int:
    """A stable signed 64-bit hash (fits an SQLite INTEGER)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


def title_key(title: str, source: str = "") -> int | None:
    """The indexed key of a title, or None when the title is too short to identify a story."""
    key = title_key_text(title, source)
    if len(key.split()) < 3 or len(key) < 12:
        return None
    return hash64("t:" + key)


def url_key(url: str) -> int:
    return hash64("u:" + url)
