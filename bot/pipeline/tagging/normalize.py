"""Text normalisation for keyword matching (pure; no I/O, no bot imports).

One article text is normalised once into two aligned strings of the *same length*:

- ``original``: the text after Unicode NFKC and whitespace collapsing; this is what ``explain``
  shows and what case-sensitive acronyms (``OTAN``, ``US``) are checked against;
- ``folded``: ``original`` mapped character by character: accents removed, case folded,
  typographic apostrophes and quotes, hyphens and every other non-alphanumeric character turned
  into a space. So ``l’OTAN`` → ``l otan``, ``nord-coréennes`` → ``nord coreennes``,
  ``Russia’s`` → ``russia s``; French elisions (l’, d’, qu’, jusqu’) become separate words.

Because the mapping is one character to one character, an index in ``folded`` is the same index
in ``original``: no offset map is needed. The price: characters whose fold is longer than one
character (``ß`` → ``ss``, ``œ`` → ``oe``) are kept as one lower-case character, on both the
keyword and the text side, so they still match themselves.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that do not decompose under NFD but have an obvious base letter.
_EXTRA_FOLDS = {
    "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ħ": "h", "Ħ": "h",
    "ı": "i", "ŀ": "l", "Ŀ": "l", "þ": "t", "Þ": "t",
    # Modifier letters used as apostrophes (Unicode calls them letters): separators here.
    "ʼ": " ", "ʻ": " ", "ʹ": " ", "ʾ": " ", "ʿ": " ",
}
# Any run of two or more separators (", ", " : ", "» (", "\n\n") becomes one space, so that a
# phrase keyword still matches across punctuation ("Tripoli, au Liban"), while a single separator
# (nord-coréen, l’OTAN, a lone newline) is kept for display and folded to a space later.
_SEPARATOR_RUN = re.compile(r"[\W_\u02b9\u02bb\u02bc\u02be\u02bf]{2,}")
# Invisible characters dropped before matching: soft hyphen, zero-width spaces and joiners, BOM.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]")
# Separator put between title and summary: folds to three spaces, so no phrase spans both.
PART_SEPARATOR = " | "


def fold_char(ch: str) -> str:
    """The one-character fold of ``ch``: a lower-case unaccented letter or digit, else a space."""
    if ch in _EXTRA_FOLDS:
        return _EXTRA_FOLDS[ch]
    if not ch.isalnum():
        return " "
    base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
    if len(base) != 1:
        base = ch
    folded = base.casefold()
    if len(folded) != 1:
        folded = base.lower()
    if len(folded) != 1 or not folded.isalnum():
        return ch if ch.islower() else " "
    return folded


class _FoldTable(dict[int, str]):
    """Translation table for ``str.translate``, filled lazily for characters not seen yet."""

    def __missing__(self, code: int) -> str:
        value = fold_char(chr(code))
        self[code] = value
        return value


FOLD_TABLE = _FoldTable()
for _code in range(0x250):          # pre-fill Latin, Latin-1 and Latin Extended
    FOLD_TABLE[_code]
for _code in range(0x2000, 0x2070):  # general punctuation: dashes, quotes, apostrophes
    FOLD_TABLE[_code]


def strip_accents(text: str) -> str:
    """``text`` without combining marks, case kept (used to compare acronyms)."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def clean(text: str) -> str:
    """NFKC, invisible characters dropped, separator runs collapsed: the ``original`` side."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = _INVISIBLE.sub("", text)
    return _SEPARATOR_RUN.sub(" ", text).strip()


def fold(original: str) -> str:
    """The ``folded`` side of an already :func:`clean` text (same length as ``original``)."""
    return original.translate(FOLD_TABLE)


def normalize_article(title: str, summary: str) -> tuple[str, str]:
    """(original, folded) for title plus summary, aligned character by character."""
    original = clean(title)
    summary = clean(summary)
    if summary:
        original = f"{original}{PART_SEPARATOR}{summary}" if original else summary
    return original, fold(original)


def fold_phrase(text: str) -> str:
    """A keyword or phrase folded the way texts are, with single spaces between its words."""
    return " ".join(fold(clean(text)).split())
