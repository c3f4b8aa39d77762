"""Keyword syntax: what one configured keyword or exclude phrase means for the matcher (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.pipeline.tagging.normalize import clean, fold_phrase, strip_accents

ACRONYM_MAX_LETTERS = 5


@dataclass(frozen=True)
class Keyword:
    """One parsed keyword.

    ``folded`` is the normalised phrase (words joined by single spaces). ``prefix`` is set by a
    trailing ``*``: the last word may continue (``nord-coréen*`` → nord-coréennes). ``cased`` is
    set for all-capital acronyms of at most five letters (``OTAN``, ``UE``, ``G7``): the matched
    span of the original text must then read exactly that, accents aside.
    """

    raw: str
    folded: str
    prefix: bool
    cased: str | None

    @property
    def key(self) -> str:
        """The automaton key: leading space = word start; trailing space = word end."""
        return f" {self.folded}" if self.prefix else f" {self.folded} "


def keyword_problem(raw: str) -> str | None:
    """Why ``raw`` is not a usable keyword, or None."""
    body = raw.strip()
    prefix = body.endswith("*")
    if prefix:
        body = body[:-1]
    if not fold_phrase(body.replace("*", "")):
        return "can never match: it has no letter or digit"
    if "*" in body:
        return "may only use * once, at the end"
    if prefix and not body[-1:].isalnum():
        return "can never match: * must directly follow a letter or digit (like Iran*)"
    return None


def _acronym(body: str) -> str | None:
    text = strip_accents(clean(body))
    letters = [c for c in text if c.isalpha()]
    if (
        text.isalnum()
        and 0 < len(letters) <= ACRONYM_MAX_LETTERS
        and all(c.isupper() for c in letters)
    ):
        return text
    return None


def parse_keyword(raw: str) -> Keyword:
    """Parse a keyword already accepted by :func:`keyword_problem`."""
    body = raw.strip()
    prefix = body.endswith("*")
    if prefix:
        body = body[:-1]
    return Keyword(raw=raw, folded=fold_phrase(body), prefix=prefix, cased=_acronym(body))


def sample_text(raw: str) -> str:
    """The keyword written as plain text (without ``*``): the shortest text it should match."""
    return raw.strip().removesuffix("*")
