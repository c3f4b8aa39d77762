"""What a chat follows and mutes, as a subscriber sees it (pure: no I/O).

A chat follows **everything** (no followed tag: every story, untagged ones and tags added to the
config later included) or **a list of tags**. The first follow from "everything" means "only
this tag"; unfollowing the last tag returns to everything. Muted tags win over everything else:
a story carrying one is never sent. A tag is never followed and muted at once.

Names: a tag is named by its id or one of its labels, compared without case, accents or
separators ("coree du nord" = "Corée du Nord" = north-korea); an unknown name gets the closest
ids (difflib) as suggestions, never the whole list.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass

from bot.config.models import TagConfig
from bot.pipeline.telegram.texts import join_list, t

SUGGESTIONS = 3                  # closest tags offered for an unknown name
SUGGEST_CUTOFF = 0.6             # difflib ratio below which a name is not "close"
SHOWN_LABELS = 6                 # a summary names at most this many tags, then "and N more"


def norm(text: str) -> str:
    """Case-, accent- and separator-insensitive form used to match tag names."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "-".join("".join(c if c.isalnum() else " " for c in plain).split())


def tag_names(tags: tuple[TagConfig, ...]) -> dict[str, str]:
    """Normalised id and labels → tag id."""
    names: dict[str, str] = {}
    for tag in tags:
        names[norm(tag.id)] = tag.id
        for label in tag.labels.values():
            names.setdefault(norm(label), tag.id)
    return names


def suggest(tags: tuple[TagConfig, ...], word: str, n: int = SUGGESTIONS) -> list[str]:
    """Up to ``n`` tag ids whose id or a label is closest to ``word``, best first."""
    names = tag_names(tags)
    close = difflib.get_close_matches(norm(word), list(names), n=n * 3, cutoff=SUGGEST_CUTOFF)
    return list(dict.fromkeys(names[c] for c in close))[:n]


def resolve_tag(tags: tuple[TagConfig, ...], word: str) -> tuple[str | None, list[str]]:
    """(tag id, []) for a known id or label; (None, closest tag ids) otherwise."""
    key = norm(word)
    names = tag_names(tags)
    if key in names:
        return names[key], []
    return None, suggest(tags, word)


def resolve_words(tags: tuple[TagConfig, ...], words: list[str]) -> list[str] | tuple[str, list[str]]:
    """Tag ids named by ``words`` (one multi-word label, or one tag per word), or (the unknown
    word or phrase, its suggestions) when something does not match."""
    phrase = " ".join(words)
    phrase_id, phrase_close = resolve_tag(tags, phrase)
    if phrase_id is not None:
        return [phrase_id]
    ids: list[str] = []
    for word in words:
        tag_id, close = resolve_tag(tags, word)
        if tag_id is None:
            if len(words) > 1 and phrase_close:
                return phrase, phrase_close
            return word, close
        ids.append(tag_id)
    return ids


@dataclass(frozen=True)
class Choice:
    """A chat's topics: ``follows`` empty = everything; ``mutes`` never sent."""

    follows: frozenset[str] = frozenset()
    mutes: frozenset[str] = frozenset()

    @property
    def everything(self) -> bool:
        return not self.follows

    def follow(self, ids: set[str]) -> Choice:
        """From everything: only ``ids``; from a list: the list plus ``ids``. Unmutes them."""
        return Choice(self.follows | ids, self.mutes - ids)

    def unfollow(self, ids: set[str]) -> Choice:
        """The list without ``ids``; an empty list is everything again."""
        return Choice(self.follows - ids, self.mutes)

    def mute(self, ids: set[str]) -> Choice:
        return Choice(self.follows - ids, self.mutes | ids)

    def unmute(self, ids: set[str]) -> Choice:
        return Choice(self.follows, self.mutes - ids)

    def toggle(self, tag: str) -> Choice:
        """A tap in /tags: follow it (only it, from everything), or unfollow it if followed."""
        return self.unfollow({tag}) if tag in self.follows else self.follow({tag})


def labels(tags: tuple[TagConfig, ...], ids: set[str] | frozenset[str] | list[str], language: str, *,
           limit: int | None = None) -> str:
    """"Russie, Ukraine et USA": labels in ``language``, sorted; past ``limit``, "et N autres"."""
    by_id = {tag.id: tag for tag in tags}
    names = sorted((by_id[i].label(language) if i in by_id else i for i in ids), key=norm)
    if limit is not None and len(names) > limit:
        rest = len(names) - limit
        names = [*names[:limit], t(language, "n_more_tags", n=rest)]
    return join_list(names, language)


def summary(tags: tuple[TagConfig, ...], choice: Choice, language: str) -> str:
    """One or two lines, never a list of every label: "Tous les sujets sauf : Russie",
    "Sujets suivis : Russie, Ukraine" (+ "Sujets coupés : USA")."""
    def named(ids: frozenset[str]) -> str:
        return labels(tags, ids, language, limit=SHOWN_LABELS)

    if choice.everything:
        if choice.mutes:
            return t(language, "topics_all_but", labels=named(choice.mutes))
        return t(language, "topics_all")
    text = t(language, "topics_only", labels=named(choice.follows))
    if choice.mutes:
        text += "\n" + t(language, "topics_muted", labels=named(choice.mutes))
    return text
